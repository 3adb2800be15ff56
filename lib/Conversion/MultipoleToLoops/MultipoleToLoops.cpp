//===- MultipoleToLoops.cpp - multipole ops -> calls of MLIR loop kernels -===//
//
// Every multipole op on memrefs becomes a call of a kernel written in MLIR
// (kernels/Kernels.mlir: scf + memref + arith + math). The kernel library is
// parsed once per element type, its symbols suffixed with the type, and
// inserted into the module as private functions; unused ones are removed by
// symbol-dce later in the pipeline. Configuration knobs travel as scalar
// arguments, operands as fully dynamic strided memrefs.
//
//===----------------------------------------------------------------------===//

#include "multipole/Conversion/Passes.h"
#include "multipole/Dialect/Multipole/IR/MultipoleOps.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringSet.h"

#include <cctype>

namespace mlir {
namespace multipole {
#define GEN_PASS_DEF_CONVERTMULTIPOLETOLOOPS
#include "multipole/Conversion/Passes.h.inc"
} // namespace multipole
} // namespace mlir

using namespace mlir;
using namespace mlir::multipole;

namespace {
#include "KernelsText.inc" // defines `kKernelsText`

std::string typeName(Type t) {
  if (t.isBF16())
    return "bf16";
  if (t.isF16())
    return "f16";
  return "f32";
}

/// Kernels.mlir specialised for element type `t`: the file is templated by
/// type only (`!E` is the element type, `$T` its name in symbols).
std::string kernelSource(Type t) {
  std::string tn = typeName(t);
  llvm::StringRef src = kKernelsText;
  std::string out;
  out.reserve(src.size());
  auto isIdent = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (size_t i = 0; i < src.size(); ++i) {
    bool token = i + 2 >= src.size() || !isIdent(src[i + 2]);
    if (src[i] == '$' && i + 1 < src.size() && src[i + 1] == 'T' && token) {
      out += tn;
      ++i;
    } else if (src[i] == '!' && i + 1 < src.size() && src[i + 1] == 'E' && token) {
      out += tn;
      ++i;
    } else {
      out += src[i];
    }
  }
  return out;
}

/// `@__mp_ext_<t>(x: t) -> f32` and `@__mp_trunc_<t>(x: f32) -> t`, which the
/// kernels call to compute in f32 (identities for f32).
void buildConversions(OpBuilder &b, Location loc, Type elt) {
  std::string tn = typeName(elt);
  Type f32 = b.getF32Type();
  auto define = [&](StringRef name, Type from, Type to) {
    auto fn = func::FuncOp::create(b, loc, name, b.getFunctionType(from, to));
    fn.setPrivate();
    OpBuilder::InsertionGuard guard(b);
    Block *entry = fn.addEntryBlock();
    b.setInsertionPointToStart(entry);
    Value x = entry->getArgument(0);
    Value y = x;
    if (from != to && to == f32)
      y = arith::ExtFOp::create(b, loc, f32, x);
    else if (from != to)
      y = arith::TruncFOp::create(b, loc, to, x);
    func::ReturnOp::create(b, loc, y);
  };
  define("__mp_ext_" + tn, elt, f32);
  define("__mp_trunc_" + tn, f32, elt);
}

struct ConvertMultipoleToLoopsPass
    : public multipole::impl::ConvertMultipoleToLoopsBase<
          ConvertMultipoleToLoopsPass> {
  llvm::StringSet<> loaded;

  LogicalResult ensureKernels(ModuleOp module, Type elt, Location loc) {
    std::string tn = typeName(elt);
    if (loaded.contains(tn) ||
        SymbolTable::lookupSymbolIn(module, "__mp_ext_" + tn))
      return success();
    // Verified once complete: its calls reference the conversion functions
    // built below.
    ParserConfig config(&getContext(), /*verifyAfterParse=*/false);
    OwningOpRef<ModuleOp> lib = ModuleOp::create(loc);
    OpBuilder cb = OpBuilder::atBlockEnd(lib->getBody());
    buildConversions(cb, loc, elt);
    if (failed(parseSourceString(kernelSource(elt), lib->getBody(), config,
                                 "Kernels.mlir")) ||
        failed(verify(*lib)))
      return emitError(loc) << "internal error: the multipole kernel library "
                               "for " << tn << " does not parse";
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    for (Operation &op : llvm::make_early_inc_range(lib->getBody()->getOperations()))
      b.clone(op);
    loaded.insert(tn);
    return success();
  }

  static Value castDynamic(OpBuilder &b, Location loc, Value v) {
    auto mt = cast<MemRefType>(v.getType());
    int64_t r = mt.getRank();
    SmallVector<int64_t> shape(r, ShapedType::kDynamic);
    SmallVector<int64_t> strides(r, ShapedType::kDynamic);
    auto layout = StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic,
                                         strides);
    auto t = MemRefType::get(shape, mt.getElementType(), layout,
                             mt.getMemorySpace());
    if (t == mt)
      return v;
    return memref::CastOp::create(b, loc, t, v);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    loaded.clear();
    SmallVector<Operation *> ops;
    bool bad = false;
    module.walk([&](Operation *op) {
      if (!isa<MultipoleDialect>(op->getDialect()))
        return;
      for (Value v : op->getOperands())
        if (isa<TensorType>(v.getType())) {
          op->emitError() << "convert-multipole-to-loops expects bufferized "
                             "ops (memrefs); run one-shot-bufferize first";
          bad = true;
          return;
        }
      ops.push_back(op);
    });
    if (bad)
      return signalPassFailure();
    for (Operation *op : ops)
      if (failed(widenCentroids(op)) || failed(lower(op)))
        return signalPassFailure();
  }

