//===- DetectDecodeAttention.cpp - linalg decode attention -> multipole ---===//
//
// Implements --multipole-detect-decode-attention (contract: Passes.td).
//
// What is matched. Starting from every contraction that could compute
// `P @ V`, the matcher walks the data-flow graph back to the query, key and
// value tensors and accepts exactly
//
//   out = P @ V',   P = softmax_N(S'),   S' = c * S (+ 0),   S = Q' . K'^T
//
// where
//   - the two contractions are any linalg structured op (linalg.matmul,
//     linalg.batch_matmul with or without indexing_maps, so also the
//     transpose-B specialization, linalg.generic) that upstream takes for a
//     contraction (linalg::isaContractionOpInterface; the roles of the loops
//     come from linalg::inferContractionDims), whose payload is `out + a * b`
//     modulo float casts only, whose reduced loops are all contracted, whose
//     parallel loops all index the result and whose init is zero-filled;
//   - the softmax is `linalg.softmax`, or the decomposition
//     `e = exp(x - max_N(x))`, `p = e / sum_N(e)` (or `e * (1 / sum_N(e))`,
//     the reciprocal in the payload or an op of its own) in linalg ops, with
//     the max a maximumf, maxnumf or cmpf/select initialized to -inf (or the
//     lowest finite value), the sum to 0, and sub/exp fused or not. The exp
//     may be `exp2((x - m) * log2e)` (log2e = 1.4426950408889634 to one ulp
//     of the constant's type; the multiplication in the exp's op, the sub's
//     op or one between), or `exp2(x - m)` with the log2e multiplication
//     anywhere among the constant scalings of the scores, q or k (the
//     flash-attention spelling: max and exp2 of the pre-scaled logits).
//     exp2(c * y) = exp(c * ln2 * y), so c * ln2 joins the scale exactly.
//     An exp2 softmax without any log2e factor is refused: it is a softmax of
//     ln2 * x, not of x (it would be attention with another scale, but no
//     frontend means that);
//   - `c` is a product of constant scalings (mulf / divf by a scalar or splat
//     constant) on the scores, on Q' or on K';
//   - an additive mask is accepted when it is a constant 0 (dropped) or a
//     padding mask built from lengths (folded into `lens`): a linalg op
//     reading an i32 [B] tensor `lens` and `linalg.index n` that yields
//     `select(cmpi slt|ult (n, lens[b]), 0, -inf)`, or
//     `select(cmpi sge|uge (n, lens[b]), -inf, 0)`, the cmpi operands in
//     either order, integer casts (index_cast, ext) of n and lens[b] looked
//     through, -inf standing also for the lowest finite value or any
//     constant below -1e30, reached from the addition through views (e.g. a
//     [B, N] mask broadcast over the heads). Its n must be the key position
//     and its b the batch of the op (B becomes the lengths' dimension). The
//     fold is exact for 1 <= lens[b] <= N (a mask that drops every key makes
//     the softmax 0/0 or uniform; `lens` out of range is not meaningful);
//     with a finite "-inf" it assumes the logits span less than its
//     magnitude;
//   - Q', K', V' (and the result) are reached through any chain of view ops:
//     tensor.collapse_shape / expand_shape, and single-input linalg ops that
//     only move data (linalg.transpose, linalg.broadcast, linalg.copy, generic
//     copies/broadcasts, including `(.., 0, ..)` maps on unit dims) possibly
//     with a float cast (extf / truncf) in the payload. GQA is a broadcast of
//     the KV heads on that chain, or the grouped spelling: q viewed as
//     [B, Hkv, G, D] against un-repeated [B, Hkv, N, D] keys and values
//     (einsums bhgd,bhnd->bhgn and bhgn,bhnd->bhgd).
//
// Axis atoms. To relate dimensions across reshapes, every dimension is
// described as a list of "atoms": the mixed-radix digits of its index, outer
// to inner (a dimension of size 1 has none). Walking back through a
// collapse_shape splits a dimension's atoms among the source dimensions,
// refining an atom into two when a boundary falls inside it; a transpose or
// broadcast permutes or drops atoms. Atoms are shared between all tensors of
// one match, so at the end each atom has a role:
//   H  - head/batch atoms: parallel in both contractions;
//   E  - query-only heads: in q, the scores and the result but not in k, v
//        (the G of the grouped spelling);
//   N  - the key/token axis: reduced by P @ V and by the softmax;
//   D  - reduced by Q . K^T;      Dv - only in V and the result.
// The match requires: q has exactly H + E + D; k has N + D and a subset of H;
// v has N + Dv and the same subset of H; the missing head atoms (KV heads
// broadcast to query heads) are the same for k and v; the result has exactly
// H + E + Dv. G is those missing atoms and E. This makes the rewrite exact
// whatever the reshapes in between.
//
// What is left alone. When a function has a contraction and a softmax (or a
// max reduction and an exp) but no match, one remark says why: the first
// failed condition of the attempt that came furthest (Matcher::Progress).
// Every failure is also printed under -debug-only=multipole-detect.
//   - more than one query token: E atoms that q and the result never merge
//     with other heads in one dimension. The arithmetic of several unmasked
//     tokens is that of grouped heads; only such a merge ([B, Hq, D] expanded
//     to [B, Hkv, G, D], or the result collapsed back) tells heads from
//     tokens. So a 4-D [B, Hkv, G, D] q with a 4-D result is taken for
//     tokens, and so is MQA spelled with unit KV heads ([B, 1, Hq, D]: no
//     head atom to merge with);
//   - no softmax, a softmax over another axis, or a scaling of P;
//   - additive masks other than a constant zero or the lengths mask above:
//     a runtime mask tensor (its values are unknown), a mask compared with a
//     constant bound (a window; it could be lens = that constant, but is
//     refused), j <= lens[b] (one key more: refused, not folded as
//     lens + 1), a 0/1 select (multiplicative), i64 or index lengths (no
//     cast is inserted), a mask fused with the scaling in one payload,
//     `linalg.index` in any other payload;
//   - axes that do not line up: P @ V or the softmax over another axis than
//     the keys, k and v repeated to the query heads differently, k or v
//     broadcast over the tokens, q broadcast over heads, D != Dv. (A
//     consistent relabeling is still attention and is converted: e.g. keys
//     stored as [H, D, N] just get a transpose.);
//   - dynamic shapes; q, k, v and the result not sharing one of bf16, f16,
//     f32; a scale that is not a positive finite constant.
// Equivalence is up to floating-point rounding: float casts on the way are
// looked through and the op computes in its own precision.
//
// The rewrite. The q, k, v operands are the deepest values of their view
// chains that share an element type with each other and with the result.
// They become `[B, Hq, D]`, `[B, Hkv, N, D]` through inserted
// reshapes and transposes (none when already in that layout), with
// Hq = Hkv * G. The batch B is the leading dimension of the key tensor when it
// is 4-D and holds only head atoms (`[B, H, N, D]` or `[B, N, H, D]`), else 1
// (flattened `[B*H, N, D]` keys become B = 1, Hkv = B*H, which computes the
// same thing). The `scale` attribute is always set, to the exact product of
// the folded constants (1.0 when there is none, since the op's default is
// 1/sqrt(D)). The result is reshaped back to the layout of the last value of
// the pattern, whose uses are replaced; the ops of the pattern that become
// dead are erased.
//
//===----------------------------------------------------------------------===//

#include "multipole/Dialect/Multipole/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/LinalgInterfaces.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/Debug.h"

#include <cmath>

#define DEBUG_TYPE "multipole-detect"

namespace mlir {
namespace multipole {
#define GEN_PASS_DEF_MULTIPOLEDETECTDECODEATTENTION
#include "multipole/Dialect/Multipole/Transforms/Passes.h.inc"
} // namespace multipole
} // namespace mlir

using namespace mlir;
using linalg::LinalgOp;

namespace {

//===----------------------------------------------------------------------===//
// Axis atoms
//===----------------------------------------------------------------------===//

using AtomList = SmallVector<unsigned, 4>;
/// Atoms of each dimension of a tensor, outer to inner.
using Layout = SmallVector<AtomList, 4>;

/// The atoms of one match. An atom that was refined stands for its parts from
/// then on, in every layout that mentions it; `flat` resolves that.
class AtomTable {
public:
  /// The atoms of a fresh dimension of `size`.
  AtomList fresh(int64_t size) {
    if (size == 1)
      return {};
    return {make(size)};
  }

  int64_t size(ArrayRef<unsigned> list) const {
    int64_t s = 1;
    for (unsigned a : flat(list))
      s *= sizes[a];
    return s;
  }

  AtomList flat(ArrayRef<unsigned> list) const {
    AtomList r;
    for (unsigned a : list)
      append(a, r);
    return r;
  }

  Layout flat(const Layout &l) const {
    Layout r;
    for (const AtomList &d : l)
      r.push_back(flat(d));
    return r;
  }

  /// All atoms of a layout, outer to inner.
  AtomList concat(const Layout &l) const {
    AtomList r;
    for (const AtomList &d : l)
      for (unsigned a : d)
        append(a, r);
    return r;
  }

  SmallVector<int64_t> shape(const Layout &l) const {
    SmallVector<int64_t> s;
    for (const AtomList &d : l)
      s.push_back(size(d));
    return s;
  }

