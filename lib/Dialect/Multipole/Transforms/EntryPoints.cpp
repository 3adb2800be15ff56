//===- EntryPoints.cpp - the ABI of a compiled multipole library ----------===//
//
// Implements --multipole-entry-points (see Passes.td): from a step function
// in multipole form, the build and update entry points and the role tags of
// docs/ABI.md. The pass reads the structure the rewrite leaves (the index and
// lens are arguments of the step; k, v and lens are computed from arguments
// without control flow) and changes nothing else.
//
//===----------------------------------------------------------------------===//

#include "multipole/Dialect/Multipole/Transforms/Passes.h"

#include "mlir/Analysis/SliceAnalysis.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir {
namespace multipole {
#define GEN_PASS_DEF_MULTIPOLEENTRYPOINTS
#include "multipole/Dialect/Multipole/Transforms/Passes.h.inc"
} // namespace multipole
} // namespace mlir

using namespace mlir;
using namespace mlir::multipole;

namespace {

constexpr StringLiteral kRoleAttr = MultipoleDialect::RoleAttrHelper::getNameStr();
constexpr StringLiteral kEntryAttr = MultipoleDialect::EntryAttrHelper::getNameStr();
constexpr StringLiteral kStepAttr = MultipoleDialect::StepAttrHelper::getNameStr();

} // namespace

/// Looks through reshapes (which keep the row-major order, so clients can
/// feed an argument canonical data) and transposes (a KV cache stored as
/// [B, N, Hkv, D] is the argument that the transpose to [B, Hkv, N, D]
/// reads: it has the role, in its own layout).
Value mlir::multipole::throughViews(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto t = dyn_cast<linalg::TransposeOp>(def)) {
      if (!t.hasPureTensorSemantics())
        break;
      v = t.getInput();
      continue;
    }
    if (!isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(def))
      break;
    v = def->getOperand(0);
  }
  return v;
}