  LogicalResult widenCentroids(Operation *op);
  LogicalResult lower(Operation *op);
  LogicalResult lowerMerge(MergeOp op);
};

Value i64c(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIntOp::create(b, loc, v, 64);
}
Value f32c(OpBuilder &b, Location loc, double v) {
  return arith::ConstantFloatOp::create(b, loc, b.getF32Type(),
                                        APFloat(float(v)));
}
Value f64c(OpBuilder &b, Location loc, double v) {
  return arith::ConstantFloatOp::create(b, loc, b.getF64Type(), APFloat(v));
}

Value scaleValue(OpBuilder &b, Location loc, FloatAttr scale, Value q,
                 unsigned dDim) {
  if (scale)
    return f32c(b, loc, scale.getValueAsDouble());
  auto mt = cast<MemRefType>(q.getType());
  int64_t D = mt.getDimSize(dDim);
  if (D != ShapedType::kDynamic)
    return f32c(b, loc, 1.0 / std::sqrt(double(D)));
  // Dynamic head dim: 1/sqrt(D) at run time.
  Value d = memref::DimOp::create(b, loc, q, dDim);
  Value di = arith::IndexCastOp::create(b, loc, b.getI64Type(), d);
  Value df = arith::SIToFPOp::create(b, loc, b.getF32Type(), di);
  Value sq = math::SqrtOp::create(b, loc, df);
  return arith::DivFOp::create(b, loc, f32c(b, loc, 1.0), sq);
}

/// dst = src converted elementwise (extf or truncf, round to nearest even),
/// as a loop nest over the (static or dynamic) shape of src.
void convertCopy(OpBuilder &b, Location loc, Value src, Value dst) {
  auto st = cast<MemRefType>(src.getType());
  Type to = cast<MemRefType>(dst.getType()).getElementType();
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  SmallVector<Value> lbs(st.getRank(), c0), steps(st.getRank(), c1), ubs;
  for (int64_t d = 0; d < st.getRank(); ++d)
    ubs.push_back(memref::DimOp::create(b, loc, src, d));
  scf::buildLoopNest(b, loc, lbs, ubs, steps,
                     [&](OpBuilder &nb, Location l, ValueRange iv) {
                       Value x = memref::LoadOp::create(nb, l, src, iv);
                       Value y =
                           to.getIntOrFloatBitWidth() >
                                   x.getType().getIntOrFloatBitWidth()
                               ? Value(arith::ExtFOp::create(nb, l, to, x))
                               : Value(arith::TruncFOp::create(nb, l, to, x));
                       memref::StoreOp::create(nb, l, y, dst, iv);
                     });
}

