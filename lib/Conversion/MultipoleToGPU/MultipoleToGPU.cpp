//===- MultipoleToGPU.cpp - multipole ops -> GPU kernels and launches -----===//
//
// Implements --convert-multipole-to-gpu (see Passes.td). Each op is replaced
// by launches of kernels built for its static shapes, by the conversion
// pattern of its op family (*Lowering.cpp, gathered by
// populateMultipoleToGPUConversionPatterns), into `gpu.module
// @multipole_kernels`. The pass checks the options and operands first, moves
// the host functions' own allocations to the device (gpu.alloc, so every entry
// point works on device memory), applies the patterns, and generates kernels
// with equal specs once (dedupeKernels).
//
//===----------------------------------------------------------------------===//

#include "Lowering.h"

#include "multipole/Conversion/MultipoleToGPU/MultipoleToGPU.h"
#include "multipole/Conversion/Passes.h"
#include "multipole/Dialect/Multipole/IR/MultipoleOps.h"
#include "multipole/Support/PassOptions.h"

#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir {
namespace multipole {
#define GEN_PASS_DEF_CONVERTMULTIPOLETOGPU
#include "multipole/Conversion/Passes.h.inc"
} // namespace multipole
} // namespace mlir

using namespace mlir;
using namespace mlir::multipole;
using namespace mlir::multipole::gpugen;