  /// Splits `list` into consecutive groups of the given sizes (the dimensions
  /// a collapsed dimension came from, or an expanded one goes to), refining an
  /// atom when a group boundary falls inside it. Fails when the digits do not
  /// line up (e.g. 8x3 viewed as 12x2).
  LogicalResult split(ArrayRef<unsigned> list, ArrayRef<int64_t> groupSizes,
                      Layout &out) {
    AtomList todo = flat(list);
    std::reverse(todo.begin(), todo.end()); // back() is the outermost left
    for (int64_t want : groupSizes) {
      AtomList group;
      int64_t have = 1;
      while (have < want) {
        if (todo.empty())
          return failure();
        unsigned a = todo.pop_back_val();
        int64_t s = sizes[a];
        if (want % (have * s) == 0) {
          group.push_back(a);
          have *= s;
          continue;
        }
        int64_t need = want / have; // `have` always divides `want`
        if (s % need != 0)
          return failure();
        unsigned outer = make(need), inner = make(s / need);
        parts[a] = {outer, inner};
        group.push_back(outer);
        todo.push_back(inner);
        have = want;
      }
      if (have != want)
        return failure();
      out.push_back(group);
    }
    return success(todo.empty());
  }

private:
  unsigned make(int64_t size) {
    sizes.push_back(size);
    parts.emplace_back();
    return sizes.size() - 1;
  }

  void append(unsigned a, AtomList &r) const {
    if (parts[a].empty()) {
      r.push_back(a);
      return;
    }
    for (unsigned p : parts[a])
      append(p, r);
  }

  SmallVector<int64_t> sizes;
  SmallVector<SmallVector<unsigned, 2>> parts;
};

bool contains(ArrayRef<unsigned> list, unsigned a) {
  return llvm::is_contained(list, a);
}

/// Atom lists never repeat an atom, so equal sizes and inclusion suffice.
bool sameSet(ArrayRef<unsigned> a, ArrayRef<unsigned> b) {
  return a.size() == b.size() &&
         llvm::all_of(a, [&](unsigned x) { return contains(b, x); });
}

bool isSubset(ArrayRef<unsigned> a, ArrayRef<unsigned> b) {
  return llvm::all_of(a, [&](unsigned x) { return contains(b, x); });
}

AtomList join(ArrayRef<unsigned> a, ArrayRef<unsigned> b) {
  AtomList r(a.begin(), a.end());
  r.append(b.begin(), b.end());
  return r;
}

//===----------------------------------------------------------------------===//
// Op and payload helpers
//===----------------------------------------------------------------------===//

/// Static shape with no zero-sized dimension and an element count that fits
/// in int64 (the rewrite reshapes through it), or nullopt.
std::optional<ArrayRef<int64_t>> staticShape(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t || !t.hasStaticShape() || t.getRank() == 0 ||
      llvm::is_contained(t.getShape(), 0))
    return std::nullopt;
  int64_t n = 1;
  for (int64_t d : t.getShape())
    if (llvm::MulOverflow(n, d, n))
      return std::nullopt;
  return t.getShape();
}

Type elementType(Value v) { return getElementTypeOrSelf(v.getType()); }

/// A linalg op on static tensors with one result whose payload does not
/// depend on the iteration indices.
bool isStructured(LinalgOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
      op->getNumResults() != 1 || op.hasIndexSemantics() || !op.getBlock())
    return false;
  return llvm::all_of(op->getOperands(), [](Value v) {
    return isa<FloatType>(elementType(v)) && staticShape(v);
  });
}

AffineMap initMap(LinalgOp op) {
  return op.getMatchingIndexingMap(op.getDpsInitOperand(0));
}

BlockArgument initArg(LinalgOp op) {
  return op.getMatchingBlockArgument(op.getDpsInitOperand(0));
}

Value yieldedValue(LinalgOp op) {
  return op.getBlock()->getTerminator()->getOperand(0);
}

/// Looks through float conversions (they only change rounding).
Value skipCasts(Value v) {
  while (Operation *d = v.getDefiningOp()) {
    if (!isa<arith::ExtFOp, arith::TruncFOp>(d))
      break;
    v = d->getOperand(0);
  }
  return v;
}

/// The input operand whose payload argument `v` is (modulo casts).
OpOperand *inputOf(LinalgOp op, Value v) {
  auto arg = dyn_cast<BlockArgument>(skipCasts(v));
  if (!arg || arg.getOwner() != op.getBlock())
    return nullptr;
  OpOperand *o = op.getMatchingOpOperand(arg);
  return o && op.isDpsInput(o) ? o : nullptr;
}

/// Like inputOf, but only for an input read with the identity map.
OpOperand *identityInputOf(LinalgOp op, Value v) {
  OpOperand *o = inputOf(op, v);
  return o && op.getMatchingIndexingMap(o).isIdentity() ? o : nullptr;
}

bool isInitArg(LinalgOp op, Value v) { return skipCasts(v) == initArg(op); }

/// A single-input, all-parallel op whose payload yields its input (possibly
/// cast): a transpose, broadcast, copy or conversion. The result map must be a
/// permutation and the input map may only use dims or 0 on unit dims.
bool isView(LinalgOp op) {
  if (!isStructured(op) || op.getNumDpsInputs() != 1 ||
      !op.isAllParallelLoops() || !initMap(op).isPermutation())
    return false;
  OpOperand *in = op.getDpsInputOperand(0);
  AffineMap inMap = op.getMatchingIndexingMap(in);
  if (!inMap.isProjectedPermutation(/*allowZeroInResults=*/true))
    return false;
  ArrayRef<int64_t> inShape = *staticShape(in->get());
  for (auto [i, e] : llvm::enumerate(inMap.getResults()))
    if (isa<AffineConstantExpr>(e) && inShape[i] != 1)
      return false; // reads a slice, not the whole input
  return skipCasts(yieldedValue(op)) == op.getMatchingBlockArgument(in);
}

/// A view with identity maps: a copy or a float conversion.
bool isCastView(LinalgOp op) {
  return isView(op) && initMap(op).isIdentity() &&
         op.getMatchingIndexingMap(op.getDpsInputOperand(0)).isIdentity();
}

/// Looks through copies and float conversions of a whole tensor.
Value skipCastViews(Value v) {
  while (auto op = v.getDefiningOp<LinalgOp>()) {
    if (!isCastView(op))
      break;
    v = op.getDpsInputOperand(0)->get();
  }
  return v;
}

/// All-parallel op with an identity result map that does not read its init.
bool isElementwise(LinalgOp op) {
  return isStructured(op) && op.isAllParallelLoops() &&
         initMap(op).isIdentity() &&
         !op.payloadUsesValueFromOperand(op.getDpsInitOperand(0));
}

/// An op with exactly one reduction loop, returned in `dim`, whose result
/// holds one element per value of the other loops of size > 1.
bool isSingleReduction(LinalgOp op, unsigned &dim) {
  if (!isStructured(op) || op.getNumReductionLoops() != 1)
    return false;
  SmallVector<unsigned> red;
  op.getReductionDims(red);
  dim = red.front();
  AffineMap out = initMap(op);
  if (!out.isProjectedPermutation(/*allowZeroInResults=*/true) ||
      out.isFunctionOfDim(dim))
    return false;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  for (unsigned d = 0, e = op.getNumLoops(); d < e; ++d)
    if (d != dim && ranges[d] != 1 && !out.isFunctionOfDim(d))
      return false;
  return true;
}

/// Two maps read the same elements of a tensor of `shape` (results on unit
/// dimensions do not matter: they are 0 either way).
bool sameAccess(AffineMap a, AffineMap b, ArrayRef<int64_t> shape) {
  if (a.getNumDims() != b.getNumDims() || a.getNumResults() != shape.size() ||
      b.getNumResults() != shape.size())
    return false;
  for (unsigned i = 0, e = shape.size(); i < e; ++i)
    if (shape[i] != 1 && a.getResult(i) != b.getResult(i))
      return false;
  return true;
}

std::optional<APFloat> convertTo(std::optional<APFloat> v, Type t) {
  auto ft = dyn_cast<FloatType>(getElementTypeOrSelf(t));
  if (!v || !ft)
    return std::nullopt;
  bool losesInfo;
  v->convert(ft.getFloatSemantics(), APFloat::rmNearestTiesToEven, &losesInfo);
  return v;
}

/// The value of a float constant scalar or splat tensor, evaluating the float
/// conversions, fills and views on the way exactly as they would execute.
/// `v` may also be a payload argument of a linalg op bound to such a tensor.
std::optional<APFloat> constantValue(Value v) {
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    auto op = dyn_cast_or_null<LinalgOp>(arg.getOwner()->getParentOp());
    if (!op || arg.getOwner() != op.getBlock())
      return std::nullopt;
    OpOperand *o = op.getMatchingOpOperand(arg);
    if (!o || !op.isDpsInput(o))
      return std::nullopt;
    return convertTo(constantValue(o->get()), arg.getType());
  }
  Operation *d = v.getDefiningOp();
  if (!d)
    return std::nullopt;
  if (auto c = dyn_cast<arith::ConstantOp>(d)) {
    if (auto f = dyn_cast<FloatAttr>(c.getValue()))
      return f.getValue();
    if (auto dense = dyn_cast<DenseFPElementsAttr>(c.getValue()))
      if (dense.isSplat())
        return dense.getSplatValue<APFloat>();
    return std::nullopt;
  }
  if (isa<arith::ExtFOp, arith::TruncFOp>(d))
    return convertTo(constantValue(d->getOperand(0)), v.getType());
  if (auto fill = dyn_cast<linalg::FillOp>(d))
    return convertTo(constantValue(fill.value()), v.getType());
  if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(d))
    return convertTo(constantValue(d->getOperand(0)), v.getType());
  if (auto op = dyn_cast<LinalgOp>(d); op && isView(op))
    return convertTo(constantValue(op.getDpsInputOperand(0)->get()),
                     v.getType());
  return std::nullopt;
}

bool isConstant(Value v, double expected) {
  std::optional<APFloat> c = constantValue(v);
  return c && c->convertToDouble() == expected;
}

bool isZeroTensor(Value v) {
  std::optional<APFloat> c = constantValue(v);
  return c && c->isZero();
}

/// -inf or the lowest finite value: a neutral start for a max.
bool isMaxIdentity(Value v) {
  std::optional<APFloat> c = constantValue(v);
  if (!c)
    return false;
  return (c->isInfinity() && c->isNegative()) ||
         c->bitwiseIsEqual(APFloat::getLargest(c->getSemantics(), true));
}