/// A centroid operand of an op, and whether its kernel reads the values
/// (else only the shape, or nothing) and writes them.
struct CentroidUse {
  OpOperand *use;
  bool reads, writes;
};

/// The centroid operands of `op` (key and value centroids of each index
/// level it takes), with what the op's kernel does with each: the build and
/// the coarsening reset the arrays they write before reading them; the
/// selection and the exact part never look at centroids; scoring reads the
/// key centroids, the approximation the value centroids.
SmallVector<CentroidUse> centroidOperands(Operation *op) {
  SmallVector<CentroidUse> r;
  auto take = [&](MutableOperandRange range, bool readsKeys, bool readsValues,
                  bool writes) {
    if (range.size() < kNumIndexArrays)
      return;
    r.push_back({&range[kCentroids], readsKeys, writes});
    r.push_back({&range[kVCentroids], readsValues, writes});
  };
  if (auto c = dyn_cast<ClusterBuildOp>(op))
    take(c.getOutsMutable(), false, false, true);
  else if (auto c = dyn_cast<ClusterUpdateOp>(op))
    take(c.getOutsMutable(), true, true, true);
  else if (auto c = dyn_cast<ClusterCoarsenOp>(op)) {
    take(c.getFineMutable(), true, true, false);
    take(c.getOutsMutable(), false, false, true);
  } else if (auto s = dyn_cast<CentroidScoreOp>(op))
    take(s.getIndexMutable(), true, false, false);
  else if (auto s = dyn_cast<SelectClustersOp>(op))
    take(s.getIndexMutable(), false, false, false);
  else if (auto s = dyn_cast<SparseAttentionOp>(op))
    take(s.getIndexMutable(), false, false, false);
  else if (auto a = dyn_cast<CentroidApproxOp>(op))
    take(a.getIndexMutable(), false, true, false);
  return r;
}

/// A one-element i32/i8 memref to stand for an absent optional operand.
Value dummy(OpBuilder &b, Location loc, Type elt, unsigned rank) {
  SmallVector<int64_t> shape(rank, 1);
  return memref::AllocaOp::create(b, loc, MemRefType::get(shape, elt));
}

/// merge: fold the partials one by one into a running partial, then
/// normalise (calls of the kernel library's merge functions).
LogicalResult ConvertMultipoleToLoopsPass::lowerMerge(MergeOp m) {
  ModuleOp module = getOperation();
  OpBuilder b(m);
  Location loc = m.getLoc();
  Type f32 = b.getF32Type();
  auto eltOf = [](Value v) { return cast<MemRefType>(v.getType()).getElementType(); };
  Value out = m.getOuts()[0];
  Type elt = eltOf(out);
  if (failed(ensureKernels(module, elt, loc)) ||
      failed(ensureKernels(module, f32, loc)))
    return failure();
  ValueRange parts = m.getPartials();
  SmallVector<Value> run;
  for (unsigned i = 0; i < 3; ++i) {
    auto mt = cast<MemRefType>(parts[i].getType());
    SmallVector<Value> dyn;
    for (int64_t d = 0; d < mt.getRank(); ++d)
      if (mt.isDynamicDim(d))
        dyn.push_back(memref::DimOp::create(b, loc, parts[i], d));
    run.push_back(memref::AllocOp::create(
        b, loc, MemRefType::get(mt.getShape(), f32), dyn));
  }
  for (unsigned p = 0; p < parts.size(); p += 3) {
    SmallVector<Value> cargs;
    for (Value v : run)
      cargs.push_back(castDynamic(b, loc, v));
    for (unsigned i = 0; i < 3; ++i)
      cargs.push_back(castDynamic(b, loc, parts[p + i]));
    cargs.push_back(arith::ConstantIntOp::create(b, loc, p == 0 ? 1 : 0, 1));
    func::CallOp::create(b, loc, "__mp_merge_into_f32", TypeRange{}, cargs);
  }
  SmallVector<Value> fargs;
  for (Value v : run)
    fargs.push_back(castDynamic(b, loc, v));
  fargs.push_back(castDynamic(b, loc, out));
  func::CallOp::create(b, loc, "__mp_merge_finish_" + typeName(elt),
                       TypeRange{}, fargs);
  for (Value v : run)
    memref::DeallocOp::create(b, loc, v);
  m->erase();
  return success();
}

