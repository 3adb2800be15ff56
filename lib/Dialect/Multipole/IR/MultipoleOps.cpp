//===- MultipoleOps.cpp - multipole dialect, attributes and ops -----------===//
//
// Verifiers check every shape relation of docs/ABI.md and report the first
// mismatch with the operand's role, the dimension and both sizes.
//
//===----------------------------------------------------------------------===//

#include "multipole/Dialect/Multipole/IR/MultipoleOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::multipole;

#include "multipole/Dialect/Multipole/IR/MultipoleOpsDialect.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "multipole/Dialect/Multipole/IR/MultipoleAttrs.cpp.inc"

#define GET_OP_CLASSES
#include "multipole/Dialect/Multipole/IR/MultipoleOps.cpp.inc"

namespace {
/// Prints configurations as `#mp_config` aliases so that the rewritten IR
/// stays readable.
struct MultipoleOpAsmInterface : public OpAsmDialectInterface {
  using OpAsmDialectInterface::OpAsmDialectInterface;
  AliasResult getAlias(Attribute attr, raw_ostream &os) const override {
    if (isa<ConfigAttr>(attr)) {
      os << "mp_config";
      return AliasResult::OverridableAlias;
    }
    return AliasResult::NoAlias;
  }
};
} // namespace

void MultipoleDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "multipole/Dialect/Multipole/IR/MultipoleAttrs.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "multipole/Dialect/Multipole/IR/MultipoleOps.cpp.inc"
      >();
  addInterfaces<MultipoleOpAsmInterface>();
}

//===----------------------------------------------------------------------===//
// Discardable attributes
//===----------------------------------------------------------------------===//

LogicalResult
MultipoleDialect::verifyOperationAttribute(Operation *op,
                                           NamedAttribute attribute) {
  StringRef name = attribute.getName().getValue();
  if (name == EntryAttrHelper::getNameStr()) {
    auto kind = dyn_cast<StringAttr>(attribute.getValue());
    if (!kind || !llvm::is_contained({"step", "build", "update"},
                                     kind.getValue()))
      return op->emitError() << "'" << name
                             << "' must be \"step\", \"build\" or \"update\", got "
                             << attribute.getValue();
    return success();
  }
  if (name == StepAttrHelper::getNameStr()) {
    if (!isa<FlatSymbolRefAttr>(attribute.getValue()))
      return op->emitError() << "'" << name
                             << "' must name the decode step (a flat symbol "
                                "reference), got "
                             << attribute.getValue();
    return success();
  }
  // A unit attribute that belongs on one kind of op (`where` in the error).
  auto unitOn = [&](bool onRightOp, StringRef where) -> LogicalResult {
    if (!onRightOp || !isa<UnitAttr>(attribute.getValue()))
      return op->emitError() << "'" << name << "' must be a unit attribute on "
                             << where;
    return success();
  };
  if (name == ProgrammaticLaunchAttrHelper::getNameStr())
    return unitOn(isa<ModuleOp>(op), "a module");
  if (name == Bf16WeightsAttrHelper::getNameStr())
    return unitOn(isa<CentroidApproxOp>(op), "a multipole.centroid_approx");
  if (name == ScoresInSelectAttrHelper::getNameStr())
    return unitOn(isa<CentroidScoreOp>(op), "a multipole.centroid_score");
  if (name == RoleAttrHelper::getNameStr())
    return op->emitError() << "'" << name
                           << "' belongs on function arguments and results, "
                              "not on an operation";
  return op->emitError() << "unknown multipole attribute '" << name
                         << "' (expected '" << EntryAttrHelper::getNameStr()
                         << "', '" << StepAttrHelper::getNameStr() << "', '"
                         << ProgrammaticLaunchAttrHelper::getNameStr() << "', '"
                         << Bf16WeightsAttrHelper::getNameStr() << "' or '"
                         << ScoresInSelectAttrHelper::getNameStr() << "')";
}