/// The payload is `init + in0 * in1`, with only float conversions in between
/// and the add and mul in the payload itself. Stricter than upstream's
/// contraction body check, which looks through any unary op (a negation, an
/// exp) and accepts integer and complex fields.
bool isMulAddPayload(LinalgOp op) {
  auto add = skipCasts(yieldedValue(op)).getDefiningOp<arith::AddFOp>();
  if (!add || add->getBlock() != op.getBlock())
    return false;
  Value prod = isInitArg(op, add.getLhs())   ? add.getRhs()
               : isInitArg(op, add.getRhs()) ? add.getLhs()
                                             : Value();
  auto mul = prod ? skipCasts(prod).getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul)
    return false;
  OpOperand *a = inputOf(op, mul.getLhs()), *b = inputOf(op, mul.getRhs());
  return a && b && a != b;
}

/// The loops of `out[...] = init + sum over the reduction loops of in0 * in1`
/// with a zero init, by role (upstream's inferContractionDims: batch loops
/// index both inputs and the result, m only input 0 and the result, n only
/// input 1 and the result, k both inputs and not the result). The op must be
/// a contraction in upstream's sense (two inputs, a reduction loop, maps that
/// are projected permutations), every reduction loop a k loop and every
/// parallel loop index the result; the payload is checked by isMulAddPayload.
std::optional<linalg::ContractionDimensions> contractionDims(LinalgOp op) {
  if (!isStructured(op) || !linalg::isaContractionOpInterface(op) ||
      !isMulAddPayload(op) || !isZeroTensor(op.getDpsInitOperand(0)->get()))
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims))
    return std::nullopt;
  // The result map is a projected permutation: it indexes exactly the
  // parallel loops when it has as many results and no k loop.
  AffineMap out = initMap(op);
  if (dims->k.size() != op.getNumReductionLoops() ||
      out.getNumResults() != op.getNumParallelLoops() ||
      llvm::any_of(dims->k,
                   [&](unsigned d) { return out.isFunctionOfDim(d); }))
    return std::nullopt;
  return *dims;
}

bool isContraction(LinalgOp op) { return contractionDims(op).has_value(); }

/// `max(in, out)` as arith.maximumf / maxnumf, or a compare and select.
bool isMaxPayload(LinalgOp op, Value v) {
  BlockArgument in = op.getMatchingBlockArgument(op.getDpsInputOperand(0));
  BlockArgument out = initArg(op);
  auto is = [](Value x, Value arg) { return skipCasts(x) == arg; };
  auto isPair = [&](Value a, Value b) {
    return (is(a, in) && is(b, out)) || (is(a, out) && is(b, in));
  };
  v = skipCasts(v);
  if (auto m = v.getDefiningOp<arith::MaximumFOp>())
    return isPair(m.getLhs(), m.getRhs());
  if (auto m = v.getDefiningOp<arith::MaxNumFOp>())
    return isPair(m.getLhs(), m.getRhs());
  auto sel = v.getDefiningOp<arith::SelectOp>();
  if (!sel || !isPair(sel.getTrueValue(), sel.getFalseValue()))
    return false;
  auto cmp = sel.getCondition().getDefiningOp<arith::CmpFOp>();
  if (!cmp)
    return false;
  Value t = skipCasts(sel.getTrueValue()), f = skipCasts(sel.getFalseValue());
  Value l = skipCasts(cmp.getLhs()), r = skipCasts(cmp.getRhs());
  switch (cmp.getPredicate()) {
  case arith::CmpFPredicate::OGT:
  case arith::CmpFPredicate::OGE:
  case arith::CmpFPredicate::UGT:
  case arith::CmpFPredicate::UGE:
    return l == t && r == f; // select(t > f, t, f)
  case arith::CmpFPredicate::OLT:
  case arith::CmpFPredicate::OLE:
  case arith::CmpFPredicate::ULT:
  case arith::CmpFPredicate::ULE:
    return l == f && r == t; // select(f < t, t, f)
  default:
    return false;
  }
}

constexpr double kLog2e = 1.4426950408889634, kLn2 = 0.6931471805599453;

/// `x` is log2(e) to within one unit in the last place of a value of `sem`
/// in [1, 2) (so any spelling of the constant that rounds to it).
bool nearLog2e(double x, const llvm::fltSemantics &sem) {
  double ulp =
      std::ldexp(1.0, 1 - static_cast<int>(APFloat::semanticsPrecision(sem)));
  return std::abs(x - kLog2e) <= ulp;
}

/// `exp(factor * (x - m))` in the iteration space of some op: x is read with
/// the identity map, m with `mMap`. math.exp gives factor 1;
/// `exp2((x - m) * c)` with c = log2(e) gives c * ln 2; a plain
/// `exp2(x - m)` gives ln 2 and `missingLog2e`: it is a softmax only when the
/// logits x were multiplied by log2(e) before (Matcher::log2eMissing).
struct ExpSub {
  Value x, m;
  AffineMap mMap;
  double factor = 1.0;
  bool missingLog2e = false;
};

/// The operand of a math.exp or math.exp2 defining `v`, and whether it is
/// exp2.
std::optional<std::pair<Value, bool>> expOperand(Value v) {
  v = skipCasts(v);
  if (auto e = v.getDefiningOp<math::ExpOp>())
    return std::pair(e.getOperand(), false);
  if (auto e = v.getDefiningOp<math::Exp2Op>())
    return std::pair(e.getOperand(), true);
  return std::nullopt;
}

/// When `v` (a payload value of `op`) is `a * log2(e)` or `log2(e) * a`,
/// returns `a` and sets `c` to the constant; else returns `v`.
Value stripLog2e(LinalgOp op, Value v, std::optional<double> &c) {
  auto mul = skipCasts(v).getDefiningOp<arith::MulFOp>();
  if (!mul || mul->getBlock() != op.getBlock())
    return v;
  for (auto [a, k] : {std::pair(mul.getLhs(), mul.getRhs()),
                      std::pair(mul.getRhs(), mul.getLhs())}) {
    std::optional<APFloat> kv = constantValue(k);
    if (kv && nearLog2e(kv->convertToDouble(), kv->getSemantics())) {
      c = kv->convertToDouble();
      return a;
    }
  }
  return v;
}

/// `v` (a payload value of `op`) is `x - m` computed in the payload.
std::optional<ExpSub> subInPayload(LinalgOp op, Value v) {
  auto sub = skipCasts(v).getDefiningOp<arith::SubFOp>();
  if (!sub)
    return std::nullopt;
  OpOperand *x = identityInputOf(op, sub.getLhs());
  OpOperand *m = inputOf(op, sub.getRhs());
  if (!x || !m || x == m)
    return std::nullopt;
  return ExpSub{x->get(), m->get(), op.getMatchingIndexingMap(m)};
}

/// Sets the natural-base factor of `es`, an exp (or exp2 when `base2`) of
/// its subtraction times `c` (none: 1).
ExpSub withBase(ExpSub es, bool base2, std::optional<double> c) {
  es.factor = base2 ? c.value_or(1.0) * kLn2 : 1.0;
  es.missingLog2e = base2 && !c;
  return es;
}

/// `v` (a payload value of `op`) is exp(x - m), or exp2 of it times log2(e),
/// computed in the payload.
std::optional<ExpSub> expSubInPayload(LinalgOp op, Value v) {
  std::optional<std::pair<Value, bool>> e = expOperand(v);
  if (!e)
    return std::nullopt;
  std::optional<double> c;
  Value arg = e->second ? stripLog2e(op, e->first, c) : e->first;
  std::optional<ExpSub> es = subInPayload(op, arg);
  if (!es)
    return std::nullopt;
  return withBase(*es, e->second, c);
}

/// The tensor `t` is exp(x - m) (or exp2 of it, times log2(e) or not),
/// computed by one elementwise op or by an exp of a subtraction, with the
/// log2(e) multiplication in either op or in one of its own in between.
std::optional<ExpSub> expSubTensor(Value t) {
  auto op = skipCastViews(t).getDefiningOp<LinalgOp>();
  if (!op || !isElementwise(op))
    return std::nullopt;
  Value v = yieldedValue(op);
  if (std::optional<ExpSub> es = expSubInPayload(op, v))
    return es;
  std::optional<std::pair<Value, bool>> e = expOperand(v);
  if (!e)
    return std::nullopt;
  bool base2 = e->second;
  std::optional<double> c;
  Value arg = base2 ? stripLog2e(op, e->first, c) : e->first;
  for (int step = 0; step < 2; ++step) { // [log2(e) scaling,] subtraction
    OpOperand *in = identityInputOf(op, arg);
    if (!in)
      return std::nullopt;
    op = skipCastViews(in->get()).getDefiningOp<LinalgOp>();
    if (!op || !isElementwise(op))
      return std::nullopt;
    arg = yieldedValue(op);
    if (base2 && !c)
      arg = stripLog2e(op, arg, c);
    if (std::optional<ExpSub> es = subInPayload(op, arg))
      return withBase(*es, base2, c);
  }
  return std::nullopt;
}

/// -inf, the lowest finite value or anything below -1e30: what a mask adds
/// to the logits of the keys it drops (exp of it underflows to 0 for any
/// logits of a real model).
bool isMaskedValue(const APFloat &c) {
  if (c.isInfinity())
    return c.isNegative();
  return c.bitwiseIsEqual(APFloat::getLargest(c.getSemantics(), true)) ||
         (c.isFinite() && c.convertToDouble() <= -1e30);
}

/// Looks through integer conversions that keep the value of a key index or a
/// length (index_cast, index_castui, extsi, extui).
Value skipIntCasts(Value v) {
  while (Operation *d = v.getDefiningOp()) {
    if (!isa<arith::IndexCastOp, arith::IndexCastUIOp, arith::ExtSIOp,
             arith::ExtUIOp>(d))
      break;
    v = d->getOperand(0);
  }
  return v;
}

