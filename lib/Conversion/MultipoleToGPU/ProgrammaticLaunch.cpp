//===- ProgrammaticLaunch.cpp - kernels ready for dependent launch --------===//
//
// Implements --multipole-gpu-programmatic-launch (see Passes.td): on the output
// of convert-multipole-to-gpu, every kernel starts with
//   nvvm.griddepcontrol wait   (the previous grid has completed and its
//                               memory is visible)
// so that the runtime may launch it with programmatic stream serialization
// (Hopper's programmatic dependent launch): the kernel's launch is processed
// while the previous kernel's last CTAs finish, and its CTAs wait at their
// first instruction. Without that launch attribute the wait is a no-op.
// The host functions' device scratch allocations move to the top of the
// function and their frees to its end, so that consecutive launches are
// adjacent in the stream (an allocation or a free between two kernels would be
// a stream operation of its own, and the second kernel could not overlap the
// first). The module gets the unit attribute `multipole.programmatic_launch`,
// from which the compile driver makes the entry points ask the runtime for
// such launches.
//
//===----------------------------------------------------------------------===//

#include "multipole/Conversion/Passes.h"
#include "multipole/Support/PassOptions.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir {
namespace multipole {
#define GEN_PASS_DEF_MULTIPOLEGPUPROGRAMMATICLAUNCH
#include "multipole/Conversion/Passes.h.inc"
} // namespace multipole
} // namespace mlir

using namespace mlir;

namespace {

/// Puts the grid-dependency wait at the start of `kernel`: nothing is read or
/// written before the previous grid has completed and its memory is visible.
/// There is no explicit launch_dependents: the next grid is released as each
/// CTA of this one exits (the implicit trigger). An early trigger (right after
/// the wait) was measured slower at B = 16 and in the update: the next grid's
/// CTAs then sit resident, waiting, beside this one's (run 44,
/// bench/NOTES.md); releasing at exit still overlaps the next launch with
/// this grid's tail and memory flush, and was faster at every batch (run 45).
void addGridDependencyWait(gpu::GPUFuncOp kernel) {
  Block &entry = kernel.getBody().front();
  OpBuilder b = OpBuilder::atBlockBegin(&entry);
  NVVM::GriddepcontrolOp::create(b, kernel.getLoc(),
                                 NVVM::GridDepActionKind::wait);
}

/// A device allocation that may move to the top of its function: synchronous
/// (no async tokens yet), of static shape, not host-shared.
bool isHoistable(gpu::AllocOp alloc) {
  return !alloc.getAsyncToken() && alloc.getAsyncDependencies().empty() &&
         alloc.getDynamicSizes().empty() && alloc.getSymbolOperands().empty() &&
         !alloc.getHostShared();
}

/// Moves the hoistable allocations of `fn`'s entry block to its top (in their
/// order) and the frees of those allocations to just before its terminator
/// (in their order). Functions of more than one block are left alone.
void hoistScratch(func::FuncOp fn) {
  if (fn.isExternal() || !fn.getBody().hasOneBlock())
    return;
  Block &body = fn.getBody().front();
  Operation *terminator = body.getTerminator();
  SmallVector<gpu::AllocOp> allocs;
  SmallVector<gpu::DeallocOp> frees;
  llvm::SmallPtrSet<Value, 16> hoisted;
  for (Operation &op : body) {
    if (auto alloc = dyn_cast<gpu::AllocOp>(op); alloc && isHoistable(alloc)) {
      allocs.push_back(alloc);
      hoisted.insert(alloc.getMemref());
    } else if (auto free = dyn_cast<gpu::DeallocOp>(op);
               free && !free.getAsyncToken() &&
               free.getAsyncDependencies().empty() &&
               hoisted.contains(free.getMemref())) {
      frees.push_back(free);
    }
  }
  Operation *top = &body.front();
  for (gpu::AllocOp alloc : allocs)
    if (alloc.getOperation() != top)
      alloc->moveBefore(top);
  for (gpu::DeallocOp free : frees)
    free->moveBefore(terminator);
}

struct ProgrammaticLaunchPass
    : multipole::impl::MultipoleGPUProgrammaticLaunchBase<
          ProgrammaticLaunchPass> {
  using MultipoleGPUProgrammaticLaunchBase::MultipoleGPUProgrammaticLaunchBase;

  LogicalResult initializeOptions(
      StringRef options,
      function_ref<LogicalResult(const Twine &)> errorHandler) override {
    if (failed(multipole::rejectEmptyOptionValues(getArgument(), options,
                                                  errorHandler)))
      return failure();
    return MultipoleGPUProgrammaticLaunchBase::initializeOptions(options,
                                                                 errorHandler);
  }

  void runOnOperation() override {
    if (!programmaticLaunch)
      return;
    ModuleOp module = getOperation();
    bool anyKernel = false;
    for (auto gpuModule : module.getOps<gpu::GPUModuleOp>())
      for (auto fn : gpuModule.getOps<gpu::GPUFuncOp>())
        if (fn.isKernel() && !fn.getBody().empty()) {
          addGridDependencyWait(fn);
          anyKernel = true;
        }
    if (!anyKernel)
      return;
    for (auto fn : module.getOps<func::FuncOp>())
      hoistScratch(fn);
    module->setAttr(multipole::kProgrammaticLaunchAttrName,
                    UnitAttr::get(&getContext()));
  }
};

} // namespace