static LogicalResult verifyRoleAttr(Operation *op, StringRef what,
                                    unsigned index, NamedAttribute attribute) {
  StringRef name = attribute.getName().getValue();
  if (name != MultipoleDialect::RoleAttrHelper::getNameStr())
    return op->emitError() << "unknown multipole attribute '" << name << "' on "
                           << what << " #" << index << " (expected '"
                           << MultipoleDialect::RoleAttrHelper::getNameStr()
                           << "')";
  auto role = dyn_cast<StringAttr>(attribute.getValue());
  if (!role || role.getValue().empty())
    return op->emitError() << "'" << name << "' of " << what << " #" << index
                           << " must be a non-empty string, got "
                           << attribute.getValue();
  return success();
}

LogicalResult MultipoleDialect::verifyRegionArgAttribute(
    Operation *op, unsigned regionIndex, unsigned argIndex,
    NamedAttribute attribute) {
  return verifyRoleAttr(op, "argument", argIndex, attribute);
}

LogicalResult MultipoleDialect::verifyRegionResultAttribute(
    Operation *op, unsigned regionIndex, unsigned resultIndex,
    NamedAttribute attribute) {
  return verifyRoleAttr(op, "result", resultIndex, attribute);
}

llvm::StringRef mlir::multipole::indexArrayName(unsigned i) {
  static const char *names[] = {"centroids", "vcentroids", "counts", "offsets",
                                "members",   "assign",     "state"};
  return i < kNumIndexArrays ? names[i] : "?";
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

FailureOr<APFloat> mlir::multipole::parseF64Param(AsmParser &parser) {
  double v;
  if (parser.parseFloat(v))
    return failure();
  return APFloat(v);
}

FailureOr<std::optional<APFloat>>
mlir::multipole::parseOptF64Param(AsmParser &parser) {
  double v;
  if (parser.parseFloat(v))
    return failure();
  return std::optional<APFloat>(APFloat(v));
}

void mlir::multipole::printF64Param(AsmPrinter &printer, const APFloat &v) {
  printer << v.convertToDouble();
}

FailureOr<SmallVector<LevelAttr>>
mlir::multipole::parseLevels(AsmParser &parser) {
  SmallVector<LevelAttr> levels;
  if (parser.parseCommaSeparatedList(AsmParser::Delimiter::Square, [&]() {
        LevelAttr l;
        if (parser.parseAttribute(l))
          return failure();
        levels.push_back(l);
        return success();
      }))
    return failure();
  return levels;
}

void mlir::multipole::printLevels(AsmPrinter &printer,
                                  ArrayRef<LevelAttr> levels) {
  printer << "[";
  llvm::interleaveComma(levels, printer,
                        [&](LevelAttr l) { printer.printAttribute(l); });
  printer << "]";
}


LogicalResult
LevelAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                  APFloat fraction, std::optional<int64_t> budgetTokens,
                  std::optional<APFloat> budgetFraction) {
  double f = fraction.convertToDouble();
  if (!(f > 0.0 && f < 1.0))
    return emitError() << "cluster fraction must be in (0, 1), got " << f;
  if (budgetTokens.has_value() == budgetFraction.has_value())
    return emitError()
           << "exactly one of budget_tokens and budget_fraction must be given";
  if (budgetTokens && *budgetTokens < 0)
    return emitError() << "budget_tokens must be >= 0, got " << *budgetTokens;
  if (budgetFraction) {
    double g = budgetFraction->convertToDouble();
    if (!(g >= 0.0 && g < 1.0))
      return emitError() << "budget_fraction must be in [0, 1), got " << g;
  }
  return success();
}

int64_t LevelAttr::budgetFor(int64_t lc) const {
  if (getBudgetTokens())
    return *getBudgetTokens();
  return static_cast<int64_t>(
      std::floor(getBudgetFraction()->convertToDouble() * double(lc)));
}

