//===- ClusterLowering.cpp - cluster_build/update/coarsen -> GPU kernels --===//
//
// The k-means kernels of the cluster index (ClusterKernels.cpp): build and
// update of level 0 (with windowed RoPE the pre-RoPE keys are first written
// to an f32 scratch the size of the key cache) and the coarsening into level
// 1. The kernels read k and v in the cache's layout (strided when a
// [B, N, H, D] cache is read in place; ClusterShape::kvStrides). Shapes the
// kernels do not take run on the host (hostFallback).
//
//===----------------------------------------------------------------------===//

#include "ClusterKernels.h"
#include "Lowering.h"

#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <functional>
#include <type_traits>

using namespace mlir;
using namespace mlir::multipole;
using namespace mlir::multipole::gpugen;

namespace {

ClusterConfig clusterConfig(ConfigAttr cfg, unsigned level) {
  return ClusterConfig{cfg.getSink(),        cfg.getInterval(),
                       cfg.getBlockSize(),   cfg.getBuildIters(),
                       cfg.getUpdateIters(), cfg.extraClusters(),
                       cfg.fraction(level)};
}

/// A row-major device copy of `x`, a strided k or v (a [B, N, H, D] cache
/// read in place), by a kv_copy kernel (LayoutKernels.cpp); null after an
/// error.
Value rowMajorCopy(Operation *op, OpBuilder &b, LoweringContext &lc, Value x) {
  MemRefType t = memrefType(x);
  Location loc = op->getLoc();
  AttnShape s{t.getDimSize(0), t.getDimSize(1), t.getDimSize(1),
              t.getDimSize(2), t.getDimSize(3), eltName(t.getElementType()), 0, {}};
  if (failed(kvLayoutOf(op, x, x, s)))
    return Value();
  if ((s.D * s.eltBytes()) % 16) {
    op->emitError() << "a strided k / v needs rows of a multiple of 16 bytes "
                       "on the GPU; got "
                    << t;
    return Value();
  }
  std::string name = lc.freshName("kv_copy");
  if (failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l,
                                     gpu::GPUModuleOp m) {
        return buildKVCopyKernel(ob, l, m, name, s);
      })))
    return Value();
  Value buf = alloc(b, loc, t.getShape(), t.getElementType());
  int64_t tpc = kvCopyTokensPerCta(s);
  lc.launch(b, loc, name, {(s.N + tpc - 1) / tpc, s.H, s.B}, kKVCopyThreads,
            {x, buf});
  return buf;
}

/// Cluster ops whose shapes the GPU k-means kernels do not take (head dim not
/// a multiple of 32) run on the host: operands are copied to host buffers,
/// the op is re-created there (convert-multipole-to-loops lowers it next;
/// LoweringContext::hostOps makes it legal) and its outputs are copied back.
/// Correct, but it moves the cache over PCIe. A strided k or v is first
/// copied into a row-major device buffer (gpu.memcpy copies contiguous
/// buffers only).
LogicalResult hostFallback(Operation *op, ConversionPatternRewriter &rewriter,
                           LoweringContext &lc) {
  Location loc = op->getLoc();
  auto dps = cast<DestinationStyleOpInterface>(op);
  SmallVector<Value> hostOperands;
  SmallVector<std::pair<Value, Value>> copyBack; // (device, host)
  for (OpOperand &o : op->getOpOperands()) {
    Value dev = o.get();
    auto t = memrefType(dev);
    Value host = memref::AllocOp::create(
        rewriter, loc, MemRefType::get(t.getShape(), t.getElementType()));
    bool init = dps.isDpsInit(&o);
    if (!t.getLayout().isIdentity()) {
      // (only k and v, inputs, may be strided: checkOperands)
      Value rm = rowMajorCopy(op, rewriter, lc, dev);
      if (!rm)
        return failure();
      gpu::MemcpyOp::create(rewriter, loc, Type(), ValueRange{}, host, rm);
      dealloc(rewriter, loc, rm);
      hostOperands.push_back(host);
      continue;
    }
    // Inits of cluster_update are read; build/coarsen outputs are not.
    if (!init || isa<ClusterUpdateOp>(op))
      gpu::MemcpyOp::create(rewriter, loc, Type(), ValueRange{}, host, dev);
    if (init)
      copyBack.push_back({dev, host});
    hostOperands.push_back(host);
  }
  OperationState st(loc, op->getName(), hostOperands, TypeRange{},
                    op->getAttrs());
  lc.hostOps.insert(rewriter.create(st));
  for (auto [dev, host] : copyBack)
    gpu::MemcpyOp::create(rewriter, loc, Type(), ValueRange{}, dev, host);
  for (Value h : hostOperands)
    memref::DeallocOp::create(rewriter, loc, h);
  rewriter.eraseOp(op);
  return success();
}