namespace {
/// The ops between the function's arguments and `roots`, in block order, and
/// the arguments they use, in argument order.
LogicalResult backwardSlice(func::FuncOp f, ArrayRef<Value> roots,
                            SetVector<Operation *> &ops,
                            SetVector<BlockArgument> &args, Operation *user) {
  for (Value r : roots) {
    if (auto ba = dyn_cast<BlockArgument>(r)) {
      if (ba.getOwner()->getParentOp() != f)
        return user->emitError() << "operand is defined inside a region";
      args.insert(ba);
      continue;
    }
    BackwardSliceOptions opts;
    opts.omitBlockArguments = false;
    opts.inclusive = true;
    SetVector<Operation *> slice;
    if (failed(getBackwardSlice(r, &slice, opts)))
      return user->emitError() << "cannot compute the slice of an operand";
    for (Operation *o : slice) {
      if (o->getNumRegions() != 0 && !isa<linalg::LinalgOp>(o))
        return user->emitError()
               << "the KV cache must be computed from function arguments "
                  "without control flow; found '"
               << o->getName() << "'";
      ops.insert(o);
      for (Value v : o->getOperands())
        if (auto ba = dyn_cast<BlockArgument>(v))
          if (ba.getOwner()->getParentOp() == f)
            args.insert(ba);
    }
  }
  SmallVector<Operation *> sorted(ops.begin(), ops.end());
  llvm::sort(sorted, [](Operation *a, Operation *b) {
    return a->isBeforeInBlock(b);
  });
  ops = SetVector<Operation *>(sorted.begin(), sorted.end());
  SmallVector<BlockArgument> sargs(args.begin(), args.end());
  llvm::sort(sargs, [](BlockArgument a, BlockArgument b) {
    return a.getArgNumber() < b.getArgNumber();
  });
  args = SetVector<BlockArgument>(sargs.begin(), sargs.end());
  return success();
}

/// What the entry points are made from: the step's k, v, lens, the index of
/// every level (arguments of the step) and its configuration.
struct StepInfo {
  func::FuncOp step;
  SparseAttentionOp exact;
  ConfigAttr cfg;
  SmallVector<SmallVector<Value, 7>> index; // per level
  SmallVector<Type> indexTypes;             // all levels, in order
};

std::string roleOf(unsigned level, unsigned array) {
  return ("L" + Twine(level) + "." + indexArrayName(array)).str();
}

/// Finds the index of each level: level 0 is the exact part's, a coarser one
/// that of the level's centroid_score.
LogicalResult collectIndex(StepInfo &s) {
  unsigned levels = s.cfg.getLevels().size();
  s.index.assign(levels, {});
  s.index[0] = llvm::to_vector<7>(s.exact.getIndex());
  WalkResult r = s.step.walk([&](CentroidScoreOp sc) {
    unsigned l = sc.getLevel();
    if (l >= levels)
      return WalkResult::interrupt();
    if (l > 0)
      s.index[l] = llvm::to_vector<7>(sc.getIndex());
    return WalkResult::advance();
  });
  if (r.wasInterrupted())
    return s.exact.emitError() << "a centroid_score level is out of range";
  for (unsigned l = 0; l < levels; ++l) {
    if (s.index[l].size() != kNumIndexArrays)
      return s.exact.emitError()
             << "multipole-entry-points: no index found for level " << l;
    for (Value v : s.index[l]) {
      auto ba = dyn_cast<BlockArgument>(v);
      if (!ba || ba.getOwner()->getParentOp() != s.step)
        return s.exact.emitError()
               << "multipole-entry-points: the cluster index must be "
                  "arguments of the step function (as multipole-rewrite "
                  "leaves it)";
      s.indexTypes.push_back(v.getType());
    }
  }
  return success();
}

/// Tags the step's arguments and results and marks it as the step.
void tagStep(StepInfo &s) {
  func::FuncOp f = s.step;
  Builder b(f.getContext());
  auto tagArg = [&](Value v, StringRef role) {
    if (auto ba = dyn_cast<BlockArgument>(throughViews(v)))
      if (ba.getOwner()->getParentOp() == f)
        f.setArgAttr(ba.getArgNumber(), kRoleAttr, b.getStringAttr(role));
  };
  tagArg(s.exact.getQ(), "q");
  tagArg(s.exact.getK(), "k");
  tagArg(s.exact.getV(), "v");
  tagArg(s.exact.getLens(), "lens");
  for (auto [l, arrays] : llvm::enumerate(s.index))
    for (auto [i, v] : llvm::enumerate(arrays))
      tagArg(v, roleOf(l, i));
  // The result that carries the attention output (the merge's).
  auto ret = cast<func::ReturnOp>(f.getBody().front().getTerminator());
  for (OpOperand &o : ret->getOpOperands())
    if (isa_and_nonnull<MergeOp>(throughViews(o.get()).getDefiningOp()))
      f.setResultAttr(o.getOperandNumber(), kRoleAttr, b.getStringAttr("out"));
  f->setAttr(kEntryAttr, b.getStringAttr("step"));
}

/// `@<step>_mp_<kind>`: the slice computing k, v, lens, then cluster_build
/// (or cluster_update of the index arguments) and cluster_coarsen per coarse
/// level; returns the index.
LogicalResult makeEntry(StepInfo &s, StringRef kind, SymbolTable &symbols) {
  func::FuncOp f = s.step;
  MLIRContext *ctx = f.getContext();
  Location loc = s.exact.getLoc();
  Builder b(ctx);
  bool update = kind == "update";
  Value k = s.exact.getK(), v = s.exact.getV(), lens = s.exact.getLens();
  SetVector<Operation *> sliceOps;
  SetVector<BlockArgument> sliceArgs;
  if (failed(backwardSlice(f, {k, v, lens}, sliceOps, sliceArgs, s.exact)))
    return failure();

  SmallVector<Type> ins;
  SmallVector<DictionaryAttr> attrs;
  for (BlockArgument a : sliceArgs) {
    ins.push_back(a.getType());
    DictionaryAttr d = f.getArgAttrDict(a.getArgNumber());
    attrs.push_back(d ? d : b.getDictionaryAttr({}));
  }
  SmallVector<DictionaryAttr> indexAttrs;
  for (unsigned l = 0; l < s.index.size(); ++l)
    for (unsigned i = 0; i < kNumIndexArrays; ++i)
      indexAttrs.push_back(b.getDictionaryAttr(
          {b.getNamedAttr(kRoleAttr, b.getStringAttr(roleOf(l, i)))}));
  unsigned base = ins.size();
  if (update) {
    llvm::append_range(ins, s.indexTypes);
    llvm::append_range(attrs, indexAttrs);
  }
  std::string name = (f.getSymName() + "_mp_" + kind).str();
  if (symbols.lookup(name))
    return f.emitError() << "cannot add entry point '@" << name
                         << "': the symbol exists";
  OpBuilder mb(f);
  mb.setInsertionPointAfter(f);
  auto ef = func::FuncOp::create(mb, loc, name,
                                 FunctionType::get(ctx, ins, s.indexTypes));
  ef.setAllArgAttrs(attrs);
  ef.setAllResultAttrs(indexAttrs);
  ef->setAttr(kEntryAttr, b.getStringAttr(kind));
  ef->setAttr(kStepAttr, FlatSymbolRefAttr::get(f.getSymNameAttr()));

  Block *eb = ef.addEntryBlock();
  OpBuilder ob = OpBuilder::atBlockBegin(eb);
  IRMapping map;
  for (auto [i, a] : llvm::enumerate(sliceArgs))
    map.map(a, eb->getArgument(i));
  for (Operation *o : sliceOps)
    ob.clone(*o, map);
  // The index arrays of level l: the update's arguments, or fresh tensors.
  auto levelOuts = [&](unsigned l) {
    SmallVector<Value> outs;
    for (unsigned i = 0; i < kNumIndexArrays; ++i) {
      if (update) {
        outs.push_back(eb->getArgument(base + l * kNumIndexArrays + i));
        continue;
      }
      auto t = cast<RankedTensorType>(s.indexTypes[l * kNumIndexArrays + i]);
      outs.push_back(
          tensor::EmptyOp::create(ob, loc, t.getShape(), t.getElementType()));
    }
    return outs;
  };
  Value ek = map.lookupOrDefault(k), ev = map.lookupOrDefault(v),
        elens = map.lookupOrDefault(lens);
  TypeRange l0Types(ArrayRef<Type>(s.indexTypes).take_front(kNumIndexArrays));
  Operation *l0 =
      update ? ClusterUpdateOp::create(ob, loc, l0Types, ek, ev, elens,
                                       levelOuts(0), s.cfg)
                   .getOperation()
             : ClusterBuildOp::create(ob, loc, l0Types, ek, ev, elens,
                                      levelOuts(0), s.cfg)
                   .getOperation();
  SmallVector<Value> results(l0->getResults());
  ValueRange fine = l0->getResults();
  for (unsigned l = 1; l < s.index.size(); ++l) {
    TypeRange types(ArrayRef<Type>(s.indexTypes)
                        .slice(l * kNumIndexArrays, kNumIndexArrays));
    auto c = ClusterCoarsenOp::create(ob, loc, types, fine, levelOuts(l), s.cfg,
                                      b.getI64IntegerAttr(l));
    llvm::append_range(results, c.getResults());
    fine = c.getResults();
  }
  func::ReturnOp::create(ob, loc, results);
  return success();
}

struct MultipoleEntryPointsPass
    : public multipole::impl::MultipoleEntryPointsBase<
          MultipoleEntryPointsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<StepInfo> steps;
    bool bad = false;
    for (auto f : module.getOps<func::FuncOp>()) {
      if (f.isExternal() || f->hasAttr(kEntryAttr))
        continue;
      SmallVector<SparseAttentionOp> exact;
      f.walk([&](SparseAttentionOp op) {
        if (op.hasPureTensorSemantics())
          exact.push_back(op);
      });
      if (exact.empty())
        continue;
      if (exact.size() > 1 || !f.getBody().hasOneBlock()) {
        exact.back().emitError() << "multipole-entry-points supports one "
                                    "multipole step per single-block function";
        bad = true;
        continue;
      }
      StepInfo s{f, exact[0], exact[0].getConfig(), {}, {}};
      if (failed(collectIndex(s))) {
        bad = true;
        continue;
      }
      steps.push_back(std::move(s));
    }
    if (bad)
      return signalPassFailure();
    SymbolTable symbols(module);
    for (StepInfo &s : steps) {
      // Tags first: the entry points copy the roles of the step's arguments.
      tagStep(s);
      if (failed(makeEntry(s, "update", symbols)) ||
          failed(makeEntry(s, "build", symbols)))
        return signalPassFailure();
    }
  }
};

} // namespace