LogicalResult
ConfigAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                   ArrayRef<LevelAttr> levels, int64_t sink, int64_t interval,
                   int64_t blockSize, int64_t buildIters, int64_t updateIters,
                   int64_t scorePosition, APFloat ropeTheta, bool replacement) {
  if (levels.empty() || levels.size() > 2)
    return emitError() << "expected 1 or 2 levels, got " << levels.size();
  for (LevelAttr l : levels)
    if (!l)
      return emitError() << "levels must be #multipole.level attributes";
  if (sink < 0)
    return emitError() << "sink must be >= 0, got " << sink;
  if (interval < 1)
    return emitError() << "interval must be >= 1, got " << interval;
  if (blockSize < 2)
    return emitError() << "block_size must be >= 2, got " << blockSize;
  // At most kMaxLloydIters: the GPU lowering launches two kernels per Lloyd
  // iteration (Lloyd's k-means settles in tens).
  constexpr int64_t kMaxLloydIters = 1000;
  if (buildIters < 1 || buildIters > kMaxLloydIters)
    return emitError() << "build_iters must be in [1, " << kMaxLloydIters
                       << "], got " << buildIters;
  if (updateIters < 1 || updateIters > kMaxLloydIters)
    return emitError() << "update_iters must be in [1, " << kMaxLloydIters
                       << "], got " << updateIters;
  if (scorePosition < 0)
    return emitError() << "score_position must be >= 0, got " << scorePosition;
  if (!(ropeTheta.convertToDouble() >= 0.0) ||
      !std::isfinite(ropeTheta.convertToDouble()))
    return emitError() << "rope_theta must be finite and >= 0 (0 disables "
                          "RoPE), got "
                       << ropeTheta.convertToDouble();
  return success();
}

int64_t ConfigAttr::extraClusters() const {
  return std::max<int64_t>(
      1, static_cast<int64_t>(std::floor(double(getInterval()) * fraction(0))));
}

int64_t ConfigAttr::capacity(unsigned level, int64_t n) const {
  double rate = std::max(fraction(0), 1.0 / double(getInterval()));
  int64_t c0 = static_cast<int64_t>(std::ceil(double(n) * rate)) +
               n / (getBlockSize() / 2) + 2;
  if (level == 0)
    return c0;
  return std::max<int64_t>(
             1, static_cast<int64_t>(std::ceil(fraction(1) * double(c0)))) +
         1;
}

ConfigAttr mlir::multipole::getDefaultConfig(MLIRContext *ctx) {
  auto lvl = LevelAttr::get(ctx, APFloat(0.0625), std::nullopt,
                            std::optional<APFloat>(APFloat(0.1)));
  return ConfigAttr::get(ctx, {lvl}, 16, 128, 8192, 10, 3, 2048, APFloat(0.0),
                         true);
}

//===----------------------------------------------------------------------===//
// Shape checking helpers
//===----------------------------------------------------------------------===//

namespace {
constexpr int64_t kAny = ShapedType::kDynamic;

std::string shapeStr(ArrayRef<int64_t> s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i)
      r += ", ";
    r += s[i] == kAny ? "?" : std::to_string(s[i]);
  }
  return r + "]";
}

/// Checks rank, element type (when `elt` is set) and every dimension that is
/// static on both sides.
LogicalResult checkOperand(Operation *op, Value v, StringRef role,
                           ArrayRef<int64_t> expected, Type elt = {}) {
  auto st = dyn_cast<ShapedType>(v.getType());
  if (!st || !st.hasRank())
    return op->emitOpError() << role << " must be a ranked tensor or memref";
  if (st.getRank() != static_cast<int64_t>(expected.size()))
    return op->emitOpError() << role << " must have rank " << expected.size()
                             << " " << shapeStr(expected) << ", got rank "
                             << st.getRank();
  for (int64_t i = 0, e = st.getRank(); i < e; ++i)
    if (st.getDimSize(i) == 0)
      return op->emitOpError()
             << role << " has shape " << shapeStr(st.getShape())
             << ": dimension " << i
             << " is 0 (zero-sized batches, heads, caches and head dims have "
                "no attention)";
  for (int64_t i = 0, e = st.getRank(); i < e; ++i) {
    int64_t got = st.getDimSize(i), want = expected[i];
    if (got != kAny && want != kAny && got != want)
      return op->emitOpError()
             << role << " has shape " << shapeStr(st.getShape())
             << " but expected " << shapeStr(expected) << " (dimension " << i
             << " is " << got << ", expected " << want << ")";
  }
  if (elt && st.getElementType() != elt)
    return op->emitOpError() << role << " must have element type " << elt
                             << ", got " << st.getElementType();
  return success();
}