/// Centroids stored in bf16 (an index of centroid-type=bf16): the k-means
/// kernels compute and keep centroids in f32, so they run on f32 scratch
/// copies of the key and value centroids, extended from the index before
/// and, when the op writes them, rounded back into it after (to nearest
/// even), by convert kernels (LayoutKernels.cpp). The CPU backend does the
/// same (convert-multipole-to-loops), so both store the same values. An
/// update converts only the rows it may read and write (`rows`: its last
/// block's, ConvertRows), and none back when nothing was due: the rows
/// outside keep their values (bf16 -> f32 -> bf16 is exact).
class WideCentroids {
public:
  /// `idx` with its centroid arrays replaced by f32 scratch when they are
  /// bf16 (after launching the extensions of `rows`, when the op `reads`
  /// them; `rowArgs`, the kernel's state arguments); `idx` itself otherwise.
  FailureOr<SmallVector<Value>> widen(OpBuilder &b, Location loc,
                                      LoweringContext &lc, ValueRange idx,
                                      bool writes, bool reads = true,
                                      const ConvertRows &rows = {},
                                      ValueRange rowArgs = {}) {
    SmallVector<Value> out(idx.begin(), idx.end());
    if (!memrefType(idx[kCentroids]).getElementType().isBF16())
      return out;
    for (unsigned i : {unsigned(kCentroids), unsigned(kVCentroids)}) {
      MemRefType t = memrefType(idx[i]);
      Value wide = alloc(b, loc, t.getShape(), b.getF32Type());
      if (reads && failed(convert(b, loc, lc, idx[i], wide, rows, rowArgs)))
        return failure();
      if (writes)
        writeBack.push_back({wide, idx[i]});
      scratch.push_back(wide);
      out[i] = wide;
    }
    return out;
  }

  /// Rounds what the op wrote (the rows `rows` names) back into the index
  /// and frees the scratch.
  LogicalResult finish(OpBuilder &b, Location loc, LoweringContext &lc,
                       const ConvertRows &rows = {}, ValueRange rowArgs = {}) {
    for (auto [wide, stored] : writeBack)
      if (failed(convert(b, loc, lc, wide, stored, rows, rowArgs)))
        return failure();
    for (Value v : scratch)
      dealloc(b, loc, v);
    return success();
  }

private:
  static LogicalResult convert(OpBuilder &b, Location loc, LoweringContext &lc,
                               Value src, Value dst, const ConvertRows &rows,
                               ValueRange rowArgs) {
    MemRefType st = memrefType(src), dt = memrefType(dst);
    std::string name = lc.freshName(dt.getElementType().isBF16()
                                        ? "centroid_narrow"
                                        : "centroid_widen");
    if (failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l,
                                       gpu::GPUModuleOp m) {
          return buildCentroidConvertKernel(ob, l, m, name, st.getShape(),
                                            st.getElementType(),
                                            dt.getElementType(), rows);
        })))
      return failure();
    int64_t gridRows =
        rows.kind == ConvertRows::All ? st.getDimSize(2) : rows.gridRows;
    SmallVector<Value> args = {src, dst};
    args.append(rowArgs.begin(), rowArgs.end());
    lc.launch(b, loc, name,
              {centroidConvertCtas(gridRows, st.getDimSize(3)),
               st.getDimSize(1), st.getDimSize(0)},
              kKVCopyThreads, args);
    return success();
  }

  SmallVector<std::pair<Value, Value>> writeBack; // (f32 scratch, index array)
  SmallVector<Value> scratch;
};

/// A kernel builder given its name (`@<base><suffix>`).
using KernelFn = std::function<gpu::GPUFuncOp(OpBuilder &, Location,
                                              gpu::GPUModuleOp, StringRef)>;

/// Builds the kernels `@<base><suffix>` of `ks`, in order (none for an
/// empty KernelFn).
LogicalResult buildKernels(LoweringContext &lc, Location loc, StringRef base,
                           ArrayRef<std::pair<StringRef, KernelFn>> ks) {
  for (const auto &k : ks) {
    std::string name = (base + k.first).str();
    const KernelFn &fn = k.second;
    if (!fn)
      continue;
    if (failed(lc.buildKernel(
            loc, [&](OpBuilder &ob, Location l, gpu::GPUModuleOp m) {
              return fn(ob, l, m, name);
            })))
      return failure();
  }
  return success();
}