/// Split partials are a form of the GPU lowering (multipole-gpu-plan): the
/// CPU kernels take plain partials (acc of rank 3).
static LogicalResult rejectGPUForms(Operation *op) {
  ValueRange partials;
  if (auto m = dyn_cast<MergeOp>(op))
    partials = m.getPartials();
  else if (auto sp = dyn_cast<SparseAttentionOp>(op))
    partials = sp.getOuts();
  else if (auto ap = dyn_cast<CentroidApproxOp>(op))
    partials = ap.getOuts();
  for (Value v : partials)
    if (cast<ShapedType>(v.getType()).getRank() == 4)
      return op->emitError() << "split partials are a form of the GPU "
                                "lowering (multipole-gpu-plan); the CPU backend "
                                "takes plain partials";
  return success();
}

/// Centroids stored in bf16: the kernels compute in f32, so the op gets f32
/// arrays of the same shape, extended from the index before it where its
/// kernel reads them, rounded back after it (to nearest even) where it writes
/// them, and freed after it.
LogicalResult ConvertMultipoleToLoopsPass::widenCentroids(Operation *op) {
  SmallVector<CentroidUse> cents = centroidOperands(op);
  if (cents.empty() ||
      !cast<MemRefType>(cents.front().use->get().getType())
           .getElementType()
           .isBF16())
    return success();
  Location loc = op->getLoc();
  OpBuilder before(op), after(op->getContext());
  after.setInsertionPointAfter(op);
  SmallVector<Value> temps;
  for (const CentroidUse &c : cents) {
    Value orig = c.use->get();
    auto mt = cast<MemRefType>(orig.getType());
    SmallVector<Value> dyn;
    for (int64_t d = 0; d < mt.getRank(); ++d)
      if (mt.isDynamicDim(d))
        dyn.push_back(memref::DimOp::create(before, loc, orig, d));
    Value wide = memref::AllocOp::create(
        before, loc, MemRefType::get(mt.getShape(), before.getF32Type()), dyn);
    if (c.reads)
      convertCopy(before, loc, orig, wide);
    c.use->set(wide);
    if (c.writes)
      convertCopy(after, loc, wide, orig);
    temps.push_back(wide);
  }
  for (Value t : temps)
    memref::DeallocOp::create(after, loc, t);
  return success();
}