int64_t dim(Value v, unsigned i) {
  auto st = cast<ShapedType>(v.getType());
  return i < st.getRank() ? st.getDimSize(i) : kAny;
}

/// Merges two views of one dimension: the static one wins.
int64_t meet(int64_t a, int64_t b) { return a == kAny ? b : a; }

bool isAttnElt(Type t) { return t.isBF16() || t.isF16() || t.isF32(); }

Type eltOf(Value v) { return cast<ShapedType>(v.getType()).getElementType(); }

/// Dimensions of a decode attention problem, gathered from q, k, v.
struct Dims {
  int64_t B = kAny, Hq = kAny, Hkv = kAny, N = kAny, D = kAny;
};

LogicalResult checkQKV(Operation *op, Value q, Value k, Value v, Dims &d) {
  if (failed(checkOperand(op, q, "query", {kAny, kAny, kAny})) ||
      failed(checkOperand(op, k, "key cache", {kAny, kAny, kAny, kAny})))
    return failure();
  d.B = meet(dim(q, 0), dim(k, 0));
  d.Hq = dim(q, 1);
  d.Hkv = dim(k, 1);
  d.N = dim(k, 2);
  d.D = meet(dim(q, 2), dim(k, 3));
  if (failed(checkOperand(op, q, "query", {d.B, d.Hq, d.D})) ||
      failed(checkOperand(op, k, "key cache", {d.B, d.Hkv, d.N, d.D})))
    return failure();
  if (v && failed(checkOperand(op, v, "value cache", {d.B, d.Hkv, d.N, d.D})))
    return failure();
  Type e = eltOf(q);
  if (!isAttnElt(e))
    return op->emitOpError() << "query element type must be bf16, f16 or f32, got "
                             << e;
  if (eltOf(k) != e || (v && eltOf(v) != e))
    return op->emitOpError()
           << "query, key cache and value cache must share one element type";
  if (d.Hq != kAny && d.Hkv != kAny && (d.Hkv == 0 || d.Hq % d.Hkv != 0))
    return op->emitOpError() << "number of query heads (" << d.Hq
                             << ") must be a multiple of the number of KV heads ("
                             << d.Hkv << ")";
  return success();
}

LogicalResult checkLens(Operation *op, Value lens, int64_t B) {
  Builder b(op->getContext());
  return checkOperand(op, lens, "lens", {B}, b.getI32Type());
}