/// The predicate of `cmpi(b, a)` for `p` the predicate of `cmpi(a, b)`.
arith::CmpIPredicate swapped(arith::CmpIPredicate p) {
  using P = arith::CmpIPredicate;
  switch (p) {
  case P::slt: return P::sgt;
  case P::sgt: return P::slt;
  case P::sle: return P::sge;
  case P::sge: return P::sle;
  case P::ult: return P::ugt;
  case P::ugt: return P::ult;
  case P::ule: return P::uge;
  case P::uge: return P::ule;
  default: return p; // eq, ne
  }
}

/// An additive mask `0 for the keys n < lens[b], -inf (or very negative)
/// for the others`, generated by a linalg op: the lengths tensor and the
/// atoms of b (its dimension) and of n (the loop of the key index).
struct LensMask {
  Value lens;
  AtomList batch, keys;
};

/// A tensor read by a linalg op with a given map.
struct Access {
  Value tensor;
  AffineMap map;
};

//===----------------------------------------------------------------------===//
// Materialization
//===----------------------------------------------------------------------===//

/// Whether `from` reshapes to `to` with one collapse or expand.
bool isOneStepReshape(ArrayRef<int64_t> from, ArrayRef<int64_t> to, Type elt) {
  if (from == to || from.size() == to.size())
    return from == to;
  return getReassociationIndicesForReshape(RankedTensorType::get(from, elt),
                                           RankedTensorType::get(to, elt))
      .has_value();
}

/// One collapse or expand of `v` to `shape` (see isOneStepReshape).
Value reshapeOneStep(OpBuilder &b, Location loc, Value v,
                     ArrayRef<int64_t> shape) {
  auto src = cast<RankedTensorType>(v.getType());
  if (src.getShape() == shape)
    return v;
  auto dst = RankedTensorType::get(shape, src.getElementType());
  SmallVector<ReassociationIndices> re =
      *getReassociationIndicesForReshape(src, dst);
  if (src.getRank() > dst.getRank())
    return tensor::CollapseShapeOp::create(b, loc, dst, v, re);
  return tensor::ExpandShapeOp::create(b, loc, dst, v, re);
}

/// Reshapes `v` (same element order) to `shape`: in one collapse or expand
/// when possible, else through the shape without unit dimensions, else
/// through 1-D.
Value reshapeTo(OpBuilder &b, Location loc, Value v, ArrayRef<int64_t> shape) {
  auto src = cast<RankedTensorType>(v.getType());
  Type elt = src.getElementType();
  if (isOneStepReshape(src.getShape(), shape, elt))
    return reshapeOneStep(b, loc, v, shape);
  SmallVector<int64_t> mid;
  for (int64_t s : src.getShape())
    if (s != 1)
      mid.push_back(s);
  if (mid.empty() || !isOneStepReshape(src.getShape(), mid, elt) ||
      !isOneStepReshape(mid, shape, elt))
    mid = {src.getNumElements()};
  return reshapeOneStep(b, loc, reshapeOneStep(b, loc, v, mid), shape);
}

//===----------------------------------------------------------------------===//
// The matcher
//===----------------------------------------------------------------------===//

/// A value on a walk, the atoms of its dimensions, and the product of the
/// constant scalings folded between the walk's start and this value.
struct Point {
  Value value;
  Layout layout;
  double factor = 1.0;
};

struct DecodeMatch {
  Point q, k, v, out;
  Value lens; // i32 [B], from a mask; null when there is none
  // Canonical order of the atoms of each axis of the op.
  AtomList b, hkv, g, n, d, dv;
  double scale = 1.0;
};

/// One attempt at matching a decode attention ending in a given contraction.
class Matcher {
public:
  explicit Matcher(LinalgOp pv) : pv(pv) {}

  /// Matches with input `probIdx` of the final contraction as the
  /// probabilities (the other one is V).
  FailureOr<DecodeMatch> match(unsigned probIdx);

  /// Replaces the match and erases the ops that became dead; removes them
  /// from `live`.
  void rewrite(DecodeMatch &m, DenseSet<Operation *> &live);

  /// The reason of the first failure and how far the match had come then
  /// (see Progress); empty while nothing failed.
  const std::string &failureReason() const { return reason; }
  unsigned failureProgress() const { return failedAt; }

private:
  /// Milestones of a match, in order: a failure after a later one is a
  /// better explanation of why a function holds no decode attention.
  enum Progress : unsigned {
    Started,
    PVMatched,
    ProbabilitiesDefined, // by an op, not a function argument
    SoftmaxFound,         // something like a softmax, maybe a wrong one
    ScoresFound,
    QKMatched,
    RootsFound
  };

  LogicalResult fail(const Twine &why) {
    LLVM_DEBUG(llvm::dbgs() << "[" DEBUG_TYPE "] " << pv->getLoc()
                            << ": not decode attention with operand #" << pIdx
                            << " as the probabilities: " << why << "\n");
    if (reason.empty()) {
      reason = why.str();
      failedAt = progress;
    }
    return failure();
  }

  /// Atoms of the loops of `op` from the layout of its result; loops that do
  /// not index the result (reductions) get fresh atoms.
  SmallVector<AtomList> loopAtoms(LinalgOp op, const Layout &result);
  /// Layout of an operand read with the projected permutation `map`.
  Layout operandLayout(AffineMap map, ArrayRef<AtomList> loops);

  std::optional<Point> viewSource(const Point &p);
  std::optional<Point> viewUser(const Point &p);
  /// What an additive term on the scores is, when it is not a constant 0.
  enum class Mask { None, Runtime, NonZeroConstant };
  std::optional<Point> scaleSource(const Point &p, Mask &badMask);
  std::optional<Point> maskedSource(const Point &p, std::string &why);
  std::optional<LensMask> lensMask(LinalgOp gen, const Layout &layout,
                                   std::string &why);
  std::optional<bool> maskKeepsWhenTrue(LinalgOp gen, arith::SelectOp &sel,
                                        std::string &why);
  /// "dimension i (the keys)" for the dimension of `l` that is the key axis.
  std::string keyAxisName(const Layout &l);
  FailureOr<Point> softmaxInput(const Point &p);
  FailureOr<Point> decomposedSoftmaxInput(const Point &p);
  FailureOr<std::pair<LinalgOp, Point>> walkToScores(Point p);
  SmallVector<Point> walkToRoot(Point p, bool foldScales);

  // The phases of `match`.
  struct Operands;
  /// P @ V: the probabilities `p`, V, the result, and the axes H, E, Dv, N.
  LogicalResult matchPV(Operands &ops, Point &p);
  /// From P back through softmax and scaling to Q . K^T: Q, K and the axis D.
  LogicalResult matchQK(Operands &ops, Point p);
  /// Whether the query-only heads E are heads of a KV group (not tokens).
  LogicalResult checkQueryOnlyHeads(const Operands &ops,
                                    ArrayRef<Point> qPath,
                                    ArrayRef<Point> outPath);
  /// q, k, v and the result at their roots (views and casts looked through).
  LogicalResult findRoots(const Operands &ops, DecodeMatch &m);
  /// Broadcast checks, the canonical order of each axis, and the scale.
  LogicalResult assignRoles(const Operands &ops, DecodeMatch &m);

  /// The key axis: the atoms of `dim` are exactly N.
  bool isKeyAxis(const AtomList &dim) {
    return sameSet(atoms.flat(dim), atoms.flat(n));
  }

  LinalgOp pv;
  unsigned pIdx = 0;
  /// The softmax is `exp2(x - max x) / sum` and no scaling by log2(e) has
  /// been folded yet (one on the scores, q or k makes it a softmax of x).
  bool log2eMissing = false;
  /// The additive mask built from lengths, once found on the scores.
  std::optional<LensMask> mask;
  AtomTable atoms;
  AtomList n;
  unsigned progress = Started, failedAt = Started;
  std::string reason;
};

SmallVector<AtomList> Matcher::loopAtoms(LinalgOp op, const Layout &result) {
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  SmallVector<AtomList> loops(op.getNumLoops());
  SmallVector<bool> seen(op.getNumLoops(), false);
  AffineMap out = initMap(op);
  for (unsigned i = 0, e = out.getNumResults(); i < e; ++i) {
    unsigned d = out.getDimPosition(i);
    loops[d] = result[i];
    seen[d] = true;
  }
  for (unsigned d = 0, e = op.getNumLoops(); d < e; ++d)
    if (!seen[d])
      loops[d] = atoms.fresh(ranges[d]);
  return loops;
}

Layout Matcher::operandLayout(AffineMap map, ArrayRef<AtomList> loops) {
  Layout l;
  for (AffineExpr e : map.getResults()) {
    if (auto d = dyn_cast<AffineDimExpr>(e))
      l.push_back(loops[d.getPosition()]);
    else
      l.push_back({}); // constant 0 on a unit dimension
  }
  return l;
}

