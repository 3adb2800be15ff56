//===- RewriteToMultipole.cpp - decode_attention -> multipole form --------===//
//
// Implements --multipole-rewrite (see Passes.td for the contract). The step
// function gets the cluster index (and lens, if it had none) as extra
// arguments; the entry points that build and update the index, and the role
// tags, are the work of --multipole-entry-points (EntryPoints.cpp), which the
// rewrite runs afterwards unless entry-points=false.
//
//===----------------------------------------------------------------------===//

#include "multipole/Support/PassOptions.h"
#include "multipole/Dialect/Multipole/Transforms/Passes.h"

#include "mlir/IR/SymbolTable.h"
#include "mlir/Pass/PassManager.h"

namespace mlir {
namespace multipole {
#define GEN_PASS_DEF_MULTIPOLEREWRITE
#include "multipole/Dialect/Multipole/Transforms/Passes.h.inc"
} // namespace multipole
} // namespace mlir

using namespace mlir;
using namespace mlir::multipole;

namespace {

/// The seven index array types of one level (centroids of element type
/// `centroid`).
SmallVector<Type, 7> indexTypes(MLIRContext *ctx, int64_t B, int64_t H,
                                int64_t C, int64_t D, int64_t items,
                                Type centroid) {
  Type i32 = IntegerType::get(ctx, 32);
  return {RankedTensorType::get({B, H, C, D}, centroid),
          RankedTensorType::get({B, H, C, D}, centroid),
          RankedTensorType::get({B, H, C}, i32),
          RankedTensorType::get({B, H, C + 1}, i32),
          RankedTensorType::get({B, H, items}, i32),
          RankedTensorType::get({B, H, items}, i32),
          RankedTensorType::get({B, H, 4}, i32)};
}

Value empty(OpBuilder &b, Location loc, ArrayRef<int64_t> shape, Type elt) {
  return tensor::EmptyOp::create(b, loc, shape, elt);
}

struct MultipoleRewritePass
    : public multipole::impl::MultipoleRewriteBase<MultipoleRewritePass> {
  using MultipoleRewriteBase::MultipoleRewriteBase;

  LogicalResult initializeOptions(
      StringRef options,
      function_ref<LogicalResult(const Twine &)> errorHandler) override {
    if (failed(rejectEmptyOptionValues(getArgument(), options, errorHandler)))
      return failure();
    return MultipoleRewriteBase::initializeOptions(options, errorHandler);
  }

  FailureOr<ConfigAttr> makeConfig(Operation *anchor) {
    MLIRContext *ctx = &getContext();
    auto emitErr = [&]() {
      return anchor->emitError() << "invalid multipole-rewrite option: ";
    };
    auto mkLevel = [&](double f, int64_t tokens,
                       double frac) -> FailureOr<LevelAttr> {
      std::optional<int64_t> bt;
      std::optional<APFloat> bf;
      if (tokens >= 0)
        bt = tokens;
      else if (tokens < -1)
        return (emitErr() << "budget must be >= 0 tokens, got " << tokens),
               failure();
      else
        bf = APFloat(frac);
      LevelAttr l = LevelAttr::getChecked(emitErr, ctx, APFloat(f), bt, bf);
      if (!l)
        return failure();
      return l;
    };
    SmallVector<LevelAttr> levels;
    FailureOr<LevelAttr> l0 =
        mkLevel(fraction, (int64_t)budgetTokens, budgetFraction);
    if (failed(l0))
      return failure();
    levels.push_back(*l0);
    if (coarseFraction != 0.0) {
      FailureOr<LevelAttr> l1 =
          mkLevel(coarseFraction, (int64_t)coarseBudgetTokens,
                  coarseBudgetFraction);
      if (failed(l1))
        return failure();
      levels.push_back(*l1);
    }
    ConfigAttr cfg = ConfigAttr::getChecked(
        emitErr, ctx, ArrayRef<LevelAttr>(levels), (int64_t)sink, (int64_t)interval,
        (int64_t)blockSize, (int64_t)buildIters, (int64_t)updateIters,
        (int64_t)scorePosition, APFloat((double)ropeTheta), (bool)replacement);
    if (!cfg)
      return failure();
    return cfg;
  }

  /// The element type of the centroid arrays (option centroid-type).
  Type centroidElt;

  LogicalResult rewriteFunction(func::FuncOp func, DecodeAttentionOp op,
                                ConfigAttr cfg);

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<func::FuncOp, DecodeAttentionOp>> work;
    bool bad = false;
    module.walk([&](func::FuncOp f) {
      SmallVector<DecodeAttentionOp> ops;
      f.walk([&](DecodeAttentionOp op) {
        if (op.hasPureTensorSemantics())
          ops.push_back(op);
      });
      if (ops.size() > 1) {
        ops[1].emitError() << "multipole-rewrite supports one "
                              "multipole.decode_attention per function; "
                              "split the layers into functions";
        bad = true;
      } else if (ops.size() == 1) {
        work.push_back({f, ops[0]});
      }
    });
    if (bad)
      return signalPassFailure();
    if (work.empty())
      return;
    FailureOr<ConfigAttr> cfg = makeConfig(work.front().second);
    if (failed(cfg))
      return signalPassFailure();
    if (centroidType == "f32")
      centroidElt = Float32Type::get(&getContext());
    else if (centroidType == "bf16")
      centroidElt = BFloat16Type::get(&getContext());
    else
      return (work.front().second->emitError()
              << "invalid multipole-rewrite option: centroid-type must be "
                 "f32 or bf16, got '"
              << centroidType << "'"),
             signalPassFailure();
    for (auto [f, op] : work)
      if (failed(rewriteFunction(f, op, *cfg)))
        return signalPassFailure();
    if (entryPoints) {
      OpPassManager pm(ModuleOp::getOperationName());
      pm.addPass(createMultipoleEntryPoints());
      if (failed(runPipeline(pm, module)))
        return signalPassFailure();
    }
  }
};