/// Checks one level of the cluster index. `items` is N at level 0 and the
/// finer level's capacity above. Fills in the capacity C.
LogicalResult checkIndex(Operation *op, ValueRange idx, StringRef what,
                         int64_t B, int64_t H, int64_t D, int64_t items,
                         int64_t &C) {
  if (idx.size() != kNumIndexArrays)
    return op->emitOpError() << what << " must have "
                             << static_cast<unsigned>(kNumIndexArrays)
                             << " arrays (centroids, vcentroids, counts, "
                                "offsets, members, assign, state), got "
                             << idx.size();
  Builder b(op->getContext());
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  C = dim(idx[kCentroids], 2);
  C = meet(C, dim(idx[kCounts], 2));
  // Offsets have C + 1 entries: a capacity at the int64 limit has none
  // (found by the fuzzer: the sum overflowed).
  if (C == std::numeric_limits<int64_t>::max())
    return op->emitOpError() << what << " capacity " << C
                             << " is too large (the offsets need C + 1 entries)";
  int64_t C1 = C == kAny ? kAny : C + 1;
  auto role = [&](unsigned i) {
    return (what + " " + indexArrayName(i)).str();
  };
  if (failed(checkOperand(op, idx[kCentroids], role(kCentroids), {B, H, C, D})) ||
      failed(checkOperand(op, idx[kVCentroids], role(kVCentroids), {B, H, C, D})))
    return failure();
  // Centroids are stored in f32 or bf16 (both arrays alike).
  Type ct = cast<ShapedType>(idx[kCentroids].getType()).getElementType();
  if (ct != f32 && !ct.isBF16())
    return op->emitOpError() << role(kCentroids)
                             << " must have element type f32 or bf16, got "
                             << ct;
  if (cast<ShapedType>(idx[kVCentroids].getType()).getElementType() != ct)
    return op->emitOpError() << role(kVCentroids)
                             << " must have the element type of the "
                             << role(kCentroids) << " (" << ct << ")";
  if (failed(checkOperand(op, idx[kCounts], role(kCounts), {B, H, C}, i32)) ||
      failed(checkOperand(op, idx[kOffsets], role(kOffsets), {B, H, C1}, i32)) ||
      failed(checkOperand(op, idx[kMembers], role(kMembers), {B, H, items}, i32)) ||
      failed(checkOperand(op, idx[kAssign], role(kAssign), {B, H, items}, i32)) ||
      failed(checkOperand(op, idx[kState], role(kState), {B, H, 4}, i32)))
    return failure();
  return success();
}

LogicalResult checkSink(Operation *op, ConfigAttr cfg, int64_t N) {
  if (N != kAny && cfg.getSink() > N)
    return op->emitOpError() << "sink (" << cfg.getSink()
                             << " tokens) is larger than the KV cache (" << N
                             << " tokens)";
  return success();
}

LogicalResult checkLevel(Operation *op, ConfigAttr cfg, int64_t level) {
  if (level < 0 || level >= static_cast<int64_t>(cfg.getLevels().size()))
    return op->emitOpError() << "level " << level << " is out of range: the "
                             << "configuration has " << cfg.getLevels().size()
                             << " level(s)";
  return success();
}

/// An explicit softmax scale must be a positive finite number.
LogicalResult checkScale(Operation *op, FloatAttr scale) {
  if (!scale)
    return success();
  double s = scale.getValueAsDouble();
  if (!(s > 0.0) || !std::isfinite(s))
    return op->emitOpError() << "scale must be positive and finite, got " << s;
  return success();
}

void addEffects(Operation *op,
                SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                    &effects) {
  auto dps = cast<DestinationStyleOpInterface>(op);
  for (OpOperand &o : op->getOpOperands()) {
    if (!isa<MemRefType>(o.get().getType()))
      continue;
    effects.emplace_back(MemoryEffects::Read::get(), &o,
                         SideEffects::DefaultResource::get());
    if (dps.isDpsInit(&o))
      effects.emplace_back(MemoryEffects::Write::get(), &o,
                           SideEffects::DefaultResource::get());
  }
}
} // namespace

#define MP_EFFECTS(OP)                                                         \
  void OP::getEffects(                                                         \
      SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>      \
          &effects) {                                                          \
    addEffects(getOperation(), effects);                                       \
  }
MP_EFFECTS(DecodeAttentionOp)
MP_EFFECTS(ClusterBuildOp)
MP_EFFECTS(ClusterUpdateOp)
MP_EFFECTS(ClusterCoarsenOp)
MP_EFFECTS(CentroidScoreOp)
MP_EFFECTS(SelectClustersOp)
MP_EFFECTS(SparseAttentionOp)
MP_EFFECTS(CentroidApproxOp)
MP_EFFECTS(MergeOp)
#undef MP_EFFECTS

//===----------------------------------------------------------------------===//
// Op verifiers
//===----------------------------------------------------------------------===//

LogicalResult DecodeAttentionOp::verify() {
  Dims d;
  if (failed(checkQKV(*this, getQ(), getK(), getV(), d)))
    return failure();
  if (getLens() && failed(checkLens(*this, getLens(), d.B)))
    return failure();
  if (getOuts().size() != 1)
    return emitOpError() << "expected one output, got " << getOuts().size();
  if (failed(checkOperand(*this, getOuts()[0], "output", {d.B, d.Hq, d.D},
                          eltOf(getQ()))))
    return failure();
  return checkScale(*this, getScaleAttr());
}

