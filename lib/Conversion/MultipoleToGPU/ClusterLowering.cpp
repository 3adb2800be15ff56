//===- ClusterLowering.cpp - cluster_build/update/coarsen -> GPU kernels --===//
//
// The k-means kernels of the cluster index (ClusterKernels.cpp): build and
// update of level 0 (with windowed RoPE the pre-RoPE keys are first written
// to an f32 scratch the size of the key cache) and the coarsening into level
// 1. Shapes the kernels do not take run on the host (hostFallback).
//
//===----------------------------------------------------------------------===//

#include "ClusterKernels.h"
#include "Lowering.h"

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

/// Cluster ops whose shapes the GPU k-means kernels do not take (head dim not
/// a multiple of 32) run on the host: operands are copied to host buffers,
/// the op is re-created there (convert-multipole-to-loops lowers it next;
/// LoweringContext::hostOps makes it legal) and its outputs are copied back.
/// Correct, but it moves the cache over PCIe.
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
    ValueRange outs = adaptor.getOuts();
    auto kT = memrefType(k);
    ClusterShape s{kT.getDimSize(0), kT.getDimSize(1), kT.getDimSize(2),
                   kT.getDimSize(3), memrefType(outs[kCounts]).getDimSize(2),
                   kT.getDimSize(2), eltName(kT.getElementType())};
    if (s.D % 32)
      return hostFallback(op, rewriter, lc);
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
      lc.launch(rewriter, loc, pr, {(s.N + 15) / 16, s.H, s.B}, 256, {k, P});
    }
    Value norms = alloc(rewriter, loc, {s.B, s.H, s.C}, rewriter.getF32Type());
    if constexpr (kBuild) {
      std::string name = lc.freshName("cluster_build");
      if (failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                         gpu::GPUModuleOp m) {
            return buildClusterInitKernel(ob, l2, m, name + "_init", s, c);
          })) ||
          failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                         gpu::GPUModuleOp m) {
            return buildClusterBlocksKernel(ob, l2, m, name + "_blocks", s, c,
                                            PE);
          })))
        return failure();
      SmallVector<Value> init = {lens};
      init.append(outs.begin(), outs.end());
      lc.launch(rewriter, loc, name + "_init", {s.H, s.B, 1}, 256, init);
      int64_t maxBlocks = std::max<int64_t>(1, s.N / c.blockSize + 1);
      SmallVector<Value> args = {lens, P, v};
      for (unsigned i = 0; i < kState; ++i)
        args.push_back(outs[i]);
      args.push_back(norms);
      lc.launch(rewriter, loc, name + "_blocks", {maxBlocks, s.H, s.B}, 256,
                args);
    } else {
      std::string name = lc.freshName("cluster_update");
      if (failed(lc.buildKernel(loc, [&](OpBuilder &ob, Location l2,
                                         gpu::GPUModuleOp m) {
            return buildClusterUpdateKernel(ob, l2, m, name, s, c, PE);
          })))
        return failure();
      SmallVector<Value> args = {lens, P, v};
      args.append(outs.begin(), outs.end());
      args.push_back(norms);
      lc.launch(rewriter, loc, name, {s.H, s.B, 1}, 256, args);
    }
    dealloc(rewriter, loc, norms);
    if (P != k)
      dealloc(rewriter, loc, P);
    rewriter.eraseOp(op);
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
    ValueRange fine = adaptor.getFine(), outs = adaptor.getOuts();
    auto fT = memrefType(fine[kCentroids]);
    ClusterShape s{fT.getDimSize(0), fT.getDimSize(1), 0, fT.getDimSize(3),
                   memrefType(outs[kCounts]).getDimSize(2), fT.getDimSize(2),
                   "f32"};
    if (s.D % 32)
      return hostFallback(op, rewriter, lc);
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