namespace {

/// Bounds of the generated code: sequences and heads index the CUDA grid's y
/// and z dimensions (at most 65535); dimensions and buffer sizes stay within
/// what the kernels' index arithmetic holds.
constexpr int64_t kMaxGridYZ = 65535;
constexpr int64_t kMaxDim = (int64_t(1) << 31) - 1;
constexpr int64_t kMaxElements = int64_t(1) << 48;

struct ConvertMultipoleToGPUPass
    : public multipole::impl::ConvertMultipoleToGPUBase<
          ConvertMultipoleToGPUPass> {
  using ConvertMultipoleToGPUBase::ConvertMultipoleToGPUBase;

  LogicalResult initializeOptions(
      StringRef options,
      function_ref<LogicalResult(const Twine &)> errorHandler) override {
    if (failed(rejectEmptyOptionValues(getArgument(), options, errorHandler)))
      return failure();
    return ConvertMultipoleToGPUBase::initializeOptions(options, errorHandler);
  }

  // (the options are protected members of the generated base: each pass
  // that takes MultipoleGPUOptions lists them here)
  GPUKnobs knobs() const {
    return {splits,      threads,         numSMs, scoreSplits,
            approxSplits, scoreLaneFloats, approxLaneFloats, mma, kmeansSplit,
            mmaLogits,   mmaApprox,       fuseScores};
  }

  /// Operand checks shared by every op: identity layouts (the kernels index
  /// dense row-major buffers; k and v may be strided: kvLayoutOf checks them)
  /// and grid limits on sequences and heads.
  LogicalResult checkOperands(Operation *op) {
    for (auto [i, v] : llvm::enumerate(op->getOperands())) {
      MemRefType t = memrefType(v);
      if (!t.getLayout().isIdentity() && !isKV(op, i))
        return op->emitError()
               << "convert-multipole-to-gpu needs memrefs with the identity "
                  "layout (contiguous, row-major); operand #"
               << i << " has type " << t;
      // Dimensions and sizes the kernels' index arithmetic can hold (head dims
      // times element sizes, offsets of whole caches) without overflow.
      int64_t elems = 1;
      for (int64_t d : t.getShape()) {
        if (d > kMaxDim)
          return op->emitError()
                 << "the GPU kernels take dimensions up to " << kMaxDim
                 << "; operand #" << i << " has type " << t;
        elems = d == 0 ? 0 : (elems > kMaxElements / d ? kMaxElements + 1 : elems * d);
      }
      if (elems > kMaxElements)
        return op->emitError() << "the GPU kernels take buffers of up to 2^48 "
                                  "elements; operand #"
                               << i << " has type " << t;
      if (t.getRank() >= 1 && t.getDimSize(0) > kMaxGridYZ)
        return op->emitError() << "the GPU kernels take at most " << kMaxGridYZ
                               << " sequences (the CUDA grid limit), operand #"
                               << i << " has " << t.getDimSize(0);
      if (t.getRank() >= 2 && t.getDimSize(1) > kMaxGridYZ)
        return op->emitError() << "the GPU kernels take at most " << kMaxGridYZ
                               << " heads (the CUDA grid limit), operand #"
                               << i << " has " << t.getDimSize(1);
    }
    return success();
  }

  /// Whether operand `i` of `op` is its k or v cache.
  static bool isKV(Operation *op, unsigned i) {
    if (isa<DecodeAttentionOp, SparseAttentionOp>(op))
      return i == 1 || i == 2;
    return isa<ClusterBuildOp, ClusterUpdateOp>(op) && i < 2;
  }

  LogicalResult collectOps(SmallVectorImpl<Operation *> &ops,
                           SetVector<func::FuncOp> &hosts);
  void allocateOnDevice(func::FuncOp host);
  LogicalResult applyLoweringPatterns(LoweringContext &lc,
                                      ArrayRef<Operation *> ops);
  void dedupeKernels(gpu::GPUModuleOp kernels);

  void runOnOperation() override;
};

/// The multipole ops of the module (all on statically shaped memrefs with
/// operands the kernels take) and the functions holding them.
LogicalResult
ConvertMultipoleToGPUPass::collectOps(SmallVectorImpl<Operation *> &ops,
                                      SetVector<func::FuncOp> &hosts) {
  WalkResult wr = getOperation().walk([&](Operation *op) {
    if (!isa<MultipoleDialect>(op->getDialect()))
      return WalkResult::advance();
    for (Value v : op->getOperands())
      if (!isa<MemRefType>(v.getType()) || !memrefType(v).hasStaticShape()) {
        op->emitError() << "convert-multipole-to-gpu expects bufferized ops "
                           "on statically shaped memrefs";
        return WalkResult::interrupt();
      }
    if (failed(checkOperands(op)))
      return WalkResult::interrupt();
    ops.push_back(op);
    if (auto f = op->getParentOfType<func::FuncOp>())
      hosts.insert(f);
    return WalkResult::advance();
  });
  return failure(wr.wasInterrupted());
}

/// Host allocations of the rewritten functions live on the device.
void ConvertMultipoleToGPUPass::allocateOnDevice(func::FuncOp host) {
  SmallVector<Operation *> allocs;
  host.walk([&](Operation *op) {
    if (isa<memref::AllocOp, memref::DeallocOp, memref::AllocaOp>(op))
      allocs.push_back(op);
  });
  // (allocas too: the kernels read device memory)
  auto toDevice = [](auto a) {
    OpBuilder b(a);
    auto g = gpu::AllocOp::create(b, a.getLoc(), a.getType(), Type(),
                                  ValueRange{}, a.getDynamicSizes(),
                                  a.getSymbolOperands(), false);
    a.replaceAllUsesWith(g.getMemref());
    a.erase();
  };
  for (Operation *op : allocs) {
    if (auto a = dyn_cast<memref::AllocOp>(op)) {
      toDevice(a);
    } else if (auto a = dyn_cast<memref::AllocaOp>(op)) {
      toDevice(a);
    } else {
      auto d = cast<memref::DeallocOp>(op);
      OpBuilder b(d);
      dealloc(b, d.getLoc(), d.getMemref());
      d.erase();
    }
  }
}

/// Applies the lowering patterns to `ops` (in their order: kernel names count
/// up in it) with the dialect conversion driver. The ops the patterns create
/// are legal, and so are the cluster ops the host fallback re-creates on host
/// buffers. The multipole ops are of unknown legality (std::nullopt), not
/// illegal: an op whose pattern fails is left as it is, without the driver's
/// own "failed to legalize operation" error, so the error the pattern emitted
/// stays the only diagnostic (the -verify-diagnostics tests check them);
/// LoweringContext::failed says that one was emitted.
LogicalResult
ConvertMultipoleToGPUPass::applyLoweringPatterns(LoweringContext &lc,
                                                 ArrayRef<Operation *> ops) {
  ConversionTarget target(getContext());
  target.markUnknownOpDynamicallyLegal(
      [&](Operation *op) -> std::optional<bool> {
        if (!isa_and_present<MultipoleDialect>(op->getDialect()) ||
            lc.hostOps.contains(op))
          return true;
        return std::nullopt;
      });
  RewritePatternSet patterns(&getContext());
  populateMultipoleToGPUConversionPatterns(patterns, lc);
  DenseSet<Operation *> unlowered;
  ConversionConfig config;
  config.foldingMode = DialectConversionFoldingMode::Never;
  config.unlegalizedOps = &unlowered;
  if (failed(applyPartialConversion(ops, target, std::move(patterns),
                                    config)) ||
      lc.failed)
    return failure();
  // An op that no pattern matched (the others are erased: compared, not
  // read).
  for (Operation *op : ops)
    if (unlowered.contains(op))
      return op->emitError() << "'" << op->getName()
                             << "' has no GPU lowering yet; compile for the "
                                "CPU (--target=cpu) or use --dense";
  // Scores a marked centroid_score left to a selection that never came.
  if (!lc.fusedScores.empty())
    return emitError(lc.fusedScores.begin()->first.getLoc())
           << "'multipole.scores_in_select' on a centroid_score whose scores "
              "no select_clusters after it reads (multipole-gpu-plan sets it "
              "only for one that does)";
  return success();
}

void ConvertMultipoleToGPUPass::runOnOperation() {
  ModuleOp module = getOperation();
  SmallVector<Operation *> ops;
  SetVector<func::FuncOp> hosts;
  if (failed(collectOps(ops, hosts)))
    return signalPassFailure();
  if (ops.empty())
    return;
  // Options out of range are reported before any kernel is generated.
  if (failed(checkGPUKnobs(knobs(), ops.front()->getLoc(), getArgument())))
    return signalPassFailure();
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  UnitAttr::get(&getContext()));
  OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
  auto kernels =
      gpu::GPUModuleOp::create(mb, module.getLoc(), "multipole_kernels");
  for (func::FuncOp f : hosts)
    allocateOnDevice(f);
  LoweringContext lc(kernels, knobs());
  if (failed(applyLoweringPatterns(lc, ops)))
    return signalPassFailure();
  dedupeKernels(kernels);
}