template <typename OpT>
static LogicalResult verifyBuildOrUpdate(OpT op) {
  Value k = op.getK(), v = op.getV();
  if (failed(checkOperand(op, k, "key cache", {kAny, kAny, kAny, kAny})))
    return failure();
  Dims d;
  d.B = dim(k, 0);
  d.Hkv = dim(k, 1);
  d.N = dim(k, 2);
  d.D = dim(k, 3);
  if (failed(checkOperand(op, v, "value cache", {d.B, d.Hkv, d.N, d.D})))
    return failure();
  if (!isAttnElt(eltOf(k)) || eltOf(v) != eltOf(k))
    return op.emitOpError()
           << "key and value caches must share one element type among bf16, "
              "f16 and f32";
  if (failed(checkLens(op, op.getLens(), d.B)) ||
      failed(checkSink(op, op.getConfig(), d.N)))
    return failure();
  int64_t C;
  return checkIndex(op, op.getOuts(), "level-0 index", d.B, d.Hkv, d.D, d.N, C);
}

LogicalResult ClusterBuildOp::verify() { return verifyBuildOrUpdate(*this); }
LogicalResult ClusterUpdateOp::verify() { return verifyBuildOrUpdate(*this); }

LogicalResult ClusterCoarsenOp::verify() {
  if (failed(checkLevel(*this, getConfig(), getLevel())))
    return failure();
  if (getLevel() < 1)
    return emitOpError() << "builds a coarse level: level must be >= 1, got "
                         << getLevel();
  if (getFine().size() != kNumIndexArrays)
    return emitOpError() << "fine index must have 7 arrays, got "
                         << getFine().size();
  Value c = getFine()[kCentroids];
  int64_t B = dim(c, 0), H = dim(c, 1), D = dim(c, 3), Cf = kAny, Cc;
  if (failed(checkIndex(*this, getFine(), "fine index", B, H, D, kAny, Cf)) ||
      failed(checkIndex(*this, getOuts(), "coarse index", B, H, D, Cf, Cc)))
    return failure();
  // Both levels store their centroids in one element type (centroid-type).
  Type fe = cast<ShapedType>(c.getType()).getElementType();
  Type ce = cast<ShapedType>(getOuts()[kCentroids].getType()).getElementType();
  if (fe != ce)
    return emitOpError() << "coarse index centroids must have the element type "
                            "of the fine index centroids ("
                         << fe << "), got " << ce;
  return success();
}

LogicalResult CentroidScoreOp::verify() {
  if (failed(checkLevel(*this, getConfig(), getLevel())))
    return failure();
  Dims d;
  if (failed(checkOperand(*this, getQ(), "query", {kAny, kAny, kAny})))
    return failure();
  if (!isAttnElt(eltOf(getQ())))
    return emitOpError() << "query element type must be bf16, f16 or f32";
  d.B = dim(getQ(), 0);
  d.Hq = dim(getQ(), 1);
  d.D = dim(getQ(), 2);
  if (getIndex().empty())
    return emitOpError() << "index must have 7 arrays, got 0";
  d.Hkv = dim(getIndex()[0], 1);
  int64_t C;
  if (failed(checkIndex(*this, getIndex(), "index", d.B, d.Hkv, d.D, kAny, C)) ||
      failed(checkLens(*this, getLens(), d.B)))
    return failure();
  if (d.Hq != kAny && d.Hkv != kAny && (d.Hkv == 0 || d.Hq % d.Hkv))
    return emitOpError() << "number of query heads (" << d.Hq
                         << ") must be a multiple of the number of KV heads ("
                         << d.Hkv << ")";
  if (getOuts().size() != 2)
    return emitOpError() << "expected two outputs (scores, logits), got "
                         << getOuts().size();
  Type f32 = Builder(getContext()).getF32Type();
  if (failed(checkOperand(*this, getOuts()[0], "scores", {d.B, d.Hkv, C}, f32)) ||
      failed(checkOperand(*this, getOuts()[1], "logits", {d.B, d.Hq, C}, f32)))
    return failure();
  return checkScale(*this, getScaleAttr());
}