LogicalResult ConvertMultipoleToLoopsPass::lower(Operation *op) {
  if (failed(rejectGPUForms(op)))
    return failure();
  ModuleOp module = getOperation();
  OpBuilder b(op);
  Location loc = op->getLoc();
  Type f32 = b.getF32Type(), i32 = b.getI32Type(), i8 = b.getI8Type();
  Type elt = f32;
  SmallVector<Value> args;
  std::string name;
  auto addAll = [&](ValueRange vs) {
    for (Value v : vs)
      args.push_back(castDynamic(b, loc, v));
  };
  auto add = [&](Value v) { args.push_back(castDynamic(b, loc, v)); };
  auto eltOf = [](Value v) { return cast<MemRefType>(v.getType()).getElementType(); };

  auto cfgArgs = [&](ConfigAttr cfg, unsigned level) {
    args.push_back(i64c(b, loc, cfg.getSink()));
    args.push_back(i64c(b, loc, cfg.getInterval()));
    args.push_back(i64c(b, loc, cfg.getBlockSize()));
    args.push_back(i64c(b, loc, cfg.getBuildIters()));
    args.push_back(i64c(b, loc, cfg.getUpdateIters()));
    args.push_back(f64c(b, loc, cfg.fraction(level)));
    args.push_back(f32c(b, loc, cfg.getRopeTheta().convertToDouble()));
    args.push_back(i64c(b, loc, cfg.extraClusters()));
  };

  if (auto d = dyn_cast<DecodeAttentionOp>(op)) {
    elt = eltOf(d.getQ());
    name = "decode_attention";
    add(d.getQ());
    add(d.getK());
    add(d.getV());
    add(d.getLens() ? d.getLens() : dummy(b, loc, i32, 1));
    add(d.getOuts()[0]);
    args.push_back(scaleValue(b, loc, d.getScaleAttr(), d.getQ(), 2));
    args.push_back(arith::ConstantIntOp::create(b, loc, d.getLens() ? 1 : 0, 1));
  } else if (auto c = dyn_cast<ClusterBuildOp>(op)) {
    elt = eltOf(c.getK());
    name = "cluster_build";
    add(c.getK());
    add(c.getV());
    add(c.getLens());
    addAll(c.getOuts());
    cfgArgs(c.getConfig(), 0);
  } else if (auto c = dyn_cast<ClusterUpdateOp>(op)) {
    elt = eltOf(c.getK());
    name = "cluster_update";
    add(c.getK());
    add(c.getV());
    add(c.getLens());
    addAll(c.getOuts());
    cfgArgs(c.getConfig(), 0);
  } else if (auto c = dyn_cast<ClusterCoarsenOp>(op)) {
    name = "cluster_coarsen";
    addAll(c.getFine());
    addAll(c.getOuts());
    cfgArgs(c.getConfig(), c.getLevel());
  } else if (auto s = dyn_cast<CentroidScoreOp>(op)) {
    elt = eltOf(s.getQ());
    name = "centroid_score";
    add(s.getQ());
    addAll(s.getIndex());
    add(s.getLens());
    addAll(s.getOuts());
    args.push_back(scaleValue(b, loc, s.getScaleAttr(), s.getQ(), 2));
    args.push_back(i64c(b, loc, s.getConfig().getScorePosition()));
    args.push_back(
        f32c(b, loc, s.getConfig().getRopeTheta().convertToDouble()));
  } else if (auto s = dyn_cast<SelectClustersOp>(op)) {
    name = "select_clusters";
    add(s.getScores());
    addAll(s.getIndex());
    bool hasParent = static_cast<bool>(s.getParentAssign());
    add(hasParent ? s.getParentAssign() : dummy(b, loc, i32, 3));
    add(hasParent ? s.getParentSelected() : dummy(b, loc, i8, 3));
    // The mask; chunk bases (a GPU lowering detail) are not written here.
    add(s.getOuts()[0]);
    LevelAttr lvl = s.getConfig().getLevels()[s.getLevel()];
    args.push_back(i64c(b, loc, lvl.getBudgetTokens() ? *lvl.getBudgetTokens() : -1));
    args.push_back(f64c(b, loc, lvl.getBudgetFraction() ? lvl.getBudgetFraction()->convertToDouble() : 0.0));
    args.push_back(arith::ConstantIntOp::create(b, loc, hasParent ? 1 : 0, 1));
  } else if (auto s = dyn_cast<SparseAttentionOp>(op)) {
    elt = eltOf(s.getQ());
    name = "sparse_attention";
    add(s.getQ());
    add(s.getK());
    add(s.getV());
    add(s.getLens());
    addAll(s.getIndex());
    add(s.getSelected());
    addAll(s.getOuts());
    args.push_back(scaleValue(b, loc, s.getScaleAttr(), s.getQ(), 2));
    args.push_back(i64c(b, loc, s.getConfig().getSink()));
  } else if (auto a = dyn_cast<CentroidApproxOp>(op)) {
    name = "centroid_approx";
    add(a.getLogits());
    addAll(a.getIndex());
    add(a.getSelected());
    bool hasParent = static_cast<bool>(a.getParentAssign());
    add(hasParent ? a.getParentAssign() : dummy(b, loc, i32, 3));
    add(hasParent ? a.getParentSelected() : dummy(b, loc, i8, 3));
    addAll(a.getOuts());
    args.push_back(arith::ConstantIntOp::create(b, loc, hasParent ? 1 : 0, 1));
  } else if (auto m = dyn_cast<MergeOp>(op)) {
    return lowerMerge(m);
  } else {
    return op->emitError() << "no CPU lowering for this op";
  }
  if (failed(ensureKernels(module, elt, loc)))
    return failure();
  std::string callee = "__mp_" + name + "_" + typeName(elt);
  if (!SymbolTable::lookupSymbolIn(module, callee))
    return op->emitError() << "internal error: kernel '@" << callee
                           << "' is missing from the kernel library";
  func::CallOp::create(b, loc, callee, TypeRange{}, args);
  op->erase();
  return success();
}

} // namespace