/// One step back through a view op: the source and its layout.
std::optional<Point> Matcher::viewSource(const Point &p) {
  Operation *def = p.value.getDefiningOp();
  if (!def)
    return std::nullopt;
  Layout src;
  Value srcValue;
  if (auto c = dyn_cast<tensor::CollapseShapeOp>(def)) {
    srcValue = c.getSrc();
    std::optional<ArrayRef<int64_t>> shape = staticShape(srcValue);
    if (!shape)
      return std::nullopt;
    for (auto [i, group] : llvm::enumerate(c.getReassociationIndices())) {
      SmallVector<int64_t> sizes;
      for (int64_t s : group)
        sizes.push_back((*shape)[s]);
      if (failed(atoms.split(p.layout[i], sizes, src)))
        return std::nullopt;
    }
  } else if (auto x = dyn_cast<tensor::ExpandShapeOp>(def)) {
    srcValue = x.getSrc();
    if (!staticShape(srcValue) || !staticShape(x.getResult()))
      return std::nullopt;
    for (const ReassociationIndices &group : x.getReassociationIndices()) {
      AtomList l;
      for (int64_t r : group)
        l.append(atoms.flat(p.layout[r]));
      src.push_back(l);
    }
  } else if (auto op = dyn_cast<LinalgOp>(def); op && isView(op)) {
    OpOperand *in = op.getDpsInputOperand(0);
    srcValue = in->get();
    src = operandLayout(op.getMatchingIndexingMap(in),
                        loopAtoms(op, p.layout));
  } else {
    return std::nullopt;
  }
  return Point{srcValue, src, p.factor};
}

/// One step forward through the only user of `p`, when it is a view op in the
/// same block.
std::optional<Point> Matcher::viewUser(const Point &p) {
  Value value = p.value;
  if (!value.hasOneUse())
    return std::nullopt;
  OpOperand &use = *value.getUses().begin();
  Operation *user = use.getOwner();
  if (user->getBlock() != value.getParentBlock())
    return std::nullopt;
  Layout res;
  if (auto c = dyn_cast<tensor::CollapseShapeOp>(user)) {
    if (!staticShape(c.getResult()))
      return std::nullopt;
    for (const ReassociationIndices &group : c.getReassociationIndices()) {
      AtomList l;
      for (int64_t s : group)
        l.append(atoms.flat(p.layout[s]));
      res.push_back(l);
    }
  } else if (auto x = dyn_cast<tensor::ExpandShapeOp>(user)) {
    std::optional<ArrayRef<int64_t>> shape = staticShape(x.getResult());
    if (!shape)
      return std::nullopt;
    for (auto [i, group] : llvm::enumerate(x.getReassociationIndices())) {
      SmallVector<int64_t> sizes;
      for (int64_t r : group)
        sizes.push_back((*shape)[r]);
      if (failed(atoms.split(p.layout[i], sizes, res)))
        return std::nullopt;
    }
  } else if (auto op = dyn_cast<LinalgOp>(user);
             op && isView(op) && &use == op.getDpsInputOperand(0)) {
    // Forward only through permutations: no broadcast of the result.
    AffineMap inMap = op.getMatchingIndexingMap(&use);
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    SmallVector<AtomList> loops(op.getNumLoops());
    SmallVector<bool> seen(op.getNumLoops(), false);
    for (auto [i, e] : llvm::enumerate(inMap.getResults()))
      if (auto d = dyn_cast<AffineDimExpr>(e)) {
        loops[d.getPosition()] = p.layout[i];
        seen[d.getPosition()] = true;
      }
    for (unsigned d = 0, e = op.getNumLoops(); d < e; ++d)
      if (!seen[d] && ranges[d] != 1)
        return std::nullopt;
    res = operandLayout(initMap(op), loops);
  } else {
    return std::nullopt;
  }
  return Point{user->getResult(0), res, p.factor};
}

/// One step back through an elementwise scaling by a constant (`x * c`,
/// `c * x`, `x / c`) or an addition of a constant zero. Sets `badMask` when
/// the op adds anything else to its input.
std::optional<Point> Matcher::scaleSource(const Point &p, Mask &badMask) {
  auto op = p.value.getDefiningOp<LinalgOp>();
  if (!op || !isElementwise(op))
    return std::nullopt;
  Operation *body = skipCasts(yieldedValue(op)).getDefiningOp();
  if (!body || body->getBlock() != op.getBlock() ||
      !isa<arith::MulFOp, arith::DivFOp, arith::AddFOp, arith::SubFOp>(body))
    return std::nullopt;
  Value lhs = body->getOperand(0), rhs = body->getOperand(1);
  bool commutative = isa<arith::MulFOp, arith::AddFOp>(body);
  OpOperand *main = identityInputOf(op, lhs);
  Value other = rhs;
  std::optional<APFloat> c = main ? constantValue(other) : std::nullopt;
  // `c * x`, also when the constant is a splat tensor read like x.
  if (!c && commutative && identityInputOf(op, rhs) &&
      (c = constantValue(lhs))) {
    main = identityInputOf(op, rhs);
    other = lhs;
  }
  if (!main && commutative) {
    main = identityInputOf(op, rhs);
    other = lhs;
  }
  if (!main)
    return std::nullopt;
  if (!c)
    c = constantValue(other); // casts are evaluated
  double factor;
  if (isa<arith::AddFOp, arith::SubFOp>(body)) {
    if (!c || !c->isZero()) {
      badMask = c ? Mask::NonZeroConstant : Mask::Runtime;
      return std::nullopt;
    }
    factor = 1.0;
  } else {
    if (!c || !c->isFiniteNonZero())
      return std::nullopt;
    factor = c->convertToDouble();
    if (isa<arith::DivFOp>(body))
      factor = 1.0 / factor;
    if (log2eMissing && nearLog2e(factor, c->getSemantics()))
      log2eMissing = false; // the log2(e) of an exp2 softmax
  }
  return Point{main->get(), p.layout, p.factor * factor};
}

/// One step back through `x + mask` (either order) where the mask, through
/// views, is generated by a linalg op that reads the loop indices: records
/// the mask when it is a LensMask. Sets `why` when it is such a generated
/// mask but not one that `lens` expresses; nullopt with `why` empty when the
/// op is not an addition of a generated mask.
std::optional<Point> Matcher::maskedSource(const Point &p, std::string &why) {
  auto op = p.value.getDefiningOp<LinalgOp>();
  if (!op || !isElementwise(op))
    return std::nullopt;
  auto add = skipCasts(yieldedValue(op)).getDefiningOp<arith::AddFOp>();
  if (!add || add->getBlock() != op.getBlock())
    return std::nullopt;
  for (auto [a, b] : {std::pair(add.getLhs(), add.getRhs()),
                      std::pair(add.getRhs(), add.getLhs())}) {
    OpOperand *x = identityInputOf(op, a), *mk = inputOf(op, b);
    if (!x || !mk || x == mk)
      continue;
    AffineMap map = op.getMatchingIndexingMap(mk);
    ArrayRef<int64_t> shape = *staticShape(mk->get());
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/true) ||
        llvm::any_of(llvm::enumerate(map.getResults()), [&](auto e) {
          return isa<AffineConstantExpr>(e.value()) && shape[e.index()] != 1;
        }))
      continue;
    Point mp{mk->get(), operandLayout(map, loopAtoms(op, p.layout))};
    while (std::optional<Point> src = viewSource(mp))
      mp = *src;
    auto gen = mp.value.getDefiningOp<LinalgOp>();
    if (!gen || !gen.hasIndexSemantics())
      continue;
    if (mask) {
      why = "the scores get two masks built from lengths";
      return std::nullopt;
    }
    mask = lensMask(gen, mp.layout, why);
    if (!mask)
      return std::nullopt;
    return Point{x->get(), p.layout, p.factor};
  }
  return std::nullopt;
}

/// Whether the mask `gen` yields `select(cond, 0, -inf)` (true: the kept keys
/// are where `cond` holds) or `select(cond, -inf, 0)` (false), -inf standing
/// for any isMaskedValue. Sets `sel`.
std::optional<bool> Matcher::maskKeepsWhenTrue(LinalgOp gen,
                                               arith::SelectOp &sel,
                                               std::string &why) {
  sel = skipCasts(yieldedValue(gen)).getDefiningOp<arith::SelectOp>();
  std::optional<APFloat> t, f;
  if (sel && isa<FloatType>(sel.getType())) {
    t = constantValue(sel.getTrueValue());
    f = constantValue(sel.getFalseValue());
  }
  if (t && f && t->isZero() && isMaskedValue(*f))
    return true;
  if (t && f && f->isZero() && isMaskedValue(*t))
    return false;
  why = "the scores get an additive mask computed from the loop indices "
        "whose values are not provably 0 and -inf (a select between 0 and "
        "-inf, the lowest finite value or a constant below -1e30)";
  return std::nullopt;
}