/// Shared by select and approx: the parent pair must come together and match.
static LogicalResult checkParent(Operation *op, Value assign, Value selected,
                                 int64_t B, int64_t H, int64_t C) {
  if (static_cast<bool>(assign) != static_cast<bool>(selected))
    return op->emitOpError()
           << "parent assign and parent selection must be given together";
  if (!assign)
    return success();
  Builder b(op->getContext());
  if (failed(checkOperand(op, assign, "parent assign", {B, H, C},
                          b.getI32Type())) ||
      failed(checkOperand(op, selected, "parent selection",
                          {B, H, kAny}, b.getI8Type())))
    return failure();
  return success();
}

/// chunk_bases: memref<B x H x (K + 1) x i32>, K >= 1 (a GPU lowering detail:
/// memrefs only).
static LogicalResult checkChunkBases(Operation *op, Value cb, int64_t B,
                                     int64_t H) {
  if (!isa<MemRefType>(cb.getType()))
    return op->emitOpError() << "chunk bases are a detail of the GPU lowering "
                                "and exist on memrefs only, got "
                             << cb.getType();
  if (failed(checkOperand(op, cb, "chunk bases", {B, H, kAny},
                          Builder(op->getContext()).getI32Type())))
    return failure();
  if (dim(cb, 2) < 2)
    return op->emitOpError() << "chunk bases need at least one chunk (K + 1 "
                                ">= 2 entries per head), got "
                             << dim(cb, 2);
  return success();
}

LogicalResult SelectClustersOp::verify() {
  if (failed(checkLevel(*this, getConfig(), getLevel())))
    return failure();
  Value s = getScores();
  Type f32 = Builder(getContext()).getF32Type();
  if (failed(checkOperand(*this, s, "scores", {kAny, kAny, kAny}, f32)))
    return failure();
  int64_t B = dim(s, 0), H = dim(s, 1), C;
  if (getIndex().empty())
    return emitOpError() << "index must have 7 arrays, got 0";
  int64_t D = dim(getIndex()[0], 3);
  if (failed(checkIndex(*this, getIndex(), "index", B, H, D, kAny, C)) ||
      failed(checkOperand(*this, s, "scores", {B, H, C}, f32)) ||
      failed(checkParent(*this, getParentAssign(), getParentSelected(), B, H, C)))
    return failure();
  if (getOuts().empty() || getOuts().size() > 2)
    return emitOpError() << "expected one output (selection mask), or the "
                            "mask and the chunk bases, got "
                         << getOuts().size();
  if (failed(checkOperand(*this, getOuts()[0], "selection mask", {B, H, C},
                          Builder(getContext()).getI8Type())))
    return failure();
  if (getOuts().size() == 2)
    return checkChunkBases(*this, getOuts()[1], B, H);
  return success();
}

/// A partial (acc [B,Hq,D], m [B,Hq], l [B,Hq]) f32, or, on memrefs, per-split
/// partials (acc [B,Hq,S,D], m and l [B,Hq,S]) that the GPU lowering plans
/// (multipole-gpu-plan) between the exact part / approximation and the merge.
static LogicalResult checkPartial(Operation *op, ValueRange outs, StringRef what,
                                  int64_t B, int64_t Hq, int64_t D) {
  if (outs.size() != 3)
    return op->emitOpError() << "expected " << what
                             << " as three values (acc, m, l), got "
                             << outs.size();
  Type f32 = Builder(op->getContext()).getF32Type();
  auto acc = dyn_cast<ShapedType>(outs[0].getType());
  if (acc && acc.hasRank() && acc.getRank() == 4) {
    if (!llvm::all_of(outs, [](Value v) { return isa<MemRefType>(v.getType()); }))
      return op->emitOpError() << what << ": split partials are a form of the "
                                          "GPU lowering and exist on memrefs only";
    if (failed(checkOperand(op, outs[0], (what + " acc").str(),
                            {B, Hq, kAny, D}, f32)))
      return failure();
    int64_t S = dim(outs[0], 2);
    if (failed(checkOperand(op, outs[1], (what + " m").str(), {B, Hq, S}, f32)) ||
        failed(checkOperand(op, outs[2], (what + " l").str(), {B, Hq, S}, f32)))
      return failure();
    return success();
  }
  if (failed(checkOperand(op, outs[0], (what + " acc").str(), {B, Hq, D}, f32)) ||
      failed(checkOperand(op, outs[1], (what + " m").str(), {B, Hq}, f32)) ||
      failed(checkOperand(op, outs[2], (what + " l").str(), {B, Hq}, f32)))
    return failure();
  return success();
}

