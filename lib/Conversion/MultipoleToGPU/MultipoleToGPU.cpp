//===- MultipoleToGPU.cpp - multipole ops -> GPU kernels and launches -----===//
//
// Each op is replaced by launches of kernels generated for its static shapes
// (KernelGen.h; AttentionKernels.cpp, ScoreKernels.cpp). Kernel text is parsed
// into `gpu.module @multipole_kernels`. Per-call scratch buffers (split
// partials) are gpu.alloc'ed around the launches; the host functions' own
// allocations become gpu.alloc too, so every entry point works on device
// memory.
//
//===----------------------------------------------------------------------===//

#include "KernelGen.h"

#include "multipole/Conversion/Passes.h"
#include "multipole/Dialect/Multipole/IR/MultipoleOps.h"

#include "mlir/IR/SymbolTable.h"
#include "mlir/Parser/Parser.h"

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

std::string eltName(Type t) {
  if (t.isBF16())
    return "bf16";
  if (t.isF16())
    return "f16";
  return "f32";
}

MemRefType mt(Value v) { return cast<MemRefType>(v.getType()); }

struct ConvertMultipoleToGPUPass
    : public multipole::impl::ConvertMultipoleToGPUBase<
          ConvertMultipoleToGPUPass> {
  using ConvertMultipoleToGPUBase::ConvertMultipoleToGPUBase;

  gpu::GPUModuleOp kernels;
  unsigned counter = 0;

  std::string freshName(StringRef base) {
    return (base + "_" + Twine(counter++)).str();
  }

  /// Parses `text` (gpu.funcs) and moves the functions into the kernel module.
  LogicalResult addKernels(const std::string &text, Location loc) {
    std::string src = "gpu.module @tmp {\n" + text + "\n}\n";
    ParserConfig cfg(&getContext());
    OwningOpRef<ModuleOp> parsed =
        parseSourceString<ModuleOp>(src, cfg, "multipole-gpu-kernels");
    if (!parsed)
      return emitError(loc) << "internal error: a generated GPU kernel does "
                               "not parse";
    auto tmp = *parsed->getBody()->getOps<gpu::GPUModuleOp>().begin();
    OpBuilder b = OpBuilder::atBlockEnd(kernels.getBody());
    for (Operation &op : llvm::make_early_inc_range(tmp.getBody()->getOperations()))
      if (isa<gpu::GPUFuncOp>(op))
        b.clone(op);
    return success();
  }

  gpu::GPUFuncOp kernel(StringRef name) {
    return kernels.lookupSymbol<gpu::GPUFuncOp>(name);
  }

  Value idx(OpBuilder &b, Location loc, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }

  void launch(OpBuilder &b, Location loc, StringRef name,
              std::array<int64_t, 3> grid, int64_t block, ValueRange args) {
    gpu::KernelDim3 g{idx(b, loc, grid[0]), idx(b, loc, grid[1]),
                      idx(b, loc, grid[2])};
    gpu::KernelDim3 t{idx(b, loc, block), idx(b, loc, 1), idx(b, loc, 1)};
    gpu::LaunchFuncOp::create(b, loc, kernel(name), g, t, Value(), args);
  }

  Value alloc(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elt) {
    auto t = MemRefType::get(shape, elt);
    return gpu::AllocOp::create(b, loc, t, Type(), ValueRange{}, ValueRange{},
                                ValueRange{}, false)
        .getMemref();
  }

  void dealloc(OpBuilder &b, Location loc, Value v) {
    gpu::DeallocOp::create(b, loc, Type(), ValueRange{}, v);
  }

  Value scaleOf(OpBuilder &b, Location loc, FloatAttr scale, int64_t D) {
    double s = scale ? scale.getValueAsDouble() : 1.0 / std::sqrt(double(D));
    return arith::ConstantFloatOp::create(b, loc, b.getF32Type(),
                                          APFloat(float(s)));
  }

  int64_t chooseSplits(int64_t B, int64_t H, int64_t N) {
    if (splits > 0)
      return splits;
    int64_t target = 4 * numSMs;
    int64_t s = (target + B * H - 1) / (B * H);
    int64_t maxS = std::max<int64_t>(1, (N + 255) / 256);
    return std::clamp<int64_t>(s, 1, maxS);
  }

  LogicalResult checkShape(Operation *op, const AttnShape &s) {
    std::string why;
    if (!attnShapeSupported(s, why))
      return op->emitError() << "the GPU attention kernels do not support this "
                                "shape: " << why;
    if (threads % 32 || threads < 32 || threads > 1024)
      return op->emitError() << "threads must be a multiple of 32 in [32, 1024]";
    return success();
  }

  LogicalResult lowerDecode(DecodeAttentionOp op);
  LogicalResult lowerMerge(MergeOp op);
  LogicalResult lowerOp(Operation *op);

  void runOnOperation() override;
};