using M = gpu::GPUModuleOp;

/// CTAs for `n` items, `per` a CTA (at least one).
int64_t chunks(int64_t n, int64_t per) {
  return std::max<int64_t>(1, llvm::divideCeil(n, per));
}

/// `<base>_assign` / `<base>_sort` / `<base>_means` (the suffix) of a build
/// or an update (no `_sort` when sortedMeans does not hold).
std::pair<StringRef, KernelFn> lloydKernel(StringRef suffix,
                                           const ClusterShape &s,
                                           const ClusterConfig &c,
                                           StringRef PE, bool build) {
  if (suffix == "_sort" && !sortedMeans(s, c))
    return {suffix, KernelFn()};
  return {suffix, [=, PE = PE.str(), suffix = suffix.str()](
                      OpBuilder &ob, Location l, M m, StringRef n) {
            if (suffix == "_assign")
              return buildKMeansAssignKernel(ob, l, m, n, s, c, PE, build);
            if (suffix == "_sort")
              return buildKMeansSortKernel(ob, l, m, n, s, c, build);
            return buildKMeansMeansKernel(ob, l, m, n, s, c, PE, build);
          }};
}

/// cluster_build / cluster_update: blocked k-means of the keys.
template <typename OpTy>
struct KMeansLowering : MultipoleGPUPattern<OpTy> {
  using Base = MultipoleGPUPattern<OpTy>;
  using Base::Base;
  using typename Base::OpAdaptor;
  static constexpr bool kBuild = std::is_same_v<OpTy, ClusterBuildOp>;