/// The mask generated by `gen` (whose result has `layout`) when it is
/// `0 where n < lens[b], -inf elsewhere` (see LensMask), spelled
/// `select(cmpi slt|ult (index n, lens[b]), 0, -inf)`, the cmpi operands in
/// either order or `select(cmpi sge|uge (...), -inf, 0)`; integer casts of
/// the index and the length are looked through.
std::optional<LensMask> Matcher::lensMask(LinalgOp gen, const Layout &layout,
                                          std::string &why) {
  if (!gen.hasPureTensorSemantics() || gen.getNumDpsInits() != 1 ||
      gen->getNumResults() != 1 || !gen.getBlock() ||
      !gen.isAllParallelLoops() || !initMap(gen).isPermutation() ||
      gen.payloadUsesValueFromOperand(gen.getDpsInitOperand(0)) ||
      !staticShape(gen->getResult(0))) {
    why = "the scores get an additive mask computed from the loop indices "
          "by an op that is not an elementwise linalg op";
    return std::nullopt;
  }
  arith::SelectOp sel;
  std::optional<bool> keepWhenTrue = maskKeepsWhenTrue(gen, sel, why);
  if (!keepWhenTrue)
    return std::nullopt;
  auto cmp = sel.getCondition().getDefiningOp<arith::CmpIOp>();
  Value l = cmp ? skipIntCasts(cmp.getLhs()) : Value();
  Value r = cmp ? skipIntCasts(cmp.getRhs()) : Value();
  auto pred = cmp ? cmp.getPredicate() : arith::CmpIPredicate::eq;
  auto idx = l ? l.getDefiningOp<linalg::IndexOp>() : nullptr;
  if (!idx && r && (idx = r.getDefiningOp<linalg::IndexOp>())) {
    std::swap(l, r);
    pred = swapped(pred);
  }
  OpOperand *lensIn = idx ? inputOf(gen, r) : nullptr;
  if (!idx || idx->getBlock() != gen.getBlock() || !lensIn) {
    why = "the scores get a mask that does not compare a key index with "
          "lengths read from a tensor (a constant bound is not taken for "
          "`lens`)";
    return std::nullopt;
  }
  using P = arith::CmpIPredicate;
  bool keepsPrefix = *keepWhenTrue ? (pred == P::slt || pred == P::ult)
                                   : (pred == P::sge || pred == P::uge);
  bool oneMore = *keepWhenTrue ? (pred == P::sle || pred == P::ule)
                               : (pred == P::sgt || pred == P::ugt);
  if (oneMore) {
    why = "the mask keeps the keys j <= lens[b], one more than `lens` "
          "counts (j < lens[b])";
    return std::nullopt;
  }
  if (!keepsPrefix) {
    why = "the mask does not keep exactly the keys j < lens[b]";
    return std::nullopt;
  }
  auto lensType = dyn_cast<RankedTensorType>(lensIn->get().getType());
  if (!lensType || lensType.getRank() != 1 ||
      !lensType.getElementType().isInteger(32)) {
    why = "the lengths of the mask are not a 1-D i32 tensor (the op's "
          "`lens` is i32 [B]; cast them to i32 first)";
    return std::nullopt;
  }
  AffineMap lensMap = gen.getMatchingIndexingMap(lensIn);
  if (!lensMap.isProjectedPermutation(/*allowZeroInResults=*/true) ||
      (isa<AffineConstantExpr>(lensMap.getResult(0)) &&
       lensType.getDimSize(0) != 1)) {
    why = "the mask reads the lengths with a map that is not a projection";
    return std::nullopt;
  }
  SmallVector<AtomList> loops = loopAtoms(gen, layout);
  return LensMask{lensIn->get(), operandLayout(lensMap, loops)[0],
                  loops[idx.getDim()]};
}

/// An op's name, with the payload op yielded by a linalg op.
std::string describe(Operation *op) {
  std::string s = op->getName().getStringRef().str();
  if (auto l = dyn_cast<LinalgOp>(op); l && l.getBlock())
    if (Operation *y = skipCasts(yieldedValue(l)).getDefiningOp();
        y && y->getBlock() == l.getBlock())
      s += " (" + y->getName().getStringRef().str() + ")";
  return s;
}

std::string Matcher::keyAxisName(const Layout &l) {
  for (auto [i, dim] : llvm::enumerate(l))
    if (isKeyAxis(dim))
      return ("dimension " + Twine(i) + " (the keys)").str();
  return "other dimensions (the keys)";
}

/// One step back through a softmax over the key axis.
FailureOr<Point> Matcher::softmaxInput(const Point &p) {
  if (auto sm = p.value.getDefiningOp<linalg::SoftmaxOp>()) {
    progress = SoftmaxFound;
    if (!staticShape(sm.getInput()) || !staticShape(sm.getOutput()))
      return fail("linalg.softmax with a dynamic shape");
    if (!isKeyAxis(p.layout[sm.getDimension()]))
      return fail("the softmax is over dimension " +
                  Twine(sm.getDimension()) +
                  " of the probabilities, but the contraction with V sums "
                  "over " + keyAxisName(p.layout));
    return Point{sm.getInput(), p.layout, p.factor};
  }
  return decomposedSoftmaxInput(p);
}

/// `p = e / sum_N(e)` or `e * (1 / sum_N(e))` with `e = exp(x - max_N(x))`.
FailureOr<Point> Matcher::decomposedSoftmaxInput(const Point &p) {
  auto norm = p.value.getDefiningOp<LinalgOp>();
  if (!norm || !isElementwise(norm))
    return fail("there is no softmax (linalg.softmax, or exp(x - max) / sum) "
                "before the contraction with V");
  Value y = skipCasts(yieldedValue(norm));
  std::optional<ExpSub> numer;
  std::optional<Access> denom;
  auto access = [&](LinalgOp op, Value v) -> std::optional<Access> {
    if (OpOperand *o = inputOf(op, v))
      return Access{o->get(), op.getMatchingIndexingMap(o)};
    return std::nullopt;
  };
  auto numerator = [&](Value v) -> std::optional<ExpSub> {
    if (OpOperand *o = identityInputOf(norm, v))
      return expSubTensor(o->get());
    return expSubInPayload(norm, v);
  };
  // The sum that `v` (a factor of the normalization) is the reciprocal of.
  auto reciprocal = [&](Value v) -> std::optional<Access> {
    auto div = skipCasts(v).getDefiningOp<arith::DivFOp>();
    if (div && div->getBlock() == norm.getBlock()) // 1 / s in the payload
      return isConstant(div.getLhs(), 1.0) ? access(norm, div.getRhs())
                                           : std::nullopt;
    std::optional<Access> r = access(norm, v); // 1 / s in an op of its own
    if (!r)
      return std::nullopt;
    auto rop = skipCastViews(r->tensor).getDefiningOp<LinalgOp>();
    if (!rop || !isElementwise(rop))
      return std::nullopt;
    auto rdiv = skipCasts(yieldedValue(rop)).getDefiningOp<arith::DivFOp>();
    OpOperand *s = rdiv ? identityInputOf(rop, rdiv.getRhs()) : nullptr;
    if (!s || !isConstant(rdiv.getLhs(), 1.0))
      return std::nullopt;
    return Access{s->get(), r->map};
  };
  if (auto div = y.getDefiningOp<arith::DivFOp>()) {
    numer = numerator(div.getLhs());
    denom = access(norm, div.getRhs());
  } else if (auto mul = y.getDefiningOp<arith::MulFOp>()) {
    for (auto [a, b] : {std::pair(mul.getLhs(), mul.getRhs()),
                        std::pair(mul.getRhs(), mul.getLhs())}) {
      if ((denom = reciprocal(b)) && (numer = numerator(a)))
        break;
    }
  }
  if (!numer || !denom)
    return fail("there is no softmax before the contraction with V (the "
                "probabilities are not exp(x - max) / sum)");
  progress = SoftmaxFound;

  // The denominator: sum over the key axis of the same exp(x - m).
  unsigned r;
  auto sum = skipCastViews(denom->tensor).getDefiningOp<LinalgOp>();
  if (!sum || !isSingleReduction(sum, r) ||
      !isZeroTensor(sum.getDpsInitOperand(0)->get()))
    return fail("softmax denominator is not a zero-initialized reduction");
  auto add = skipCasts(yieldedValue(sum)).getDefiningOp<arith::AddFOp>();
  Value term = !add                          ? Value()
               : isInitArg(sum, add.getLhs()) ? add.getRhs()
               : isInitArg(sum, add.getRhs()) ? add.getLhs()
                                             : Value();
  std::optional<ExpSub> summed;
  if (term) {
    if (OpOperand *o = identityInputOf(sum, term))
      summed = expSubTensor(o->get());
    else
      summed = expSubInPayload(sum, term);
  }
  ArrayRef<int64_t> shape = *staticShape(p.value);
  ArrayRef<int64_t> mShape = *staticShape(numer->m);
  if (!summed || skipCastViews(summed->x) != skipCastViews(numer->x) ||
      skipCastViews(summed->m) != skipCastViews(numer->m) ||
      !sameAccess(summed->mMap, numer->mMap, mShape) ||
      summed->factor != numer->factor ||
      summed->missingLog2e != numer->missingLog2e)
    return fail("softmax denominator does not sum the numerator");
  if (ArrayRef<int64_t>(sum.getStaticLoopRanges()) != shape ||
      !sameAccess(initMap(sum), denom->map, *staticShape(denom->tensor)))
    return fail("softmax denominator is not read back where it was reduced");
  if (!isKeyAxis(p.layout[r]))
    return fail("the softmax is over dimension " + Twine(r) +
                " of the probabilities, but the contraction with V sums "
                "over " + keyAxisName(p.layout));

  // The stabilizer: max over the same axis of the same x.
  unsigned rm;
  auto max = skipCastViews(numer->m).getDefiningOp<LinalgOp>();
  if (!max || !isSingleReduction(max, rm) || max.getNumDpsInputs() != 1 ||
      rm != r || !isMaxIdentity(max.getDpsInitOperand(0)->get()) ||
      !isMaxPayload(max, yieldedValue(max)))
    return fail("softmax does not subtract a max over the key axis");
  OpOperand *maxIn = max.getDpsInputOperand(0);
  if (!max.getMatchingIndexingMap(maxIn).isIdentity() ||
      skipCastViews(maxIn->get()) != skipCastViews(numer->x) ||
      !sameAccess(initMap(max), numer->mMap, mShape))
    return fail("softmax max is not taken over the softmax input");

  // exp2(c * (x - max x)) / sum is softmax(c * ln 2 * x): c * ln 2 is one
  // more scaling of the logits.
  log2eMissing = numer->missingLog2e;
  return Point{numer->x, p.layout, p.factor * numer->factor};
}