LogicalResult MultipoleRewritePass::rewriteFunction(func::FuncOp func,
                                                    DecodeAttentionOp op,
                                                    ConfigAttr cfg) {
  MLIRContext *ctx = &getContext();
  Location loc = op.getLoc();
  // The op is erased before the entry points are built: keep its operands.
  const Value opQ = op.getQ(), opK = op.getK(), opV = op.getV(),
              opLens = op.getLens();
  auto qT = cast<RankedTensorType>(opQ.getType());
  auto kT = cast<RankedTensorType>(opK.getType());
  for (Value v : {opQ, opK, opV})
    if (!cast<RankedTensorType>(v.getType()).hasStaticShape())
      return op.emitError() << "multipole-rewrite needs static shapes to size "
                               "the cluster index, got "
                            << v.getType();
  int64_t B = kT.getDimSize(0), H = kT.getDimSize(1), N = kT.getDimSize(2),
          D = kT.getDimSize(3), Hq = qT.getDimSize(1);
  if (cfg.getSink() > N)
    return op.emitError() << "sink (" << cfg.getSink()
                          << " tokens) is larger than the KV cache (" << N
                          << " tokens)";
  if (!func.getBody().hasOneBlock())
    return op.emitError() << "multipole-rewrite expects a single-block function";
  unsigned numLevels = cfg.getLevels().size();
  SmallVector<int64_t> caps;
  for (unsigned l = 0; l < numLevels; ++l)
    caps.push_back(cfg.capacity(l, N));
  SmallVector<SmallVector<Type, 7>> levelTypes;
  for (unsigned l = 0; l < numLevels; ++l)
    levelTypes.push_back(indexTypes(ctx, B, H, caps[l], D,
                                    l == 0 ? N : caps[l - 1], centroidElt));
  Type i32 = IntegerType::get(ctx, 32);
  auto lensT = RankedTensorType::get({B}, i32);
  Builder b(ctx);

  // --- Step function: append lens (if absent) and the index arguments. ---
  Block &body = func.getBody().front();
  Value lens = opLens;
  unsigned lensArgNo = 0;
  if (!lens) {
    lensArgNo = func.getNumArguments();
    if (failed(func.insertArgument(lensArgNo, lensT,
                                   b.getDictionaryAttr({}), loc)))
      return failure();
    lens = body.getArgument(lensArgNo);
  }
  SmallVector<SmallVector<Value, 7>> idx(numLevels);
  for (unsigned l = 0; l < numLevels; ++l)
    for (unsigned i = 0; i < kNumIndexArrays; ++i) {
      unsigned at = func.getNumArguments();
      if (failed(func.insertArgument(at, levelTypes[l][i],
                                     b.getDictionaryAttr({}), loc)))
        return failure();
      idx[l].push_back(body.getArgument(at));
    }

  OpBuilder ob(op);
  FloatAttr scale = op.getScaleAttr();
  Type f32 = Float32Type::get(ctx), i8 = IntegerType::get(ctx, 8);
  auto lvlAttr = [&](unsigned l) { return b.getI64IntegerAttr(l); };
  SmallVector<Value> sel(numLevels), logits(numLevels);
  for (int l = numLevels - 1; l >= 0; --l) {
    Value rI = empty(ob, loc, {B, H, caps[l]}, f32);
    Value aI = empty(ob, loc, {B, Hq, caps[l]}, f32);
    auto score = CentroidScoreOp::create(
        ob, loc, TypeRange{rI.getType(), aI.getType()}, opQ, idx[l],
        lens, ValueRange{rI, aI}, cfg, lvlAttr(l), scale);
    logits[l] = score.getResult(1);
    Value sI = empty(ob, loc, {B, H, caps[l]}, i8);
    Value pa, ps;
    if (l + 1 < (int)numLevels) {
      pa = idx[l + 1][kAssign];
      ps = sel[l + 1];
    }
    auto s = SelectClustersOp::create(ob, loc, TypeRange{sI.getType()},
                                      score.getResult(0), idx[l], pa, ps,
                                      ValueRange{sI}, cfg, lvlAttr(l));
    sel[l] = s.getResult(0);
  }
  auto partialTypes = [&]() {
    return SmallVector<Value>{empty(ob, loc, {B, Hq, D}, f32),
                              empty(ob, loc, {B, Hq}, f32),
                              empty(ob, loc, {B, Hq}, f32)};
  };
  SmallVector<Value> partials;
  {
    SmallVector<Value> outs = partialTypes();
    auto ex = SparseAttentionOp::create(
        ob, loc, ValueRange(outs).getTypes(), opQ, opK, opV,
        lens, idx[0], sel[0], /*chunk_bases=*/Value(), outs, cfg, scale);
    llvm::append_range(partials, ex.getResults());
  }
  if (cfg.getReplacement()) {
    for (int l = numLevels - 1; l >= 0; --l) {
      SmallVector<Value> outs = partialTypes();
      Value pa, ps;
      if (l + 1 < (int)numLevels) {
        pa = idx[l + 1][kAssign];
        ps = sel[l + 1];
      }
      auto ap = CentroidApproxOp::create(ob, loc, ValueRange(outs).getTypes(),
                                         logits[l], idx[l], sel[l], pa, ps,
                                         outs, lvlAttr(l));
      llvm::append_range(partials, ap.getResults());
    }
  }
  auto merge = MergeOp::create(ob, loc, op.getResultTypes(), partials,
                               op.getOuts());
  op.replaceAllUsesWith(merge.getResults());
  op.erase();
  return success();
}

} // namespace