  LogicalResult lower(OpTy op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    LoweringContext &lc = this->lc;
    Location loc = op.getLoc();
    Value k = adaptor.getK(), v = adaptor.getV(), lens = adaptor.getLens();
    ValueRange origOuts = adaptor.getOuts();
    auto kT = memrefType(k);
    ClusterShape s{kT.getDimSize(0), kT.getDimSize(1), kT.getDimSize(2),
                   kT.getDimSize(3), memrefType(origOuts[kCounts]).getDimSize(2),
                   kT.getDimSize(2), eltName(kT.getElementType()), {}, false};
    if (s.D % 32)
      return hostFallback(op, rewriter, lc);
    // The build's `_init` resets every centroid row (resetLevel) before it
    // reads any: its scratch needs no extension. An update converts its
    // last block's rows: in, from that block's first cluster to the
    // clusters it may create (updateBounds' maxFinish past nc); out, the
    // clusters it touched (`st0`: the state at entry, kept by `_interval`).
    WideCentroids wide;
    ConvertRows rowsIn, rowsOut;
    Value st0;
    if (!kBuild) {
      ClusterConfig c0 = clusterConfig(op.getConfig(), 0);
      UpdateBounds bd = updateBounds(s, c0);
      rowsIn = {ConvertRows::OpenBlock, bd.maxFinish, bd.maxFinish};
      rowsOut = {ConvertRows::Touched, 0, bd.maxFinish};
    }
    Value stOut = origOuts[kState];
    FailureOr<SmallVector<Value>> wideOuts = wide.widen(
        rewriter, loc, lc, origOuts, /*writes=*/true, /*reads=*/!kBuild,
        rowsIn, kBuild ? ValueRange{} : ValueRange{stOut});
    if (failed(wideOuts))
      return failure();
    ValueRange outs = *wideOuts;
    // k and v in the cache's layout: a [B, N, H, D] cache is read in place.
    AttnShape kv{s.B, s.H, s.H, s.N, s.D, s.elt, 0, {}};
    if (failed(kvLayoutOf(op, k, v, kv)))
      return failure();
    s.kvStrides = kv.kvStrides;
    s.kmeansSplit = lc.knobs.kmeansSplit;
    ClusterConfig c = clusterConfig(op.getConfig(), 0);
    double theta = op.getConfig().getRopeTheta().convertToDouble();
    // The keys the k-means reads (P), of element type PE.
    Value P = k;
    std::string PE = s.elt;
    if (theta > 0) {
      std::string pr = lc.freshName("prerope");
      if (failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                         gpu::GPUModuleOp m) {
            return buildPreropeKernel(ob, l2, m, pr, s, theta);
          })))
        return failure();
      P = alloc(rewriter, loc, {s.B, s.H, s.N, s.D}, rewriter.getF32Type());
      PE = "f32";
      s.preropePoints = true;
      lc.launch(rewriter, loc, pr, {(s.N + 15) / 16, s.H, s.B}, 256, {k, P});
    }
    Value norms = alloc(rewriter, loc, {s.B, s.H, s.C}, rewriter.getF32Type());
    LogicalResult ok = success();
    if constexpr (kBuild)
      ok = lowerBuild(rewriter, loc, s, c, PE, lens, P, v, outs, norms);
    else {
      st0 = alloc(rewriter, loc, {s.B, s.H, 4}, rewriter.getI32Type());
      ok = lowerUpdate(rewriter, loc, s, c, PE, lens, P, v, outs, norms, st0);
    }
    if (failed(ok) ||
        failed(wide.finish(rewriter, loc, lc, rowsOut,
                           kBuild ? ValueRange{} : ValueRange{stOut, st0})))
      return failure();
    if (st0)
      dealloc(rewriter, loc, st0);
    dealloc(rewriter, loc, norms);
    if (P != k)
      dealloc(rewriter, loc, P);
    rewriter.eraseOp(op);
    return success();
  }

  /// The Lloyd passes over the grid: per iteration `<name>_assign` (a
  /// thread per point, up to `points`) and `<name>_means` (a warp per
  /// cluster, up to `clusters`; the iteration is an argument).
  void launchLloyd(OpBuilder &b, Location loc, StringRef name,
                   const ClusterShape &s, int64_t iters, Value scope, Value P,
                   ValueRange outs, Value norms, int64_t points,
                   int64_t clusters, int64_t blocks,
                   ValueRange sorted) const {
    Value cent = outs[kCentroids], cnt = outs[kCounts], asg = outs[kAssign];
    for (int64_t it = 0; it < iters; ++it) {
      Value iti = arith::ConstantIntOp::create(b, loc, it, 32);
      this->lc.launch(b, loc, (name + "_assign").str(),
                      {chunks(points, 256), s.H, s.B}, 256,
                      {scope, P, cent, norms, asg});
      if (sorted.empty()) {
        this->lc.launch(b, loc, (name + "_means").str(),
                        {chunks(clusters, 8), s.H, s.B}, 256,
                        {scope, P, cent, cnt, asg, norms, iti});
        continue;
      }
      SmallVector<Value> sortArgs = {scope, asg};
      sortArgs.append(sorted.begin(), sorted.end());
      this->lc.launch(b, loc, (name + "_sort").str(), {blocks, s.H, s.B},
                      256, sortArgs);
      SmallVector<Value> meansArgs = {scope, P, cent, cnt};
      meansArgs.append(sorted.begin(), sorted.end());
      meansArgs.append({norms, iti});
      this->lc.launch(b, loc, (name + "_means").str(),
                      {chunks(clusters, 8), s.H, s.B}, 256, meansArgs);
    }
  }

  /// The sorted member lists of the Lloyd passes (sidx, sbeg, scnt: scratch
  /// of the call), none when sortedMeans does not hold.
  SmallVector<Value> allocSorted(OpBuilder &b, Location loc,
                                 const ClusterShape &s,
                                 const ClusterConfig &c) const {
    if (!sortedMeans(s, c))
      return {};
    Type i32 = b.getI32Type();
    return {alloc(b, loc, {s.B, s.H, s.N}, i32),
            alloc(b, loc, {s.B, s.H, s.C}, i32),
            alloc(b, loc, {s.B, s.H, s.C}, i32)};
  }

  /// The build: reset and state, seeds, the Lloyd passes over all blocks at
  /// once, then the finish (a warp per cluster).
  LogicalResult lowerBuild(OpBuilder &rewriter, Location loc,
                           const ClusterShape &s, const ClusterConfig &c,
                           StringRef PE, Value lens, Value P, Value v,
                           ValueRange outs, Value norms) const {
    LoweringContext &lc = this->lc;
    std::string name = lc.freshName("cluster_build");
    if (failed(buildKernels(lc, loc, name,
                            {{"_init",
                              [&](OpBuilder &ob, Location l, M m, StringRef n) {
                                return buildClusterInitKernel(ob, l, m, n, s,
                                                              c);
                              }},
                             {"_seed",
                              [&](OpBuilder &ob, Location l, M m, StringRef n) {
                                return buildClusterSeedKernel(ob, l, m, n, s,
                                                              c, PE);
                              }},
                             lloydKernel("_assign", s, c, PE, true),
                             lloydKernel("_sort", s, c, PE, true),
                             lloydKernel("_means", s, c, PE, true),
                             {"_members",
                              [&](OpBuilder &ob, Location l, M m, StringRef n) {
                                return buildClusterMembersKernel(ob, l, m, n,
                                                                 s, c);
                              }}})))
      return failure();
    SmallVector<Value> init = {lens};
    init.append(outs.begin(), outs.end());
    lc.launch(rewriter, loc, name + "_init", {s.H, s.B, 1}, 256, init);
    // Clustered tokens: at most N - sink - interval; clusters: at most C.
    int64_t points = std::max<int64_t>(1, s.N - c.sink - c.interval);
    Value cent = outs[kCentroids];
    lc.launch(rewriter, loc, name + "_seed", {chunks(s.C, 256), s.H, s.B}, 256,
              {lens, P, cent, norms});
    // Blocks: at most points / BS (the last one takes the remainder).
    SmallVector<Value> sorted = allocSorted(rewriter, loc, s, c);
    launchLloyd(rewriter, loc, name, s, c.buildIters, lens, P, outs, norms,
                points, s.C, chunks(points, c.blockSize), sorted);
    SmallVector<Value> members = {lens,           v,
                                  outs[kVCentroids], outs[kCounts],
                                  outs[kOffsets], outs[kMembers],
                                  outs[kAssign]};
    members.append(sorted.begin(), sorted.end());
    lc.launch(rewriter, loc, name + "_members", {chunks(s.C, 8), s.H, s.B},
              256, members);
    for (Value t : llvm::reverse(sorted))
      dealloc(rewriter, loc, t);
    return success();
  }

  /// The update (docs/Design.md "GPU k-means: kernels and launches"): one
  /// interval's sequential part per (sequence, head), its Lloyd passes over
  /// the grid, the intervals still due in one CTA each, then the finish over
  /// the touched clusters. Launch order on the stream orders the steps.
  LogicalResult lowerUpdate(OpBuilder &rewriter, Location loc,
                            const ClusterShape &s, const ClusterConfig &c,
                            StringRef PE, Value lens, Value P, Value v,
                            ValueRange outs, Value norms, Value st0) const {
    LoweringContext &lc = this->lc;
    std::string name = lc.freshName("cluster_update");
    const bool tracked = trackedInterval(s, c);
    if (tracked &&
        failed(buildKernels(
            lc, loc, name,
            {{"_idist", [&](OpBuilder &ob, Location l, M m, StringRef n) {
                return buildUpdateDistancesKernel(ob, l, m, n, s, c, PE);
              }}})))
      return failure();
    if (failed(buildKernels(
            lc, loc, name,
            {{"_interval",
              [&](OpBuilder &ob, Location l, M m, StringRef n) {
                return buildUpdateIntervalKernel(ob, l, m, n, s, c, PE);
              }},
             lloydKernel("_assign", s, c, PE, false),
             lloydKernel("_sort", s, c, PE, false),
             lloydKernel("_means", s, c, PE, false),
             {"_rest",
              [&](OpBuilder &ob, Location l, M m, StringRef n) {
                return buildUpdateRestKernel(ob, l, m, n, s, c, PE);
              }},
             {"_members",
              [&](OpBuilder &ob, Location l, M m, StringRef n) {
                return buildUpdateMembersKernel(ob, l, m, n, s, c);
              }}})))
      return failure();
    Value cent = outs[kCentroids], cnt = outs[kCounts], asg = outs[kAssign];
    Value st = outs[kState];
    Type i32 = rewriter.getI32Type();
    Value blk = alloc(rewriter, loc, {s.B, s.H, 4}, i32);
    UpdateBounds bd = updateBounds(s, c);
    SmallVector<Value> intervalArgs = {lens, P,   cent, cnt,
                                       st,   st0, blk,  norms};
    SmallVector<Value> track;
    if (tracked) {
      int64_t ncc = intervalClusterChunks(s, c);
      // The interval's distances to its block's clusters and each token's
      // nearest, computed over the grid before the sequential part.
      track = {alloc(rewriter, loc, {s.B, s.H, c.interval, bd.maxCb},
                     rewriter.getF32Type()),
               alloc(rewriter, loc, {s.B, s.H, c.interval, ncc},
                     rewriter.getF32Type()),
               alloc(rewriter, loc, {s.B, s.H, c.interval, ncc}, i32)};
      int64_t tt = intervalDistTokens(s, c);
      SmallVector<Value> dargs = {lens, P, cent, st};
      dargs.append(track.begin(), track.end());
      lc.launch(rewriter, loc, name + "_idist",
                {chunks(c.interval, tt) * ncc, s.H, s.B}, 256, dargs);
      intervalArgs.append(track.begin(), track.end());
    }
    lc.launch(rewriter, loc, name + "_interval", {s.H, s.B, 1}, 256,
              intervalArgs);
    SmallVector<Value> sorted = allocSorted(rewriter, loc, s, c);
    launchLloyd(rewriter, loc, name, s, c.updateIters, blk, P, outs, norms,
                bd.maxL, bd.maxCb, 1, sorted);
    lc.launch(rewriter, loc, name + "_rest", {s.H, s.B, 1}, 256,
              {lens, P, cent, cnt, asg, st, norms});
    SmallVector<Value> members = {v,   outs[kVCentroids], cnt, outs[kOffsets],
                                  outs[kMembers], asg, st, st0};
    if (!sorted.empty()) {
      members.push_back(blk);
      members.append(sorted.begin(), sorted.end());
    }
    lc.launch(rewriter, loc, name + "_members",
              {chunks(bd.maxFinish, 8), s.H, s.B}, 256, members);
    for (Value t : llvm::reverse(sorted))
      dealloc(rewriter, loc, t);
    for (Value t : llvm::reverse(track))
      dealloc(rewriter, loc, t);
    dealloc(rewriter, loc, blk);
    return success();
  }
};