/// Walks back from the probabilities through views, one softmax, then views,
/// constant scalings and zero masks, to the contraction computing the scores.
FailureOr<std::pair<LinalgOp, Point>> Matcher::walkToScores(Point p) {
  bool softmaxSeen = false;
  while (true) {
    if (std::optional<Point> src = viewSource(p)) {
      p = *src;
      continue;
    }
    Operation *def = p.value.getDefiningOp();
    if (!def && !softmaxSeen)
      return fail("the contraction reads a function argument where the "
                  "softmax probabilities would be");
    if (!def)
      return fail("the softmax input is a function argument, not the scores "
                  "Q.K^T");
    if (!softmaxSeen) {
      progress = ProbabilitiesDefined;
      Mask ignored = Mask::None;
      if (scaleSource(p, ignored))
        return fail("the probabilities are scaled by a constant before the "
                    "contraction with V (c * P @ V is not attention)");
      FailureOr<Point> in = softmaxInput(p);
      if (failed(in))
        return failure();
      p = *in;
      softmaxSeen = true;
      continue;
    }
    if (auto op = dyn_cast<LinalgOp>(def); op && isContraction(op))
      return std::pair(op, p);
    std::string maskWhy;
    if (std::optional<Point> src = maskedSource(p, maskWhy)) {
      p = *src;
      continue;
    }
    if (!maskWhy.empty())
      return fail(maskWhy);
    Mask badMask = Mask::None;
    if (std::optional<Point> src = scaleSource(p, badMask)) {
      p = *src;
      continue;
    }
    if (badMask == Mask::Runtime)
      return fail("the scores get an additive mask that is a runtime tensor "
                  "whose values are unknown; only a constant-zero mask can be "
                  "dropped (pass the lengths as `lens` instead of a padding "
                  "mask)");
    if (badMask == Mask::NonZeroConstant)
      return fail("the scores get an additive mask that is a constant other "
                  "than zero; only a constant-zero mask can be dropped");
    return fail("the scores pass through " + describe(def) + " between Q.K^T and the softmax; only multiplications or "
                "divisions by a constant and constant-zero masks can be "
                "there");
  }
}

/// Walks back from a contraction operand through views (and, when
/// `foldScales`, constant scalings), returning every value passed.
SmallVector<Point> Matcher::walkToRoot(Point p, bool foldScales) {
  SmallVector<Point> path{p};
  while (true) {
    std::optional<Point> src = viewSource(path.back());
    Mask badMask = Mask::None;
    if (!src && foldScales)
      src = scaleSource(path.back(), badMask);
    if (!src)
      return path;
    path.push_back(*src);
  }
}

/// The attention's operands as found at the contractions, with the atoms of
/// each axis role: heads H (in q, k, v and the result), query-only heads E
/// (in q and the result but not in k and v: the G of grouped-query attention
/// spelled with q as [B, Hkv, G, D], or several query tokens), value
/// dimension Dv, reduced dimension D (the key axis N is the member `n`), and
/// the scores' folded scaling.
struct Matcher::Operands {
  Point q, k, v, result;
  AtomList h, e, d, dv;
  double scoresFactor = 1.0;
};

FailureOr<DecodeMatch> Matcher::match(unsigned probIdx) {
  pIdx = probIdx;
  Operands ops;
  Point p;
  if (failed(matchPV(ops, p)))
    return failure();
  progress = PVMatched;
  if (failed(matchQK(ops, p)))
    return failure();
  progress = QKMatched;
  DecodeMatch m;
  if (failed(findRoots(ops, m)))
    return failure();
  progress = RootsFound;
  if (failed(assignRoles(ops, m)))
    return failure();
  return m;
}

LogicalResult Matcher::matchPV(Operands &ops, Point &p) {
  // P @ V: the result's loops are heads (in P and V), query-only heads (in P
  // only) or Dv (in V only).
  Value result = pv->getResult(0);
  Layout resultLayout;
  ArrayRef<int64_t> resultShape = *staticShape(result);
  for (int64_t s : resultShape)
    resultLayout.push_back(atoms.fresh(s));
  SmallVector<AtomList> pvLoops = loopAtoms(pv, resultLayout);
  AffineMap pMap = pv.getMatchingIndexingMap(pv.getDpsInputOperand(pIdx));
  AffineMap vMap = pv.getMatchingIndexingMap(pv.getDpsInputOperand(1 - pIdx));
  linalg::ContractionDimensions dims = *contractionDims(pv); // a candidate
  // Loops in V and the result only: m when V is input 0, else n.
  ArrayRef<unsigned> vOnly = pIdx == 0 ? dims.n : dims.m;
  ArrayRef<unsigned> pOnly = pIdx == 0 ? dims.m : dims.n;
  for (unsigned d = 0, e = pv.getNumLoops(); d < e; ++d) {
    if (pvLoops[d].empty())
      continue;
    if (llvm::is_contained(dims.k, d))
      n.append(pvLoops[d]);
    else if (llvm::is_contained(dims.batch, d))
      ops.h.append(pvLoops[d]);
    else if (llvm::is_contained(vOnly, d))
      ops.dv.append(pvLoops[d]);
    else if (llvm::is_contained(pOnly, d))
      ops.e.append(pvLoops[d]);
    else
      return fail("the contraction with V has a loop that neither input "
                  "reads");
  }
  p = Point{pv.getDpsInputOperand(pIdx)->get(), operandLayout(pMap, pvLoops)};
  ops.v = Point{pv.getDpsInputOperand(1 - pIdx)->get(),
                operandLayout(vMap, pvLoops)};
  ops.result = Point{result, resultLayout};
  return success();
}

LogicalResult Matcher::matchQK(Operands &ops, Point p) {
  // softmax, scaling, then Q . K^T.
  auto scores = walkToScores(p);
  if (failed(scores))
    return failure();
  progress = ScoresFound;
  auto [qk, s] = *scores;
  ops.scoresFactor = s.factor;
  AtomList heads = join(ops.h, ops.e);
  if (!sameSet(atoms.concat(s.layout), atoms.flat(join(heads, n))))
    return fail("the scores Q.K^T are not indexed by exactly the heads and "
                "the keys of the contraction with V");
  SmallVector<AtomList> qkLoops = loopAtoms(qk, s.layout);
  // (bound to a local: a range-for over a member of the temporary optional
  // would read it after its destruction)
  linalg::ContractionDimensions qkDims = *contractionDims(qk); // a candidate
  for (unsigned l : qkDims.k) // the reduction loops, sorted
    ops.d.append(qkLoops[l]);
  Layout in0 = operandLayout(
      qk.getMatchingIndexingMap(qk.getDpsInputOperand(0)), qkLoops);
  Layout in1 = operandLayout(
      qk.getMatchingIndexingMap(qk.getDpsInputOperand(1)), qkLoops);
  unsigned kIdx = llvm::any_of(atoms.concat(in0), [&](unsigned a) {
    return contains(atoms.flat(n), a);
  }) ? 0 : 1;
  ops.q = Point{qk.getDpsInputOperand(1 - kIdx)->get(), kIdx ? in0 : in1};
  ops.k = Point{qk.getDpsInputOperand(kIdx)->get(), kIdx ? in1 : in0};
  if (!sameSet(atoms.concat(ops.q.layout), atoms.flat(join(heads, ops.d))))
    return fail("the query of Q.K^T is not indexed by exactly the heads and "
                "the head dimension (does Q.K^T sum over the keys?)");
  AtomList ka = atoms.concat(ops.k.layout), e = atoms.flat(ops.e);
  if (llvm::any_of(ka, [&](unsigned a) { return contains(e, a); }))
    return fail("the keys and the values are read by different heads (every "
                "query head must read the keys and the values of one KV "
                "head)");
  if (!sameSet(ka, atoms.flat(join(join(ops.h, n), ops.d))))
    return fail("the keys of Q.K^T are not indexed by exactly the heads, the "
                "tokens and the head dimension");
  return success();
}

/// Query-only heads E (in q and the result, not in k and v) are the query
/// heads of a KV group when q or the result merges them with other heads in
/// one dimension somewhere on its view chain (`[B, Hkv * G, D]` expanded to
/// `[B, Hkv, G, D]`, or collapsed back). Otherwise they are taken for query
/// tokens: the same arithmetic, but not decode, and usually masked.
LogicalResult Matcher::checkQueryOnlyHeads(const Operands &ops,
                                           ArrayRef<Point> qPath,
                                           ArrayRef<Point> outPath) {
  if (ops.e.empty())
    return success();
  AtomList e = atoms.flat(ops.e), h = atoms.flat(ops.h);
  auto mergedDim = [&](const AtomList &dim) {
    AtomList f = atoms.flat(dim);
    return llvm::any_of(f, [&](unsigned a) { return contains(e, a); }) &&
           llvm::any_of(f, [&](unsigned a) { return contains(h, a); });
  };
  auto merges = [&](ArrayRef<Point> path) {
    return llvm::any_of(path, [&](const Point &pt) {
      return llvm::any_of(pt.layout, mergedDim);
    });
  };
  if (merges(qPath) || merges(outPath))
    return success();
  return fail("the query has " + Twine(atoms.size(e)) +
              " tokens (one is required); if these are the query heads of "
              "one KV head (grouped-query attention), q or the result must "
              "show it by merging them with the KV heads, as in "
              "[B, Hkv * G, D]");
}

LogicalResult Matcher::findRoots(const Operands &ops, DecodeMatch &m) {
  // Back to the roots; forward to the last value of the result.
  SmallVector<Point> qPath = walkToRoot(ops.q, /*foldScales=*/true);
  SmallVector<Point> kPath = walkToRoot(ops.k, /*foldScales=*/true);
  SmallVector<Point> vPath = walkToRoot(ops.v, /*foldScales=*/false);
  SmallVector<Point> outPath{ops.result};
  while (std::optional<Point> next = viewUser(outPath.back()))
    outPath.push_back(*next);
  if (failed(checkQueryOnlyHeads(ops, qPath, outPath)))
    return failure();

  // The deepest roots and the last result sharing an element type.
  auto deepest = [](ArrayRef<Point> path, Type t) -> const Point * {
    for (const Point &pt : llvm::reverse(path))
      if (elementType(pt.value) == t)
        return &pt;
    return nullptr;
  };
  bool found = false;
  for (const Point &qp : llvm::reverse(qPath)) {
    Type t = elementType(qp.value);
    const Point *kp = deepest(kPath, t), *vp = deepest(vPath, t),
                *op = deepest(outPath, t);
    if (!kp || !vp || !op || !(t.isBF16() || t.isF16() || t.isF32()))
      continue;
    m.q = qp;
    m.k = *kp;
    m.v = *vp;
    m.out = *op;
    found = true;
    break;
  }
  if (!found)
    return fail("q, k, v and the result do not share an element type among "
                "bf16, f16 and f32");
  for (const Point *pt : {&m.q, &m.k, &m.v, &m.out})
    if (!staticShape(pt->value))
      return fail("dynamic or 0-d shapes are not supported");
  return success();
}