/// Kernels with equal specs are generated once: a kernel identical to an
/// earlier one but for its name (another layer of the same shape, two
/// combines of the same split count) is erased and its launches retargeted.
void ConvertMultipoleToGPUPass::dedupeKernels(gpu::GPUModuleOp kernels) {
  MLIRContext *ctx = &getContext();
  StringAttr placeholder = StringAttr::get(ctx, "__multipole_kernel");
  llvm::StringMap<StringAttr> firstOf;
  DenseMap<StringAttr, StringAttr> replacement;
  SmallVector<gpu::GPUFuncOp> duplicates;
  for (auto fn : kernels.getOps<gpu::GPUFuncOp>()) {
    StringAttr name = SymbolTable::getSymbolName(fn);
    std::string text;
    llvm::raw_string_ostream os(text);
    SymbolTable::setSymbolName(fn, placeholder);
    fn->print(os, OpPrintingFlags().printGenericOpForm().useLocalScope());
    SymbolTable::setSymbolName(fn, name);
    auto [it, inserted] = firstOf.try_emplace(text, name);
    if (inserted)
      continue;
    replacement[name] = it->second;
    duplicates.push_back(fn);
  }
  if (duplicates.empty())
    return;
  getOperation().walk([&](gpu::LaunchFuncOp launch) {
    auto it = replacement.find(launch.getKernelName());
    if (it != replacement.end())
      launch.setKernelAttr(SymbolRefAttr::get(
          kernels.getSymNameAttr(), {FlatSymbolRefAttr::get(it->second)}));
  });
  for (gpu::GPUFuncOp fn : duplicates)
    fn.erase();
}

} // namespace