/// cluster_coarsen: weighted k-means over the fine centroids, one CTA per
/// (sequence, KV head).
struct CoarsenLowering : MultipoleGPUPattern<ClusterCoarsenOp> {
  using MultipoleGPUPattern::MultipoleGPUPattern;

  LogicalResult lower(ClusterCoarsenOp op, OpAdaptor adaptor,
                      ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto fT = memrefType(adaptor.getFine()[kCentroids]);
    ClusterShape s{fT.getDimSize(0), fT.getDimSize(1), 0, fT.getDimSize(3),
                   memrefType(adaptor.getOuts()[kCounts]).getDimSize(2),
                   fT.getDimSize(2), "f32", {}, false};
    if (s.D % 32)
      return hostFallback(op, rewriter, lc);
    WideCentroids wide;
    FailureOr<SmallVector<Value>> wideFine =
        wide.widen(rewriter, loc, lc, adaptor.getFine(), /*writes=*/false);
    if (failed(wideFine))
      return failure();
    // The coarsening resets every coarse row before it reads any: its
    // scratch needs no extension.
    FailureOr<SmallVector<Value>> wideOuts = wide.widen(
        rewriter, loc, lc, adaptor.getOuts(), /*writes=*/true, /*reads=*/false);
    if (failed(wideOuts))
      return failure();
    ValueRange fine = *wideFine, outs = *wideOuts;
    std::string name = lc.freshName("cluster_coarsen");
    ClusterConfig c = clusterConfig(op.getConfig(), op.getLevel());
    if (failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                       gpu::GPUModuleOp m) {
          return buildClusterCoarsenKernel(ob, l2, m, name, s, c);
        })))
      return failure();
    Value ids = alloc(rewriter, loc, {s.B, s.H, s.M}, rewriter.getI32Type());
    Value norms = alloc(rewriter, loc, {s.B, s.H, s.C}, rewriter.getF32Type());
    SmallVector<Value> args = {fine[kCentroids], fine[kVCentroids],
                               fine[kCounts], fine[kState]};
    args.append(outs.begin(), outs.end());
    args.append({ids, norms});
    lc.launch(rewriter, loc, name, {s.H, s.B, 1}, 256, args);
    if (failed(wide.finish(rewriter, loc, lc)))
      return failure();
    dealloc(rewriter, loc, ids);
    dealloc(rewriter, loc, norms);
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void mlir::multipole::gpugen::populateClusterLoweringPatterns(
    RewritePatternSet &patterns, LoweringContext &lc) {
  patterns.add<KMeansLowering<ClusterBuildOp>, KMeansLowering<ClusterUpdateOp>,
               CoarsenLowering>(lc);
}