LogicalResult Matcher::assignRoles(const Operands &ops, DecodeMatch &m) {
  // Roles of the atoms at the roots.
  AtomList h = atoms.flat(ops.h), e = atoms.flat(ops.e),
           d = atoms.flat(ops.d), dv = atoms.flat(ops.dv);
  AtomList heads = join(h, e);
  n = atoms.flat(n);
  AtomList qa = atoms.concat(m.q.layout), ka = atoms.concat(m.k.layout),
           va = atoms.concat(m.v.layout), oa = atoms.concat(m.out.layout);
  if (!sameSet(qa, join(heads, d)))
    return fail("the query is one vector broadcast over several heads or "
                "over the head dimension");
  if (!isSubset(ka, join(join(h, n), d)) || !isSubset(join(n, d), ka))
    return fail("the keys are broadcast over the tokens or the head "
                "dimension");
  if (!isSubset(va, join(join(h, n), dv)) || !isSubset(join(n, dv), va))
    return fail("the values are broadcast over the tokens or the head "
                "dimension");
  AtomList gk, gv;
  for (unsigned a : h) {
    if (!contains(ka, a))
      gk.push_back(a);
    if (!contains(va, a))
      gv.push_back(a);
  }
  if (!sameSet(gk, gv))
    return fail("the keys and the values are repeated to the query heads "
                "differently, so a query head would read the keys of one KV "
                "head and the values of another");
  if (!sameSet(oa, join(heads, dv)))
    return fail("the result is not indexed by exactly the heads and the "
                "value dimension");
  if (atoms.size(d) != atoms.size(dv))
    return fail("the head dimension of the values (" +
                Twine(atoms.size(dv)) + ") differs from that of the keys (" +
                Twine(atoms.size(d)) + ")");

  // Canonical order: B then Hkv in key order, G in query order, N and D in
  // key order, Dv in value order. With a mask, B is the lengths' dimension.
  if (mask) {
    AtomList mb = atoms.flat(mask->batch);
    if (!isSubset(mb, h) || !isSubset(mb, ka))
      return fail("the lengths of the mask are not indexed by batch "
                  "dimensions of the keys");
    m.b = mb;
    m.lens = mask->lens;
  } else if (m.k.layout.size() == 4) {
    AtomList lead = atoms.flat(m.k.layout[0]);
    if (!lead.empty() && isSubset(lead, h))
      m.b = lead;
  }
  for (unsigned a : ka) {
    if (contains(h, a) && !contains(m.b, a))
      m.hkv.push_back(a);
    if (contains(n, a))
      m.n.push_back(a);
    if (contains(d, a))
      m.d.push_back(a);
  }
  for (unsigned a : qa)
    if (contains(gk, a) || contains(e, a))
      m.g.push_back(a);
  for (unsigned a : va)
    if (contains(dv, a))
      m.dv.push_back(a);
  if (mask && atoms.flat(mask->keys) != m.n)
    return fail("the key index of the mask is not the position in the "
                "keys");

  if (log2eMissing)
    return fail("the softmax is computed with exp2 but the logits are not "
                "multiplied by log2(e) = 1.4426950408889634 (exp2(x) is not "
                "exp(x))");
  m.scale = ops.scoresFactor * m.q.factor * m.k.factor;
  if (!std::isfinite(m.scale) || !(m.scale > 0.0) ||
      !std::isfinite(static_cast<float>(m.scale)) ||
      !(static_cast<float>(m.scale) > 0.0f))
    return fail("the product of the constant scalings (" +
                std::to_string(m.scale) + ") is not a positive finite f32");
  return success();
}

void Matcher::rewrite(DecodeMatch &m, DenseSet<Operation *> &live) {
  Operation *last = m.out.value.getDefiningOp();
  OpBuilder b(last);
  Location loc = pv->getLoc();
  Type elt = elementType(m.q.value);

  // Brings `pt` to `target` (same atoms, as the checks of `match` ensure):
  // reshape to one dimension per atom, transpose, reshape; each step only
  // when needed.
  auto materialize = [&](const Point &pt, const Layout &target) -> Value {
    AtomList from = atoms.concat(pt.layout), to = atoms.concat(target);
    assert(sameSet(from, to) && "materializing a layout with other atoms");
    SmallVector<int64_t> shape = atoms.shape(atoms.flat(target));
    if (from == to)
      return reshapeTo(b, loc, pt.value, shape);
    SmallVector<int64_t> atomShape, permuted, perm;
    for (unsigned a : from)
      atomShape.push_back(atoms.size({a}));
    for (unsigned a : to) {
      perm.push_back(llvm::find(from, a) - from.begin());
      permuted.push_back(atoms.size({a}));
    }
    Value x = reshapeTo(b, loc, pt.value, atomShape);
    Value init = tensor::EmptyOp::create(b, loc, permuted, elt);
    x = linalg::TransposeOp::create(b, loc, x, init, perm)->getResult(0);
    return reshapeTo(b, loc, x, shape);
  };

  AtomList hq = join(m.hkv, m.g);
  Value q = materialize(m.q, {m.b, hq, m.d});
  Value k = materialize(m.k, {m.b, m.hkv, m.n, m.d});
  Value v = materialize(m.v, {m.b, m.hkv, m.n, m.dv});
  Layout outLayout{m.b, hq, m.dv};
  Value init =
      tensor::EmptyOp::create(b, loc, atoms.shape(outLayout), elt);
  auto attn = multipole::DecodeAttentionOp::create(
      b, loc, TypeRange{init.getType()}, q, k, v, m.lens,
      ValueRange{init}, b.getF32FloatAttr(static_cast<float>(m.scale)));
  Value res = materialize(Point{attn->getResult(0), outLayout}, m.out.layout);
  m.out.value.replaceAllUsesWith(res);

  // Erase what became dead, from the replaced value back: the whole pattern
  // unless some of its values have other users.
  SmallVector<Operation *> worklist{last};
  DenseSet<Operation *> erased;
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    if (erased.contains(op) || !isOpTriviallyDead(op))
      continue;
    // Operands, and values the payload captures from above.
    op->walk([&](Operation *nested) {
      for (Value operand : nested->getOperands())
        if (Operation *def = operand.getDefiningOp();
            def && !op->isAncestor(def))
          worklist.push_back(def);
    });
    erased.insert(op);
    live.erase(op);
    op->erase();
  }
}

/// Why `op`, a contraction for upstream, is not one that the matcher takes.
std::string contractionProblem(LinalgOp op) {
  if (!isStructured(op))
    return "it is not on static float tensors with one result, or its body "
           "uses the loop indices";
  if (!isMulAddPayload(op))
    return "its body is not a sum of products";
  if (!isZeroTensor(op.getDpsInitOperand(0)->get()))
    return "it accumulates into a tensor that is not zero-filled";
  return "some of its loops are reduced without being contracted, or do not "
         "index the result";
}

/// A softmax somewhere in `root`: linalg.softmax, or a max reduction and an
/// exp.
bool hasSoftmaxLike(Operation *root) {
  bool softmax = false, exp = false, max = false;
  root->walk([&](Operation *op) {
    if (isa<linalg::SoftmaxOp>(op))
      softmax = true;
    else if (isa<math::ExpOp, math::Exp2Op>(op))
      exp = true;
    else if (auto l = dyn_cast<LinalgOp>(op)) {
      unsigned dim;
      max |= l.getNumDpsInputs() == 1 && isSingleReduction(l, dim) &&
             isMaxPayload(l, yieldedValue(l));
    }
  });
  return softmax || (exp && max);
}

/// The failed attempt that came furthest, the first among equals.
struct Explanation {
  explicit Explanation(Location loc) : loc(loc) {}

  Location loc;
  std::string reason;
  unsigned progress = 0;

  void consider(LinalgOp pv, const Matcher &m) {
    if (!reason.empty() && m.failureProgress() <= progress)
      return;
    loc = pv->getLoc();
    reason = m.failureReason();
    progress = m.failureProgress();
  }
};

struct DetectPass
    : public multipole::impl::MultipoleDetectDecodeAttentionBase<DetectPass> {
  void runOnOperation() override {
    SmallVector<LinalgOp> candidates;
    LinalgOp refused; // a contraction for upstream that no match starts from
    getOperation().walk([&](LinalgOp op) {
      if (isContraction(op))
        candidates.push_back(op);
      else if (!refused && linalg::isaContractionOpInterface(op))
        refused = op;
    });
    DenseSet<Operation *> live;
    for (LinalgOp pv : candidates)
      live.insert(pv);
    Explanation why(getOperation().getLoc());
    unsigned matched = 0;
    for (LinalgOp pv : candidates) {
      if (!live.contains(pv))
        continue;
      for (unsigned pIdx : {0u, 1u}) {
        Matcher matcher(pv);
        FailureOr<DecodeMatch> m = matcher.match(pIdx);
        if (failed(m)) {
          why.consider(pv, matcher);
          continue;
        }
        matcher.rewrite(*m, live);
        ++matched;
        ++numMatched;
        break;
      }
    }
    if (matched || !hasSoftmaxLike(getOperation()))
      return;
    // One remark per function: release builds of LLVM have no -debug-only.
    if (!why.reason.empty())
      emitRemark(why.loc) << "decode attention not detected: " << why.reason;
    else if (refused)
      emitRemark(refused->getLoc())
          << "decode attention not detected: this contraction is not taken "
             "for Q.K^T or P @ V because "
          << contractionProblem(refused);
  }
};
} // namespace