LogicalResult ConvertMultipoleToGPUPass::lowerDecode(DecodeAttentionOp op) {
  Location loc = op.getLoc();
  auto qT = mt(op.getQ()), kT = mt(op.getK());
  if (!qT.hasStaticShape() || !kT.hasStaticShape())
    return op.emitError() << "the GPU backend needs static shapes";
  AttnShape s{kT.getDimSize(0), qT.getDimSize(1), kT.getDimSize(1),
              kT.getDimSize(2), kT.getDimSize(3), eltName(qT.getElementType())};
  if (failed(checkShape(op, s)))
    return failure();
  AttnLaunch l{chooseSplits(s.B, s.H, s.N), threads};
  std::string split = freshName("decode_split"), comb = freshName("decode_combine");
  if (failed(addKernels(attentionSplitKernel(split, s, l, false,
                                             static_cast<bool>(op.getLens())),
                        loc)) ||
      failed(addKernels(combineKernel(comb, s, l.splits, true), loc)))
    return failure();
  OpBuilder b(op);
  Type f32 = b.getF32Type();
  Value pacc = alloc(b, loc, {s.B, s.Hq, l.splits, s.D}, f32);
  Value pm = alloc(b, loc, {s.B, s.Hq, l.splits}, f32);
  Value pl = alloc(b, loc, {s.B, s.Hq, l.splits}, f32);
  SmallVector<Value> args = {op.getQ(), op.getK(), op.getV()};
  if (op.getLens())
    args.push_back(op.getLens());
  args.append({pacc, pm, pl, scaleOf(b, loc, op.getScaleAttr(), s.D)});
  launch(b, loc, split, {l.splits, s.H, s.B}, l.threads, args);
  launch(b, loc, comb, {s.Hq, s.B, 1}, s.D, {pacc, pm, pl, op.getOuts()[0]});
  for (Value v : {pacc, pm, pl})
    dealloc(b, loc, v);
  op.erase();
  return success();
}

LogicalResult ConvertMultipoleToGPUPass::lowerMerge(MergeOp op) {
  Location loc = op.getLoc();
  auto oT = mt(op.getOuts()[0]);
  AttnShape s{oT.getDimSize(0), oT.getDimSize(1), 1, 1, oT.getDimSize(2),
              eltName(oT.getElementType())};
  int64_t P = op.getPartials().size() / 3;
  std::string name = freshName("merge");
  if (failed(addKernels(mergeKernel(name, s, P), loc)))
    return failure();
  OpBuilder b(op);
  SmallVector<Value> args(op.getPartials());
  args.push_back(op.getOuts()[0]);
  launch(b, loc, name, {s.Hq, s.B, 1}, s.D, args);
  op.erase();
  return success();
}

LogicalResult ConvertMultipoleToGPUPass::lowerOp(Operation *op) {
  if (auto d = dyn_cast<DecodeAttentionOp>(op))
    return lowerDecode(d);
  if (auto m = dyn_cast<MergeOp>(op))
    return lowerMerge(m);
  return op->emitError() << "'" << op->getName()
                         << "' has no GPU lowering yet; compile for the CPU "
                            "(--target=cpu) or use --dense";
}

void ConvertMultipoleToGPUPass::runOnOperation() {
  ModuleOp module = getOperation();
  MLIRContext *ctx = &getContext();
  SmallVector<Operation *> ops;
  SetVector<func::FuncOp> hosts;
  WalkResult wr = module.walk([&](Operation *op) {
    if (!isa<MultipoleDialect>(op->getDialect()))
      return WalkResult::advance();
    for (Value v : op->getOperands())
      if (!isa<MemRefType>(v.getType()) || !mt(v).hasStaticShape()) {
        op->emitError() << "convert-multipole-to-gpu expects bufferized ops "
                           "on statically shaped memrefs";
        return WalkResult::interrupt();
      }
    ops.push_back(op);
    if (auto f = op->getParentOfType<func::FuncOp>())
      hosts.insert(f);
    return WalkResult::advance();
  });
  if (wr.wasInterrupted())
    return signalPassFailure();
  if (ops.empty())
    return;
  module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                  UnitAttr::get(ctx));
  OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
  kernels = gpu::GPUModuleOp::create(mb, module.getLoc(), "multipole_kernels");
  // Host allocations of the rewritten functions live on the device.
  for (func::FuncOp f : hosts) {
    SmallVector<Operation *> allocs;
    f.walk([&](Operation *op) {
      if (isa<memref::AllocOp, memref::DeallocOp, memref::AllocaOp>(op))
        allocs.push_back(op);
    });
    for (Operation *op : allocs) {
      OpBuilder b(op);
      if (auto a = dyn_cast<memref::AllocOp>(op)) {
        auto g = gpu::AllocOp::create(b, a.getLoc(), a.getType(), Type(),
                                      ValueRange{}, a.getDynamicSizes(),
                                      a.getSymbolOperands(), false);
        a.replaceAllUsesWith(g.getMemref());
        a.erase();
      } else if (auto a = dyn_cast<memref::AllocaOp>(op)) {
        auto g = gpu::AllocOp::create(b, a.getLoc(), a.getType(), Type(),
                                      ValueRange{}, a.getDynamicSizes(),
                                      a.getSymbolOperands(), false);
        a.replaceAllUsesWith(g.getMemref());
        a.erase();
      } else {
        auto d = cast<memref::DeallocOp>(op);
        dealloc(b, d.getLoc(), d.getMemref());
        d.erase();
      }
    }
  }
  for (Operation *op : ops)
    if (failed(lowerOp(op)))
      return signalPassFailure();
}

} // namespace