LogicalResult SparseAttentionOp::verify() {
  Dims d;
  if (failed(checkQKV(*this, getQ(), getK(), getV(), d)) ||
      failed(checkLens(*this, getLens(), d.B)) ||
      failed(checkSink(*this, getConfig(), d.N)))
    return failure();
  int64_t C;
  if (failed(checkIndex(*this, getIndex(), "level-0 index", d.B, d.Hkv, d.D, d.N,
                        C)) ||
      failed(checkOperand(*this, getSelected(), "selection mask",
                          {d.B, d.Hkv, C}, Builder(getContext()).getI8Type())) ||
      failed(checkScale(*this, getScaleAttr())))
    return failure();
  if (getChunkBases() &&
      failed(checkChunkBases(*this, getChunkBases(), d.B, d.Hkv)))
    return failure();
  return checkPartial(*this, getOuts(), "output partial", d.B, d.Hq, d.D);
}

LogicalResult CentroidApproxOp::verify() {
  Value a = getLogits();
  Type f32 = Builder(getContext()).getF32Type();
  if (failed(checkOperand(*this, a, "logits", {kAny, kAny, kAny}, f32)))
    return failure();
  if (getIndex().empty())
    return emitOpError() << "index must have 7 arrays, got 0";
  int64_t B = dim(a, 0), Hq = dim(a, 1), H = dim(getIndex()[0], 1),
          D = dim(getIndex()[0], 3), C;
  if (failed(checkIndex(*this, getIndex(), "index", B, H, D, kAny, C)) ||
      failed(checkOperand(*this, a, "logits", {B, Hq, C}, f32)) ||
      failed(checkOperand(*this, getSelected(), "selection mask", {B, H, C},
                          Builder(getContext()).getI8Type())) ||
      failed(checkParent(*this, getParentAssign(), getParentSelected(), B, H, C)))
    return failure();
  if (Hq != kAny && H != kAny && (H == 0 || Hq % H))
    return emitOpError() << "number of query heads (" << Hq
                         << ") must be a multiple of the number of KV heads ("
                         << H << ")";
  return checkPartial(*this, getOuts(), "output partial", B, Hq, D);
}

LogicalResult MergeOp::verify() {
  if (getPartials().empty() || getPartials().size() % 3 != 0)
    return emitOpError() << "expects partials as (acc, m, l) triples, got "
                         << getPartials().size() << " values";
  if (getOuts().size() != 1)
    return emitOpError() << "expected one output, got " << getOuts().size();
  Value o = getOuts()[0];
  if (failed(checkOperand(*this, o, "output", {kAny, kAny, kAny})))
    return failure();
  if (!isAttnElt(eltOf(o)))
    return emitOpError() << "output element type must be bf16, f16 or f32, got "
                         << eltOf(o);
  int64_t B = dim(o, 0), Hq = dim(o, 1), D = dim(o, 2);
  for (unsigned p = 0; p < getPartials().size(); p += 3)
    if (failed(checkPartial(*this, getPartials().slice(p, 3),
                            ("partial #" + Twine(p / 3)).str(), B, Hq, D)))
      return failure();
  return success();
}
