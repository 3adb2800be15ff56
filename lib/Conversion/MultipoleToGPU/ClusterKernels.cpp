//===- ClusterKernels.cpp - cluster build, update and coarsening (GPU) ----===//
//
// Blocked k-means on the device, following docs/Algorithm.md rule for rule
// (evenly spaced seeds, lowest-id ties, hashed re-seeding, no re-seed in the
// last iteration), so the GPU index satisfies the same invariants as the CPU
// one. Floating-point sums run in a different order (vectorised dot products,
// fused multiply-adds), so near-ties may resolve differently; the GPU check
// compares the two indexes by agreement and by the attention they produce.
//
// cluster_build : `<name>_init` (one CTA per (sequence, KV head): resets the
//   level, writes the state), then over the grid, all k-means blocks at once:
//   `<name>_seed` (a thread per cluster), per iteration `<name>_assign` (a
//   thread per point) and `<name>_means` (a warp per cluster), and
//   `<name>_members` (a warp per cluster). With windowed RoPE,
//   `<name>_prerope` first writes the pre-RoPE keys to an f32 scratch.
// cluster_update: `<name>_interval` (one CTA per (sequence, KV head)) runs
//   the sequential seeding and running-mean steps of one due interval, its
//   Lloyd passes run over the grid (`<name>_assign`, `<name>_means`),
//   `<name>_rest` (one CTA per (sequence, KV head)) clusters the intervals
//   still due with the in-CTA core, and `<name>_members` finishes the touched
//   clusters (docs/Design.md, "GPU k-means: kernels and launches").
// cluster_coarsen: one CTA per (sequence, KV head): weighted k-means over the
//   non-empty fine clusters.
//
// The k-means core (in a CTA or over the grid): a thread per point computes
// its argmin over the block's centroids (point in registers, centroid rows
// broadcast from L1, |mu|^2 precomputed per iteration); a warp per cluster
// then sums its members in point order (lanes over dimensions, members found
// by warp ballots), which is deterministic and needs no atomics. Member lists
// are written the same way, so they are ascending within a cluster.
//
// The kernels are built with KernelBuilder; shapes are static, so the loops
// over the dimensions of a row (4-wide slices) are unrolled in C++.
//
//===----------------------------------------------------------------------===//

#include "ClusterKernels.h"
#include "KernelBuilder.h"
#include "MmaFragments.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::multipole::gpugen;

using arith::CmpFPredicate;
using arith::CmpIPredicate;

namespace {

constexpr int64_t kThreads = 256;
constexpr int64_t kWarps = kThreads / 32;

//===----------------------------------------------------------------------===//
// Ops KernelBuilder does not have (generic; candidates for KernelBuilder).
//===----------------------------------------------------------------------===//

/// Elements [d, d + 4) of a vector (a shufflevector: the NVVM pipeline has no
/// lowering for vector.extract_strided_slice).
Value slice4(KernelBuilder &b, Value v, int64_t d) {
  return vector::ShuffleOp::create(b, v, v,
                                   ArrayRef<int64_t>{d, d + 1, d + 2, d + 3});
}

/// acc + the elements of `v` in order (an ordered vector.reduction with
/// accumulator: chained over the slices of a row it adds the same terms in
/// the same order as one reduction of the row from 0).
Value reduceAddInto(KernelBuilder &b, Value v, Value acc) {
  return vector::ReductionOp::create(b, vector::CombiningKind::ADD, v, acc);
}

//===----------------------------------------------------------------------===//
// What every cluster kernel shares.
//===----------------------------------------------------------------------===//

/// The argument types of the cluster kernels of one op.
struct Types {
  MemRefType lens, cent, cnt, off, asg, st, keys, norms, sidx;
  Types(MLIRContext *ctx, const ClusterShape &s) {
    Type f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);
    lens = KernelBuilder::memref({s.B}, i32);
    cent = KernelBuilder::memref({s.B, s.H, s.C, s.D}, f32);
    cnt = KernelBuilder::memref({s.B, s.H, s.C}, i32);
    off = KernelBuilder::memref({s.B, s.H, s.C + 1}, i32);
    asg = KernelBuilder::memref({s.B, s.H, s.M}, i32);
    st = KernelBuilder::memref({s.B, s.H, 4}, i32);
    // The op's keys or values, in the cache's layout (strided when a
    // [B, N, H, D] cache is read in place).
    keys = KernelBuilder::memref({s.B, s.H, s.N, s.D},
                                 KernelBuilder::elementType(ctx, s.elt),
                                 s.kvStrides);
    norms = KernelBuilder::memref({s.B, s.H, s.C}, f32);
    // The sorted member lists of the Lloyd passes (Sorted::sidx).
    sidx = KernelBuilder::memref({s.B, s.H, s.N}, i32);
  }
  /// The points of a build or update: [B, H, N, D] of element type PE, the
  /// op's keys (the cache's layout) or the pre-RoPE scratch (row-major).
  static MemRefType points(MLIRContext *ctx, const ClusterShape &s,
                           StringRef PE) {
    return KernelBuilder::memref(
        {s.B, s.H, s.N, s.D}, KernelBuilder::elementType(ctx, PE),
        s.preropePoints ? ArrayRef<int64_t>() : ArrayRef<int64_t>(s.kvStrides));
  }
};

/// Thread coordinates, constants and the level arrays of a cluster kernel:
/// centroids `cent` and value centroids `vcent` [C, D], counts `cnt` [C],
/// member offsets `off` [C + 1], members `mem` and assignments `asg` [M],
/// |mu|^2 scratch `norms` [C] (all of the (b, h) slice).
struct Ctx {
  int64_t D = 0, vpl = 0; // row length, its floats per lane
  bool split = true;       // tensor-core assignment: hi + lo centroid terms
  Value tid, lane, warp, dlane, lmask, is0, lane0;
  Value c0, c1, c32, cT, cNW, c0i, c1i, cm1i, full, zf, onef, inff, zv4, zvl;
  Value b, h;
  Value cent, vcent, cnt, off, mem, asg, norms;
};

/// The six index arrays of the level a kernel writes (centroids, value
/// centroids, counts, offsets, members, assignments): kernel arguments
/// `first` .. `first + 5`.
void bindLevel(Ctx &x, gpu::GPUFuncOp fn, unsigned first) {
  x.cent = fn.getArgument(first);
  x.vcent = fn.getArgument(first + 1);
  x.cnt = fn.getArgument(first + 2);
  x.off = fn.getArgument(first + 3);
  x.mem = fn.getArgument(first + 4);
  x.asg = fn.getArgument(first + 5);
}

/// Constants and thread coordinates every kernel starts with (lanes of a warp
/// own `vpl` consecutive dimensions of a row, from `dlane`).
Ctx prelude(KernelBuilder &b, int64_t D) {
  Ctx x;
  x.D = D;
  x.vpl = D / 32;
  x.c0 = b.index(0);
  x.c1 = b.index(1);
  x.c32 = b.index(32);
  x.cT = b.index(kThreads);
  x.cNW = b.index(kWarps);
  x.c0i = b.i32(0);
  x.c1i = b.i32(1);
  x.cm1i = b.i32(-1);
  x.full = b.i32(-1);
  x.zf = b.f32(0.0);
  x.onef = b.f32(1.0);
  x.inff = b.posInf();
  x.zv4 = b.zeros(4);
  x.zvl = b.zeros(x.vpl);
  x.tid = b.threadId(gpu::Dimension::x);
  x.lane = b.rem(x.tid, x.c32);
  x.warp = b.div(x.tid, x.c32);
  Value cvpl = b.index(x.vpl);
  x.dlane = b.mul(x.lane, cvpl);
  Value lanei = b.toI32(x.lane);
  Value lbit = arith::ShLIOp::create(b, x.c1i, lanei);
  x.lmask = b.sub(lbit, x.c1i); // lanes below this one
  x.is0 = b.cmp(CmpIPredicate::eq, x.tid, x.c0);
  x.lane0 = b.cmp(CmpIPredicate::eq, x.lane, x.c0);
  return x;
}

/// The knobs of docs/Algorithm.md as constants.
struct Knobs {
  Value cN, cC, cS, cI, cBS, cHBS, cKX, cFRAC;
  Knobs(KernelBuilder &b, const ClusterShape &s, const ClusterConfig &c) {
    cN = b.index(s.N);
    cC = b.index(s.C);
    cS = b.index(c.sink);
    cI = b.index(c.interval);
    cBS = b.index(c.blockSize);
    cHBS = b.index(c.blockSize / 2);
    cKX = b.index(c.kExtra);
    cFRAC = b.f64(c.fraction);
  }
};

/// max(1, floor(f * L)) clusters for L points.
Value clusterCount(KernelBuilder &b, const Ctx &x, const Knobs &k, Value L) {
  Value li = b.toInt(L, 64);
  Value lf = b.siToFp(b.getF64Type(), li);
  Value p = b.mul(lf, k.cFRAC);
  Value fl = math::FloorOp::create(b, p);
  Value ci = b.fpToSi(b.getI64Type(), fl);
  Value c = b.toIndex(ci);
  return b.maxU(c, x.c1);
}

/// min(lens[b], N), clamped at 0: the cached tokens of sequence b.
Value seqLen(KernelBuilder &b, const Ctx &x, const Knobs &k, Value lens) {
  Value li = b.load(lens, {x.b});
  Value l0 = b.toIndex(li);
  Value l1 = arith::MaxSIOp::create(b, l0, x.c0);
  return b.minU(l1, k.cN);
}

/// Resets the (b, h) slice of a level (threads strided): centroids and counts
/// 0, offsets `offInit`, members and assignments -1.
void resetLevel(KernelBuilder &b, const Ctx &x, const ClusterShape &s,
                Value offInit) {
  Value cD4 = b.index(s.D / 4), cCD4 = b.index(s.C * s.D / 4);
  Value cC = b.index(s.C), cC1 = b.index(s.C + 1), cM = b.index(s.M);
  Value c4 = b.index(4);
  b.forEach(x.tid, cCD4, x.cT, [&](KernelBuilder &kb, Value p) {
    Value pc = kb.div(p, cD4);
    Value pr = kb.rem(p, cD4);
    Value pd = kb.mul(pr, c4);
    kb.vstore(x.zv4, x.cent, {x.b, x.h, pc, pd});
    kb.vstore(x.zv4, x.vcent, {x.b, x.h, pc, pd});
  });
  b.forEach(x.tid, cC, x.cT, [&](KernelBuilder &kb, Value p) {
    kb.store(x.c0i, x.cnt, {x.b, x.h, p});
  });
  b.forEach(x.tid, cC1, x.cT, [&](KernelBuilder &kb, Value p) {
    kb.store(offInit, x.off, {x.b, x.h, p});
  });
  b.forEach(x.tid, cM, x.cT, [&](KernelBuilder &kb, Value p) {
    kb.store(x.cm1i, x.mem, {x.b, x.h, p});
    kb.store(x.cm1i, x.asg, {x.b, x.h, p});
  });
}

//===----------------------------------------------------------------------===//
// Level-0 block layout (docs/Algorithm.md "Build").
//===----------------------------------------------------------------------===//

/// The clusterable prefix of a sequence and its blocks: Lc tokens after the
/// sink (whole intervals, leaving the window), nb full blocks and the rest
/// `rem` (its own block when `bigrem`, else merged into the last one).
struct Layout {
  Value Lc, nb, rem, bigrem, nbz, nblk;
};

Layout layout(KernelBuilder &b, const Ctx &x, const Knobs &k, Value lens) {
  Layout l;
  Value n = seqLen(b, x, k, lens);
  Value si = b.add(k.cS, k.cI);
  Value si2 = b.add(si, k.cI);
  Value ok = b.cmp(CmpIPredicate::uge, n, si2);
  Value ns = b.select(ok, n, si2);
  Value xs = b.sub(ns, si);
  Value q = b.div(xs, k.cI);
  Value lc = b.mul(q, k.cI);
  l.Lc = b.select(ok, lc, x.c0);
  l.nb = b.div(l.Lc, k.cBS);
  Value nbBS = b.mul(l.nb, k.cBS);
  l.rem = b.sub(l.Lc, nbBS);
  Value isz = b.cmp(CmpIPredicate::eq, l.Lc, x.c0);
  l.nbz = b.cmp(CmpIPredicate::eq, l.nb, x.c0);
  l.bigrem = b.cmp(CmpIPredicate::uge, l.rem, k.cHBS);
  Value nbp1 = b.add(l.nb, x.c1);
  Value n0 = b.select(l.bigrem, nbp1, l.nb);
  Value n1 = b.select(l.nbz, x.c1, n0);
  l.nblk = b.select(isz, x.c0, n1);
  return l;
}

/// Length and cluster count of block `i`.
struct BlockLen {
  Value L, Cb;
};
BlockLen blockLen(KernelBuilder &b, const Ctx &x,
                                 const Knobs &k, const Layout &l, Value i) {
  Value i1 = b.add(i, x.c1);
  Value ltnb = b.cmp(CmpIPredicate::ult, i, l.nb);
  Value ltnbm1 = b.cmp(CmpIPredicate::ult, i1, l.nb);
  Value bsrem = b.add(k.cBS, l.rem);
  Value big = b.select(ltnb, k.cBS, l.rem);
  Value small = b.select(ltnbm1, k.cBS, bsrem);
  Value b01 = b.select(l.bigrem, big, small);
  Value L = b.select(l.nbz, l.Lc, b01);
  return {L, clusterCount(b, x, k, L)};
}

//===----------------------------------------------------------------------===//
// The k-means core.
//===----------------------------------------------------------------------===//

/// Where the points of a k-means come from: rows of P, row = ids[b, h, t]
/// (`ids`, coarsening), else pstart + t (or t without `pstart`); weight =
/// (f32) W[b, h, row] (`W`), else 1.
struct Points {
  Value P, ids, W, pstart;
};

/// One k-means of a CTA: points t < L, clusters [cs, cs + Cb) of `cent`.
struct KBlock {
  Value L, cs, Cb;
};

Value rowIdx(KernelBuilder &b, const Ctx &x, const Points &p, Value t) {
  if (p.ids) {
    Value r = b.load(p.ids, {x.b, x.h, t});
    return b.toIndex(r);
  }
  return p.pstart ? b.add(p.pstart, t) : t;
}

Value weightOf(KernelBuilder &b, const Ctx &x, const Points &p, Value j) {
  if (!p.W)
    return b.f32(1.0);
  Value w = b.load(p.W, {x.b, x.h, j});
  return b.siToFp(b.f32(), w);
}

/// vector<n x f32> of row `j` of P from dimension `d0`.
Value loadRow(KernelBuilder &b, const Ctx &x, Value P, Value j, Value d0,
              int64_t n) {
  Type elt = cast<MemRefType>(P.getType()).getElementType();
  int64_t bytes = n * (elt.isF32() ? 4 : 2);
  Value r = b.vloadAligned(n, P, {x.b, x.h, j, d0}, std::min<int64_t>(16, bytes));
  if (elt.isF32())
    return r;
  return b.extF(VectorType::get({n}, b.f32()), r);
}

/// The 4-wide slices of a row.
SmallVector<Value> slices(KernelBuilder &b, Value row, int64_t D) {
  SmallVector<Value> xs;
  for (int64_t d = 0; d < D; d += 4)
    xs.push_back(slice4(b, row, d));
  return xs;
}

/// The lexicographic minimum of (distance, id) pairs a and o: o wins when
/// its distance is smaller, or equal with a lower id (the argmins' tie rule).
std::pair<Value, Value> pickLower(KernelBuilder &b, Value d, Value id,
                                  Value od, Value oi) {
  Value lt = b.cmp(CmpFPredicate::OLT, od, d);
  Value eq = b.cmp(CmpFPredicate::OEQ, od, d);
  Value li = b.cmp(CmpIPredicate::slt, oi, id);
  Value take = b.orI(lt, b.andI(eq, li));
  return {b.select(take, od, d), b.select(take, oi, id)};
}

/// (distance, id) pairs merged over lanes by xor shuffles at `offsets`
/// (pickLower at each): 1, 2 for the 4 lanes of an mma row, 16 .. 1 for a
/// warp.
std::pair<Value, Value> shuffleArgmin(KernelBuilder &b, Value d, Value id,
                                      ArrayRef<int64_t> offsets) {
  std::pair<Value, Value> r{d, id};
  for (int64_t off : offsets) {
    Value od = b.shuffleXor(r.first, off);
    Value oi = b.shuffleXor(r.second, off);
    r = pickLower(b, r.first, r.second, od, oi);
  }
  return r;
}

/// One step of an argmin over clusters: the distance |mu|^2 - 2 x.mu of
/// candidate `c` replaces (best, bestDist) only when strictly smaller, so the
/// lowest id wins ties.
SmallVector<Value> argminStep(KernelBuilder &b, Value dot, Value norm, Value c,
                              ValueRange best) {
  Value t2 = b.add(dot, dot);
  Value dist = b.sub(norm, t2);
  Value lt = b.cmp(CmpFPredicate::OLT, dist, best[1]);
  Value bi = b.select(lt, c, best[0]);
  Value bd = b.select(lt, dist, best[1]);
  return {bi, bd};
}

// Each step of a k-means has a body per cluster or per point (`seedCluster`,
// `clusterNorm`, `assignPoint`, `updateCluster`, `finishCluster`): the
// in-CTA k-means loops them over the CTA's threads or warps, the grid kernels
// (cluster_build, the Lloyd passes of cluster_update) run one item per thread
// or warp of the grid; either way each item's arithmetic is the same.

/// Seed: cluster c of the block starts at point floor(c * L / Cb).
void seedCluster(KernelBuilder &b, const Ctx &x, const Points &p,
                 const KBlock &k, Value c) {
  Value cl = b.mul(c, k.L);
  Value t0 = b.div(cl, k.Cb);
  Value j = rowIdx(b, x, p, t0);
  Value row = loadRow(b, x, p.P, j, x.c0, x.D);
  Value gc = b.add(k.cs, c);
  b.vstore(row, x.cent, {x.b, x.h, gc, x.c0});
}

void seedClusters(KernelBuilder &b, const Ctx &x, const Points &p,
                  const KBlock &k) {
  b.forEach(x.tid, k.Cb, x.cT, [&](KernelBuilder &kb, Value c) {
    seedCluster(kb, x, p, k, c);
  });
  b.barrier();
}

/// |mu|^2 of cluster c of the block into `norms`.
void clusterNorm(KernelBuilder &b, const Ctx &x, const KBlock &k, Value c) {
  Value gc = b.add(k.cs, c);
  Value mu = b.vloadAligned(x.D, x.cent, {x.b, x.h, gc, x.c0}, 16);
  Value sq = b.mul(mu, mu);
  Value nrm = b.reduceAdd(sq);
  b.store(nrm, x.norms, {x.b, x.h, gc});
}

void computeNorms(KernelBuilder &b, const Ctx &x, const KBlock &k) {
  b.forEach(x.tid, k.Cb, x.cT, [&](KernelBuilder &kb, Value c) {
    clusterNorm(kb, x, k, c);
  });
  b.barrier();
}

/// x . mu of the point with 4-wide slices `xs` and the centroid row of `cent`
/// at `at` (its indices before the dimension): 4-wide FMAs in dimension
/// order, then the vector's sum. Every assignment uses it, so the staged and
/// the unstaged ones agree bit for bit.
Value pointDot(KernelBuilder &b, const Ctx &x, ArrayRef<Value> xs, Value cent,
               ValueRange at) {
  Value acc = x.zv4;
  for (int64_t d = 0; d < x.D; d += 4) {
    SmallVector<Value> idx(at.begin(), at.end());
    idx.push_back(b.index(d));
    Value m = b.vloadAligned(4, cent, idx, 16);
    acc = b.fma(xs[d / 4], m, acc);
  }
  return b.reduceAdd(acc);
}

/// Assignment of point t: argmin over the block's clusters (4-wide FMAs
/// against centroid rows read from L1), written to asg[row].
void assignPoint(KernelBuilder &b, const Ctx &x, const Points &p,
                 const KBlock &k, Value t) {
  Value j = rowIdx(b, x, p, t);
  Value row = loadRow(b, x, p.P, j, x.c0, x.D);
  SmallVector<Value> xs = slices(b, row, x.D);
  Value best = b.forLoop(
      x.c0, k.Cb, x.c1, {x.c0, x.inff},
      [&](KernelBuilder &k2, Value c, ValueRange it) {
        Value gc = k2.add(k.cs, c);
        Value dot = pointDot(k2, x, xs, x.cent, {x.b, x.h, gc});
        Value nm = k2.load(x.norms, {x.b, x.h, gc});
        return argminStep(k2, dot, nm, c, it);
      })[0];
  Value ga = b.add(k.cs, best);
  Value gai = b.toI32(ga);
  b.store(gai, x.asg, {x.b, x.h, j});
}

/// A thread per point.
void assignPoints(KernelBuilder &b, const Ctx &x, const Points &p,
                  const KBlock &k) {
  b.forEach(x.tid, k.L, x.cT, [&](KernelBuilder &kb, Value t) {
    assignPoint(kb, x, p, k, t);
  });
  b.barrier();
}

/// Adds the weighted rows of the points t0 + l, l a lane set in `mask`, to
/// (s, w) in lane order; each lane adds its `vpl` dimensions.
SmallVector<Value> sumBallot(KernelBuilder &b, const Ctx &x, const Points &p,
                             Value t0, Value mask, Value s, Value w) {
  SmallVector<Value> r = b.whileLoop(
      {mask, s, w},
      [&](KernelBuilder &kb, ValueRange a) {
        return kb.cmp(CmpIPredicate::ne, a[0], x.c0i);
      },
      [&](KernelBuilder &kb, ValueRange a) {
        Value bit = kb.cttz(a[0]);
        Value bitx = kb.toIndex(bit);
        Value tt = kb.add(t0, bitx);
        Value j = rowIdx(kb, x, p, tt);
        Value wt = weightOf(kb, x, p, j);
        Value xv = loadRow(kb, x, p.P, j, x.dlane, x.vpl);
        Value wv = kb.broadcast(x.vpl, wt);
        Value s2 = kb.fma(wv, xv, a[1]);
        Value w2 = kb.add(a[2], wt);
        Value m1 = kb.sub(a[0], x.c1i);
        Value m2 = kb.andI(a[0], m1); // clears the lowest set bit
        return SmallVector<Value>{m2, s2, w2};
      });
  return {r[1], r[2]};
}

/// The new centroid of cluster `uc` (global `gc`) from its weighted sum
/// (sum, w): the mean; an empty cluster gets count 0 and is re-seeded from
/// point (uc * 7919 + it * 104729) mod L, or zeroed in the last iteration.
void storeCentroid(KernelBuilder &b, const Ctx &x, const Points &p,
                   const KBlock &k, Value uc, Value gc, Value sum, Value w,
                   Value it, Value islast) {
  Value ne = b.cmp(CmpFPredicate::OGT, w, x.zf);
  b.ifElse(
      ne,
      [&](KernelBuilder &kb) {
        Value wb = kb.broadcast(x.vpl, w);
        Value mean = kb.div(sum, wb);
        kb.vstore(mean, x.cent, {x.b, x.h, gc, x.dlane});
        kb.ifThen(x.lane0, [&](KernelBuilder &k2) {
          Value wi = k2.fpToSi(k2.getI32Type(), w);
          k2.store(wi, x.cnt, {x.b, x.h, gc});
        });
        return SmallVector<Value>{};
      },
      [&](KernelBuilder &kb) {
        kb.ifThen(x.lane0, [&](KernelBuilder &k2) {
          k2.store(x.c0i, x.cnt, {x.b, x.h, gc});
        });
        kb.ifElse(
            islast,
            [&](KernelBuilder &k2) {
              k2.vstore(x.zvl, x.cent, {x.b, x.h, gc, x.dlane});
              return SmallVector<Value>{};
            },
            [&](KernelBuilder &k2) {
              Value h1 = k2.mul(uc, k2.index(7919));
              Value h2 = k2.mul(it, k2.index(104729));
              Value h3 = k2.add(h1, h2);
              Value rt = k2.rem(h3, k.L);
              Value rj = rowIdx(k2, x, p, rt);
              Value rx = loadRow(k2, x, p.P, rj, x.dlane, x.vpl);
              k2.vstore(rx, x.cent, {x.b, x.h, gc, x.dlane});
              return SmallVector<Value>{};
            });
        return SmallVector<Value>{};
      });
}

/// Update of cluster uc of the block by a warp: it sums the cluster's
/// members in point order (32 points per ballot), then writes the mean and
/// the count (`islast`: iteration `it` is the last one).
void updateCluster(KernelBuilder &b, const Ctx &x, const Points &p,
                   const KBlock &k, Value uc, Value it, Value islast) {
  Value gc = b.add(k.cs, uc);
  Value gci = b.toI32(gc);
  SmallVector<Value> acc = b.forLoop(
      x.c0, k.L, x.c32, {x.zvl, x.zf},
      [&](KernelBuilder &k2, Value t0, ValueRange sw) {
        Value t = k2.add(t0, x.lane);
        Value in = k2.cmp(CmpIPredicate::ult, t, k.L);
        Value tc = k2.select(in, t, x.c0);
        Value j = rowIdx(k2, x, p, tc);
        Value a = k2.load(x.asg, {x.b, x.h, j});
        Value eq = k2.cmp(CmpIPredicate::eq, a, gci);
        Value mine = k2.andI(in, eq);
        Value mask = k2.ballot(x.full, mine);
        return sumBallot(k2, x, p, t0, mask, sw[0], sw[1]);
      });
  storeCentroid(b, x, p, k, uc, gc, acc[0], acc[1], it, islast);
}

/// A warp per cluster.
void updateClusters(KernelBuilder &b, const Ctx &x, const Points &p,
                    const KBlock &k, Value it, Value last) {
  Value islast = b.cmp(CmpIPredicate::eq, it, last);
  b.forEach(x.warp, k.Cb, x.cNW, [&](KernelBuilder &kb, Value uc) {
    updateCluster(kb, x, p, k, uc, it, islast);
  });
  b.barrier();
}

/// Lloyd iterations of one CTA over a block (docs/Algorithm.md, "k-means on a
/// block"), seeded first with `seed`. Writes asg at each point's row (cs +
/// local id), cnt (the weight sums) and cent; uses norms as scratch. Ends
/// with a barrier.
void kmeans(KernelBuilder &b, const Ctx &x, const Points &p, const KBlock &k,
            Value iters, bool seed) {
  if (seed)
    seedClusters(b, x, p, k);
  Value last = b.sub(iters, x.c1);
  b.forEach(x.c0, iters, x.c1, [&](KernelBuilder &kb, Value it) {
    computeNorms(kb, x, k);
    assignPoints(kb, x, p, k);
    updateClusters(kb, x, p, k, it, last);
  });
}

/// Value centroid and member list of cluster c, whose members are the rows
/// [ft0, ft1) with asg equal to c (a warp, rows in order, a member's slot =
/// off[c] + members before it). Value rows and weights come from `val`; the
/// mean divides by the number of members (`byMembers`) or by cnt[c] (a coarse
/// cluster's token count). `o0`: off[c] when the caller has it (else loaded).
void finishCluster(KernelBuilder &kb, const Ctx &x, const Points &val, Value c,
                   Value ft0, Value ft1, bool byMembers, Value o0 = {}) {
  Value ci = kb.toI32(c);
  Value o = o0 ? o0 : kb.load(x.off, {x.b, x.h, c});
  SmallVector<Value> acc = kb.forLoop(
      ft0, ft1, x.c32, {x.zvl, x.zf, o},
      [&](KernelBuilder &k2, Value t0, ValueRange it) {
        Value t = k2.add(t0, x.lane);
        Value in = k2.cmp(CmpIPredicate::ult, t, ft1);
        Value tc = k2.select(in, t, ft0);
        Value a = k2.load(x.asg, {x.b, x.h, tc});
        Value eq = k2.cmp(CmpIPredicate::eq, a, ci);
        Value mine = k2.andI(in, eq);
        Value mask = k2.ballot(x.full, mine);
        Value below = k2.andI(mask, x.lmask);
        Value rank = k2.ctpop(below);
        k2.ifThen(mine, [&](KernelBuilder &k3) {
          Value slot = k3.add(it[2], rank);
          Value slotx = k3.toIndex(slot);
          Value ti = k3.toI32(t);
          k3.store(ti, x.mem, {x.b, x.h, slotx});
        });
        Value count = k2.ctpop(mask);
        Value pos = k2.add(it[2], count);
        SmallVector<Value> sw = sumBallot(k2, x, val, t0, mask, it[0], it[1]);
        return SmallVector<Value>{sw[0], sw[1], pos};
      });
  Value n = byMembers ? kb.sub(acc[2], o) : kb.load(x.cnt, {x.b, x.h, c});
  Value pos = kb.cmp(CmpIPredicate::sgt, n, x.c0i);
  Value nf = kb.siToFp(kb.f32(), n);
  Value div = kb.select(pos, nf, x.onef);
  Value nb = kb.broadcast(x.vpl, div);
  Value mean = kb.div(acc[0], nb);
  kb.vstore(mean, x.vcent, {x.b, x.h, c, x.dlane});
}

/// Clusters [fc0, fc1), a warp per cluster.
void finishClusters(KernelBuilder &b, const Ctx &x, const Points &val,
                    Value fc0, Value fc1, Value ft0, Value ft1,
                    bool byMembers) {
  Value lo = b.add(fc0, x.warp);
  b.forEach(lo, fc1, x.cNW, [&](KernelBuilder &kb, Value c) {
    finishCluster(kb, x, val, c, ft0, ft1, byMembers);
  });
}

/// |mu|^2 of the row a warp holds (lane l: `mine`, its vpl dimensions from
/// l * vpl), on every lane: the squares in dimension order (gathered by
/// shuffles), summed in that order from 0, which is what clusterNorm's
/// reduction of the row adds.
Value warpRowNorm(KernelBuilder &b, const Ctx &x, Value mine) {
  // A loop over the source lanes (not unrolled: one lane's values live at a
  // time).
  return b.forLoop(
      x.c0, x.c32, x.c1, {x.zf},
      [&](KernelBuilder &kb, Value l, ValueRange it) {
        Value src = kb.toI32(l);
        Value acc = it[0];
        for (int64_t k = 0; k < x.vpl; ++k) {
          Value e = kb.extract(mine, k);
          Value v = kb.shuffleIdx(e, src);
          Value sq = kb.mul(v, v);
          acc = kb.add(acc, sq);
        }
        return SmallVector<Value>{acc};
      })[0];
}

/// The counts of clusters [lo, hi) summed by a warp (i32, on every lane): the
/// member offset of cluster hi relative to cluster lo's.
Value warpCountSum(KernelBuilder &b, const Ctx &x, Value lo, Value hi) {
  Value part = b.forLoop(
      lo, hi, x.c32, {x.c0i},
      [&](KernelBuilder &kb, Value c0, ValueRange acc) {
        Value c = kb.add(c0, x.lane);
        Value in = kb.cmp(CmpIPredicate::ult, c, hi);
        Value cc = kb.select(in, c, lo);
        Value n = kb.load(x.cnt, {x.b, x.h, cc});
        Value nz = kb.select(in, n, x.c0i);
        return SmallVector<Value>{kb.add(acc[0], nz)};
      })[0];
  return b.warpSum(part);
}

/// Member offset, value centroid and member list of cluster c (a warp):
/// off[c] = base + the counts of clusters [first, c) (not written for c =
/// first, whose offset is base already when `keepFirst`), members among the
/// rows [ft0, ft1).
void finishWithOffset(KernelBuilder &b, const Ctx &x, const Points &val,
                      Value c, Value first, Value base, bool keepFirst,
                      Value ft0, Value ft1) {
  Value pre = warpCountSum(b, x, first, c);
  Value o = b.add(base, pre);
  Value w = x.lane0;
  if (keepFirst) {
    Value later = b.cmp(CmpIPredicate::ne, c, first);
    w = b.andI(w, later);
  }
  b.ifThen(w, [&](KernelBuilder &kb) { kb.store(o, x.off, {x.b, x.h, c}); });
  finishCluster(b, x, val, c, ft0, ft1, true, o);
}

} // namespace

//===----------------------------------------------------------------------===//
// Pre-RoPE keys.
//===----------------------------------------------------------------------===//

gpu::GPUFuncOp mlir::multipole::gpugen::buildPreropeKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const ClusterShape &s, double theta) {
  KernelBuilder b(loc, ob);
  Types ty(ob.getContext(), s);
  MemRefType scratch = KernelBuilder::memref({s.B, s.H, s.N, s.D}, b.f32());
  auto fn = createKernel(b, module, name, {ty.keys, scratch}, {},
                         {int32_t(kThreads), 1, 1});
  Value k = fn.getArgument(0), P = fn.getArgument(1);
  const int64_t half = s.D / 2;
  Value c16 = b.index(16), cT = b.index(kThreads), cHD = b.index(half);
  Value cN = b.index(s.N), cTPC = b.index(16 * half);
  Value lnth = b.f64(std::log(theta)), m2 = b.f64(-2.0);
  Value Df = b.f64(double(s.D));
  Value tid = b.threadId(gpu::Dimension::x);
  Value bx = b.blockId(gpu::Dimension::x);
  Value h = b.blockId(gpu::Dimension::y);
  Value bb = b.blockId(gpu::Dimension::z);
  // 16 tokens per CTA; a thread per (token, rotation pair (i, i + D/2)).
  Value j0 = b.mul(bx, c16);
  Type f64T = b.getF64Type(), f32T = b.f32();
  b.forEach(tid, cTPC, cT, [&](KernelBuilder &kb, Value p) {
    Value dt = kb.div(p, cHD);
    Value i = kb.rem(p, cHD);
    Value j = kb.add(j0, dt);
    Value ok = kb.cmp(CmpIPredicate::ult, j, cN);
    kb.ifThen(ok, [&](KernelBuilder &k2) {
      Value i2 = k2.add(i, cHD);
      // Frequency theta^(-2i/D); the angle is -j (rotation back to 0).
      Value ii = k2.toInt(i, 64);
      Value fi = k2.siToFp(f64T, ii);
      Value e0 = k2.mul(m2, fi);
      Value e1 = k2.div(e0, Df);
      Value e2 = k2.mul(e1, lnth);
      Value w = k2.exp(e2);
      Value ji = k2.toInt(j, 64);
      Value jf = k2.siToFp(f64T, ji);
      Value pos = arith::NegFOp::create(k2, jf);
      Value ang = k2.mul(pos, w);
      Value cs = math::CosOp::create(k2, ang);
      Value sn = math::SinOp::create(k2, ang);
      Value x1f = k2.load(k, {bb, h, j, i});
      Value x2f = k2.load(k, {bb, h, j, i2});
      if (!x1f.getType().isF32()) {
        x1f = k2.extF(f32T, x1f);
        x2f = k2.extF(f32T, x2f);
      }
      Value x1 = k2.extF(f64T, x1f);
      Value x2 = k2.extF(f64T, x2f);
      Value ya = k2.mul(x1, cs);
      Value yb = k2.mul(x2, sn);
      Value y1 = k2.sub(ya, yb);
      Value yc = k2.mul(x2, cs);
      Value yd = k2.mul(x1, sn);
      Value y2 = k2.add(yc, yd);
      Value y1f = k2.truncTo(f32T, y1);
      Value y2f = k2.truncTo(f32T, y2);
      k2.store(y1f, P, {bb, h, j, i});
      k2.store(y2f, P, {bb, h, j, i2});
    });
  });
  b.ret();
  return fn;
}

//===----------------------------------------------------------------------===//
// cluster_build.
//===----------------------------------------------------------------------===//

gpu::GPUFuncOp mlir::multipole::gpugen::buildClusterInitKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const ClusterShape &s, const ClusterConfig &c) {
  KernelBuilder b(loc, ob);
  Types ty(ob.getContext(), s);
  auto fn = createKernel(
      b, module, name,
      {ty.lens, ty.cent, ty.cent, ty.cnt, ty.off, ty.asg, ty.asg, ty.st}, {},
      {int32_t(kThreads), 1, 1});
  Value lens = fn.getArgument(0), st = fn.getArgument(7);
  Ctx x = prelude(b, s.D);
  bindLevel(x, fn, 1);
  Knobs kn(b, s, c);
  x.h = b.blockId(gpu::Dimension::x);
  x.b = b.blockId(gpu::Dimension::y);
  Layout l = layout(b, x, kn, lens);
  // Clusters, the start of the last block and its first cluster.
  SmallVector<Value> tot = b.forLoop(
      x.c0, l.nblk, x.c1, {x.c0, kn.cS, kn.cS, x.c0},
      [&](KernelBuilder &kb, Value i, ValueRange a) {
        BlockLen bl = blockLen(kb, x, kn, l, i);
        Value ncs = kb.add(a[0], bl.Cb);
        Value nst = kb.add(a[1], bl.L);
        return SmallVector<Value>{ncs, nst, a[1], a[0]};
      });
  Value Lci = b.toI32(l.Lc);
  resetLevel(b, x, s, Lci);
  b.ifThen(x.is0, [&](KernelBuilder &kb) {
    Value nci = kb.toI32(tot[0]);
    Value lsi = kb.toI32(tot[2]);
    kb.store(nci, st, {x.b, x.h, x.c0});
    kb.store(Lci, st, {x.b, x.h, x.c1});
    kb.store(lsi, st, {x.b, x.h, kb.index(2)});
    Value lcsi = kb.toI32(tot[3]);
    kb.store(lcsi, st, {x.b, x.h, kb.index(3)});
  });
  b.ret();
  return fn;
}

//===----------------------------------------------------------------------===//
// k-means over the grid: one item (cluster or point) per thread or warp.
//===----------------------------------------------------------------------===//

namespace {

/// (head, sequence) of a kernel of grid (H, B).
void placeHB(KernelBuilder &b, Ctx &x) {
  x.h = b.blockId(gpu::Dimension::x);
  x.b = b.blockId(gpu::Dimension::y);
}

/// (head, sequence) of a kernel of grid (chunks, H, B), and its item: this
/// thread's (chunks of kThreads items) or this warp's (chunks of kWarps).
Value placeItem(KernelBuilder &b, Ctx &x, bool perWarp) {
  x.h = b.blockId(gpu::Dimension::y);
  x.b = b.blockId(gpu::Dimension::z);
  Value chunk = b.blockId(gpu::Dimension::x);
  Value first = b.mul(chunk, perWarp ? x.cNW : x.cT);
  return b.add(first, perWarp ? x.warp : x.tid);
}

/// The k-means blocks of a grid kernel. Update: the current block of (b, h),
/// from its descriptor blk[b, h] = (first token, points, first cluster,
/// clusters), none when it has no points. Build: the level-0 blocks of the
/// layout of lens[b] (docs/Algorithm.md "Build").
struct GridBlocks {
  bool build = false;
  Value P;
  Value pstart, L, cs, Cb; // update
  Layout l;                // build
  Value CbF;               // build: clusters of a full block
};

GridBlocks gridBlocks(KernelBuilder &b, const Ctx &x, const Knobs &kn,
                      Value P, Value scope, bool build) {
  GridBlocks g;
  g.build = build;
  g.P = P;
  if (build) {
    g.l = layout(b, x, kn, scope);
    g.CbF = clusterCount(b, x, kn, kn.cBS);
    return g;
  }
  SmallVector<Value> d;
  for (int64_t i = 0; i < 4; ++i) {
    Value di = b.load(scope, {x.b, x.h, b.index(i)});
    d.push_back(b.toIndex(di));
  }
  g.pstart = d[0];
  g.L = d[1];
  g.cs = d[2];
  g.Cb = d[3];
  return g;
}

/// Item i of the grid (a point when `point`, else a cluster): whether it
/// exists, the points and the block it belongs to, and its index in the
/// block.
struct Item {
  Value ok;
  Points p;
  KBlock k;
  Value i;
};

Item gridItem(KernelBuilder &b, const Ctx &x, const Knobs &kn,
              const GridBlocks &g, Value i, bool point) {
  if (!g.build) {
    Value ok = b.cmp(CmpIPredicate::ult, i, point ? g.L : g.Cb);
    return {ok, Points{g.P, {}, {}, g.pstart}, KBlock{g.L, g.cs, g.Cb}, i};
  }
  // The blocks before the last one are full (BS points, CbF clusters), so
  // the block of item i is min(i / per, nblk - 1) (wrapped but unused when
  // there is no block).
  const Layout &l = g.l;
  Value per = point ? kn.cBS : g.CbF;
  Value q = b.div(i, per);
  Value last = b.sub(l.nblk, x.c1);
  Value blk = b.minU(q, last);
  BlockLen bl = blockLen(b, x, kn, l, blk);
  Value first = b.mul(blk, per);
  Value li = b.sub(i, first);
  Value any = b.cmp(CmpIPredicate::ugt, l.nblk, x.c0);
  Value in = b.cmp(CmpIPredicate::ult, li, point ? bl.L : bl.Cb);
  Value ok = b.andI(any, in);
  Value off = b.mul(blk, kn.cBS);
  Value pstart = b.add(kn.cS, off);
  Value cs = b.mul(blk, g.CbF);
  return {ok, Points{g.P, {}, {}, pstart}, KBlock{bl.L, cs, bl.Cb}, li};
}

/// Starts a grid k-means kernel (grid (chunks, H, B), 256 threads):
/// arguments (scope, points, a [B, H, C, D] f32 array, `more`...), the scope
/// being lens (build) or the block descriptor (update).
gpu::GPUFuncOp createGridKernel(KernelBuilder &b, gpu::GPUModuleOp module,
                                StringRef name, const ClusterShape &s,
                                MemRefType pointsT, bool build,
                                ArrayRef<Type> more,
                                ArrayRef<Type> workgroup = {}) {
  Types ty(b.getContext(), s);
  SmallVector<Type> args = {build ? ty.lens : ty.st, pointsT, ty.cent};
  args.append(more.begin(), more.end());
  return createKernel(b, module, name, args, workgroup,
                      {int32_t(kThreads), 1, 1});
}

/// The item of this thread (or warp, `perWarp`) of a grid kernel: a point
/// (`point`) or a cluster.
Item gridStart(KernelBuilder &b, gpu::GPUFuncOp fn, Ctx &x, const Knobs &kn,
               bool build, bool perWarp, bool point) {
  Value i = placeItem(b, x, perWarp);
  GridBlocks g =
      gridBlocks(b, x, kn, fn.getArgument(1), fn.getArgument(0), build);
  return gridItem(b, x, kn, g, i, point);
}

/// Clusters a grid assign kernel stages in workgroup memory at a time.
constexpr int64_t kStage = 32;

/// Whether every point of a CTA of the grid assign kernel belongs to one
/// k-means block, as the staged assignment needs: always in the update (one
/// block per (b, h)); in the build when blocks start at multiples of the CTA
/// (block starts are multiples of block_size).
bool ctaInOneBlock(const ClusterConfig &c, bool build) {
  return !build || c.blockSize % kThreads == 0;
}

/// The centroids of clusters [c0, c0 + n) of block `k` into sc[kStage, D]
/// and their |mu|^2 into sn[kStage], by the whole CTA (16-byte copies).
void stageClusters(KernelBuilder &b, const Ctx &x, const KBlock &k, Value c0,
                   Value n, Value sc, Value sn) {
  const int64_t q4 = x.D / 4;
  Value cq4 = b.index(q4), c4 = b.index(4);
  Value total = b.mul(n, cq4);
  b.forEach(x.tid, total, x.cT, [&](KernelBuilder &kb, Value v) {
    Value cl = kb.div(v, cq4);
    Value part = kb.rem(v, cq4);
    Value d = kb.mul(part, c4);
    Value gc0 = kb.add(k.cs, c0);
    Value gc = kb.add(gc0, cl);
    Value m = kb.vloadAligned(4, x.cent, {x.b, x.h, gc, d}, 16);
    kb.vstore(m, sc, {cl, d});
  });
  b.forEach(x.tid, n, x.cT, [&](KernelBuilder &kb, Value cl) {
    Value gc0 = kb.add(k.cs, c0);
    Value gc = kb.add(gc0, cl);
    Value nm = kb.load(x.norms, {x.b, x.h, gc});
    kb.store(nm, sn, {cl});
  });
}

/// Assignment of the CTA's points (`it`, all in one block: ctaInOneBlock)
/// with the block's centroids staged through workgroup memory, kStage at a
/// time. The FMAs, the sums and the argmin steps are assignPoint's, in its
/// order, so the assignments are the same bit for bit. Every thread takes
/// part in the staging (the barriers); threads past the block's points load
/// its last point and store nothing. `active`: the CTA has a point.
void assignPointsStaged(KernelBuilder &b, const Ctx &x, const Item &it,
                        Value active, Value sc, Value sn) {
  const KBlock &k = it.k;
  b.ifThen(active, [&](KernelBuilder &kb) {
    Value lm1 = kb.sub(k.L, x.c1);
    Value t = kb.select(it.ok, it.i, lm1);
    Value j = rowIdx(kb, x, it.p, t);
    Value row = loadRow(kb, x, it.p.P, j, x.c0, x.D);
    SmallVector<Value> xs = slices(kb, row, x.D);
    Value cK = kb.index(kStage);
    SmallVector<Value> best = kb.forLoop(
        x.c0, k.Cb, cK, {x.c0, x.inff},
        [&](KernelBuilder &k2, Value c0, ValueRange acc0) {
          Value left = k2.sub(k.Cb, c0);
          Value n = k2.minU(left, cK);
          k2.barrier();
          stageClusters(k2, x, k, c0, n, sc, sn);
          k2.barrier();
          return k2.forLoop(
              x.c0, n, x.c1, acc0,
              [&](KernelBuilder &k3, Value cl, ValueRange acc) {
                Value dot = pointDot(k3, x, xs, sc, {cl});
                Value nm = k3.load(sn, {cl});
                Value c = k3.add(c0, cl);
                return argminStep(k3, dot, nm, c, acc);
              });
        });
    kb.ifThen(it.ok, [&](KernelBuilder &k2) {
      Value ga = k2.add(k.cs, best[0]);
      Value gai = k2.toI32(ga);
      k2.store(gai, x.asg, {x.b, x.h, j});
    });
  });
}


//===----------------------------------------------------------------------===//
// The assignment on tensor cores (bf16 points).
//===----------------------------------------------------------------------===//

/// Clusters the tensor-core assignment stages at a time, and the row length
/// of a staged centroid in i32 words (bf16 pairs): D / 2 + 4, so that the
/// 8 rows x 4 words of a B fragment load fall in 32 different banks.
constexpr int64_t kMmaStage = 64;
int64_t mmaRowWords(int64_t D) { return D / 2 + 4; }

/// Whether the assignment runs on tensor cores: bf16 points (the keys; the
/// pre-RoPE f32 scratch of windowed RoPE is not), whole k-steps of 16, and
/// the staged layout (a CTA in one block).
bool mmaAssign(const ClusterShape &s, const ClusterConfig &c, StringRef PE,
               bool build) {
  return PE == "bf16" && s.D % 16 == 0 && ctaInOneBlock(c, build);
}

/// The centroids of clusters [c0, c0 + n) of block `k` split into two bf16
/// rows each, hi = bf16(mu) and lo = bf16(mu - hi), into hi/lo[kMmaStage,
/// words] (packed pairs), and their f32 |mu|^2 into sn; slots past n hold
/// zero rows and |mu|^2 = +inf, so they never win an argmin.
void stageClustersSplit(KernelBuilder &b, const Ctx &x, const KBlock &k,
                        Value c0, Value n, Value hi, Value lo, Value sn) {
  const int64_t q4 = x.D / 4;
  Value cq4 = b.index(q4), c4 = b.index(4), c2 = b.index(2);
  Value cK = b.index(kMmaStage);
  Value total = b.index(kMmaStage * q4);
  Value nm1 = b.sub(n, x.c1);
  Value gc0 = b.add(k.cs, c0);
  auto v4bf = VectorType::get({4}, b.getBF16Type());
  auto v4f = VectorType::get({4}, b.f32());
  auto v2i = VectorType::get({2}, b.getI32Type());
  b.forEach(x.tid, total, x.cT, [&](KernelBuilder &kb, Value v) {
    Value cl = kb.div(v, cq4);
    Value part = kb.rem(v, cq4);
    Value d = kb.mul(part, c4);
    Value w = kb.mul(part, c2);
    Value in = kb.cmp(CmpIPredicate::ult, cl, n);
    Value gc = kb.add(gc0, kb.minU(cl, nm1));
    Value m0 = kb.vloadAligned(4, x.cent, {x.b, x.h, gc, d}, 16);
    Value m = kb.select(in, m0, x.zv4);
    Value h = kb.truncTo(v4bf, m);
    Value r = kb.sub(m, kb.extF(v4f, h));
    Value l = kb.truncTo(v4bf, r);
    kb.vstore(vector::BitCastOp::create(kb, v2i, h), hi, {cl, w});
    if (x.split)
      kb.vstore(vector::BitCastOp::create(kb, v2i, l), lo, {cl, w});
  });
  b.forEach(x.tid, cK, x.cT, [&](KernelBuilder &kb, Value cl) {
    Value in = kb.cmp(CmpIPredicate::ult, cl, n);
    Value gc = kb.add(gc0, kb.minU(cl, nm1));
    Value nm = kb.load(x.norms, {x.b, x.h, gc});
    kb.store(kb.select(in, nm, x.inff), sn, {cl});
  });
}

/// The A fragments of the warp's rows (block-local points rows[0..3] of
/// m-tiles 0 and 1, rows g and g + 8 of each): per m-tile and k-step, the
/// four registers (row g, k 2t), (g + 8, 2t), (g, 2t + 8), (g + 8, 2t + 8).
SmallVector<SmallVector<std::array<Value, 4>>>
pointFragments(KernelBuilder &b, const Ctx &x, Value P, ArrayRef<Value> rows,
               Value t2) {
  SmallVector<SmallVector<std::array<Value, 4>>> a(2);
  for (int64_t mt = 0; mt < 2; ++mt)
    for (int64_t kb = 0; kb < x.D / 16; ++kb) {
      std::array<Value, 4> f;
      for (int64_t r = 0; r < 4; ++r) {
        Value k = b.add(t2, b.index(kb * 16 + (r / 2) * 8));
        f[r] = loadPair(b, P, {x.b, x.h, rows[2 * mt + r % 2], k});
      }
      a[mt].push_back(f);
    }
  return a;
}

/// Assignment of the CTA's points on tensor cores: warp w takes block-local
/// points first + 32 w .. + 32 (two m16 tiles); per staged n-tile of 8
/// clusters, x . mu = x . hi + x . lo from two bf16 mma.sync per k-step with
/// f32 accumulation, then distance |mu|^2 - 2 x . mu with the f32 |mu|^2 of
/// the means kernel. Each lane keeps the argmin of its 2 columns per n-tile
/// in cluster order (strictly smaller wins: lowest id on ties), and the 4
/// lanes of a row merge at the end with the same rule. Only the dot product
/// differs from the f32 assignment: mu carries 16 of its 24 mantissa bits
/// (docs/Algorithm.md, "GPU build": the tie rule).
void assignPointsMma(KernelBuilder &b, const Ctx &x, const Item &first,
                     Value active, Value hi, Value lo, Value sn) {
  const KBlock &k = first.k;
  b.ifThen(active, [&](KernelBuilder &kb) {
    Value c4 = kb.index(4);
    Value g = kb.div(x.lane, c4);
    Value t = kb.rem(x.lane, c4);
    Value t2 = kb.mul(t, kb.index(2));
    Value base = kb.add(first.i, kb.mul(x.warp, x.c32));
    Value lm1 = kb.sub(k.L, x.c1);
    SmallVector<Value> rows, oks;
    for (int64_t r = 0; r < 4; ++r) {
      // m-tile r / 2, row half r % 2.
      Value p = kb.add(kb.add(base, kb.index((r / 2) * 16 + (r % 2) * 8)), g);
      Value ok = kb.cmp(CmpIPredicate::ult, p, k.L);
      Value pc = kb.select(ok, p, lm1);
      rows.push_back(rowIdx(kb, x, first.p, pc));
      oks.push_back(ok);
    }
    auto a = pointFragments(kb, x, first.p.P, rows, t2);
    SmallVector<Value> init;
    for (int64_t r = 0; r < 4; ++r)
      init.append({x.c0, x.inff});
    Value cK = kb.index(kMmaStage), c8 = kb.index(8);
    SmallVector<Value> best = kb.forLoop(
        x.c0, k.Cb, cK, init,
        [&](KernelBuilder &k2, Value c0, ValueRange acc0) {
          Value n = k2.minU(k2.sub(k.Cb, c0), cK);
          k2.barrier();
          stageClustersSplit(k2, x, k, c0, n, hi, lo, sn);
          k2.barrier();
          Value ntiles = k2.ceilDivU(n, c8);
          return k2.forLoop(
              x.c0, ntiles, x.c1, acc0,
              [&](KernelBuilder &k3, Value nt, ValueRange acc) {
                Value nt8 = k3.mul(nt, c8);
                Value crow = k3.add(nt8, g);
                Value zf = x.zf;
                std::array<SmallVector<Value>, 2> c = {
                    SmallVector<Value>{zf, zf, zf, zf},
                    SmallVector<Value>{zf, zf, zf, zf}};
                for (int64_t kbk = 0; kbk < x.D / 16; ++kbk) {
                  Value w0 = k3.add(t, k3.index(kbk * 8));
                  Value w1 = k3.add(w0, c4);
                  SmallVector<Value, 2> parts = {hi};
                  if (x.split)
                    parts.push_back(lo);
                  for (Value part : parts) {
                    Value b0 = k3.load(part, {crow, w0});
                    Value b1 = k3.load(part, {crow, w1});
                    for (int64_t mt = 0; mt < 2; ++mt) {
                      Value d = mmaBf16(k3, ValueRange(a[mt][kbk]),
                                        ValueRange{b0, b1}, c[mt]);
                      for (int64_t i = 0; i < 4; ++i)
                        c[mt][i] = LLVM::ExtractValueOp::create(
                            k3, d, ArrayRef<int64_t>{i});
                    }
                  }
                }
                SmallVector<Value> next(acc.begin(), acc.end());
                for (int64_t j = 0; j < 2; ++j) {
                  Value col = k3.add(k3.add(nt8, t2), k3.index(j));
                  Value nrm = k3.load(sn, {col});
                  Value cid = k3.add(c0, col);
                  for (int64_t r = 0; r < 4; ++r) {
                    Value dot = c[r / 2][(r % 2) * 2 + j];
                    SmallVector<Value> s = argminStep(
                        k3, dot, nrm, cid, {next[2 * r], next[2 * r + 1]});
                    next[2 * r] = s[0];
                    next[2 * r + 1] = s[1];
                  }
                }
                return next;
              });
        });
    Value t0 = kb.cmp(CmpIPredicate::eq, t, x.c0);
    for (int64_t r = 0; r < 4; ++r) {
      Value id = shuffleArgmin(kb, best[2 * r + 1], kb.toI32(best[2 * r]),
                               {1, 2})
                     .second;
      Value st = kb.andI(t0, oks[r]);
      kb.ifThen(st, [&](KernelBuilder &k2) {
        Value ga = k2.add(k2.toI32(k.cs), id);
        k2.store(ga, x.asg, {x.b, x.h, rows[r]});
      });
    }
  });
}

/// The grid assign kernel on tensor cores (mmaAssign): the CTA's 256 points
/// in one block, the block's centroids staged kMmaStage at a time.
gpu::GPUFuncOp buildMmaAssignKernel(KernelBuilder &b, gpu::GPUModuleOp module,
                                    StringRef name, const ClusterShape &s,
                                    const ClusterConfig &c, StringRef PE,
                                    bool build) {
  Types ty(b.getContext(), s);
  Type i32 = b.getI32Type();
  int64_t words = mmaRowWords(s.D);
  auto fn = createGridKernel(
      b, module, name, s, Types::points(b.getContext(), s, PE), build,
      {ty.norms, ty.asg},
      {KernelBuilder::workgroup({kMmaStage, words}, i32),
       KernelBuilder::workgroup({kMmaStage, words}, i32),
       KernelBuilder::workgroup({kMmaStage}, b.f32())});
  for (unsigned w = 0; w < 3; ++w)
    fn.setWorkgroupAttributionAttr(w, LLVM::LLVMDialect::getAlignAttrName(),
                                   b.getI64IntegerAttr(16));
  Ctx x = prelude(b, s.D);
  x.split = s.kmeansSplit;
  x.cent = fn.getArgument(2);
  x.norms = fn.getArgument(3);
  x.asg = fn.getArgument(4);
  Knobs kn(b, s, c);
  Value i = placeItem(b, x, false);
  GridBlocks g =
      gridBlocks(b, x, kn, fn.getArgument(1), fn.getArgument(0), build);
  Value i0 = b.sub(i, x.tid);
  Item first = gridItem(b, x, kn, g, i0, true);
  auto wg = fn.getWorkgroupAttributions();
  assignPointsMma(b, x, first, first.ok, wg[0], wg[1], wg[2]);
  b.ret();
  return fn;
}

} // namespace

gpu::GPUFuncOp mlir::multipole::gpugen::buildKMeansAssignKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const ClusterShape &s, const ClusterConfig &c, StringRef PE, bool build) {
  KernelBuilder b(loc, ob);
  Types ty(ob.getContext(), s);
  if (mmaAssign(s, c, PE, build))
    return buildMmaAssignKernel(b, module, name, s, c, PE, build);
  const bool staged = ctaInOneBlock(c, build);
  auto fn =
      createGridKernel(b, module, name, s, Types::points(ob.getContext(), s, PE),
                       build, {ty.norms, ty.asg},
                       staged ? SmallVector<Type>{KernelBuilder::workgroup(
                                                      {kStage, s.D}, b.f32()),
                                                  KernelBuilder::workgroup(
                                                      {kStage}, b.f32())}
                              : SmallVector<Type>{});
  // 16-byte vector loads and stores of the staged rows need 16-byte
  // alignment of the buffers (the default of the lowering is 4).
  for (unsigned w = 0; staged && w < 2; ++w)
    fn.setWorkgroupAttributionAttr(w, LLVM::LLVMDialect::getAlignAttrName(),
                                   b.getI64IntegerAttr(16));
  Ctx x = prelude(b, s.D);
  x.cent = fn.getArgument(2);
  x.norms = fn.getArgument(3);
  x.asg = fn.getArgument(4);
  Knobs kn(b, s, c);
  if (!staged) {
    Item it = gridStart(b, fn, x, kn, build, false, true);
    b.ifThen(it.ok, [&](KernelBuilder &kb) {
      assignPoint(kb, x, it.p, it.k, it.i);
    });
    b.ret();
    return fn;
  }
  // The CTA is active when its first point exists (points of a block are a
  // prefix of its items).
  Value i = placeItem(b, x, false);
  GridBlocks g =
      gridBlocks(b, x, kn, fn.getArgument(1), fn.getArgument(0), build);
  Item it = gridItem(b, x, kn, g, i, true);
  Value i0 = b.sub(i, x.tid);
  Item first = gridItem(b, x, kn, g, i0, true);
  assignPointsStaged(b, x, it, first.ok, fn.getWorkgroupAttributions()[0],
                     fn.getWorkgroupAttributions()[1]);
  b.ret();
  return fn;
}

//===----------------------------------------------------------------------===//
// Member lists of the Lloyd passes: a stable counting sort per block.
//===----------------------------------------------------------------------===//

namespace {

/// The scratch of the sorted means: sidx [B, H, N] (the block's point rows,
/// by cluster, ascending within one; a block's run starts at its first
/// point), sbeg and scnt [B, H, C] (a cluster's first position and count).
struct Sorted {
  Value sidx, sbeg, scnt;
};

/// The k-means block of the CTA of a sort kernel: blockIdx.x of the build's
/// layout, or the update's descriptor (one block, CTA 0). `ok`: it exists.
Item sortBlock(KernelBuilder &b, Ctx &x, const Knobs &kn, Value scope,
               bool build) {
  x.h = b.blockId(gpu::Dimension::y);
  x.b = b.blockId(gpu::Dimension::z);
  Value blk = b.blockId(gpu::Dimension::x);
  GridBlocks g = gridBlocks(b, x, kn, Value(), scope, build);
  if (!build) {
    Item it = gridItem(b, x, kn, g, x.c0, true);
    Value first = b.cmp(CmpIPredicate::eq, blk, x.c0);
    it.ok = b.andI(it.ok, first);
    return it;
  }
  Value i = b.mul(blk, kn.cBS);
  Item it = gridItem(b, x, kn, g, i, true);
  Value exists = b.cmp(CmpIPredicate::ult, blk, g.l.nblk);
  it.ok = b.andI(it.ok, exists);
  return it;
}

/// Inclusive prefix sum of v over the warp (shuffles up 1 .. 16).
Value warpScan(KernelBuilder &b, const Ctx &x, Value v) {
  for (int64_t off = 1; off < 32; off *= 2) {
    Value o = b.shuffle(gpu::ShuffleMode::UP, v, b.i32(off));
    Value has = b.cmp(CmpIPredicate::uge, x.lane, b.index(off));
    v = b.add(v, b.select(has, o, x.c0i));
  }
  return v;
}

/// This warp's points of the block: [lo, hi) of the L points, the CTA's
/// warps taking consecutive segments of whole 32-point chunks.
std::pair<Value, Value> warpSegment(KernelBuilder &b, const Ctx &x, Value L) {
  Value c32w = b.index(32 * kWarps);
  Value seg0 = b.ceilDivU(L, c32w);
  Value seg = b.mul(seg0, x.c32);
  Value lo = b.minU(b.mul(x.warp, seg), L);
  Value hi = b.minU(b.add(lo, seg), L);
  return {lo, hi};
}

/// The sum of the rows of P listed at sidx[beg, beg + n) (a warp: each lane
/// its vpl dimensions) in list order, ids 32 at a time, rows 4 at a time so
/// that their loads overlap; the same FMAs in the same order as sumBallot's
/// over the same points. With `mem`, the list is also copied to mem[o, o +
/// n). Returns (sum, count as f32).
SmallVector<Value> sumSorted(KernelBuilder &b, const Ctx &x, Value P,
                             const Sorted &so, Value beg, Value n,
                             Value mem = {}, Value o = {}) {
  Value c4 = b.index(4);
  return b.forLoop(
      x.c0, n, x.c32, {x.zvl, x.zf},
      [&](KernelBuilder &k2, Value m0, ValueRange sw0) {
        Value m = k2.add(m0, x.lane);
        Value in = k2.cmp(CmpIPredicate::ult, m, n);
        Value mc = k2.select(in, m, x.c0);
        Value id0 = k2.load(so.sidx, {x.b, x.h, k2.add(beg, mc)});
        Value ids = k2.select(in, id0, x.c0i);
        if (mem)
          k2.ifThen(in, [&](KernelBuilder &k3) {
            k3.store(ids, mem, {x.b, x.h, k3.add(o, m)});
          });
        Value cnt = k2.minU(k2.sub(n, m0), x.c32);
        return k2.forLoop(
            x.c0, cnt, c4, sw0,
            [&](KernelBuilder &k3, Value q0, ValueRange sw) {
              SmallVector<Value> rows, oks;
              for (int64_t q = 0; q < 4; ++q) {
                Value qq = k3.add(q0, k3.index(q));
                oks.push_back(k3.cmp(CmpIPredicate::ult, qq, cnt));
                Value j = k3.shuffleIdx(ids, k3.toI32(qq));
                rows.push_back(
                    loadRow(k3, x, P, k3.toIndex(j), x.dlane, x.vpl));
              }
              Value s = sw[0], w = sw[1];
              Value wt = x.onef;
              Value wv = k3.broadcast(x.vpl, wt);
              for (int64_t q = 0; q < 4; ++q) {
                Value s2 = k3.fma(wv, rows[q], s);
                Value w2 = k3.add(w, wt);
                s = k3.select(oks[q], s2, s);
                w = k3.select(oks[q], w2, w);
              }
              return SmallVector<Value>{s, w};
            });
      });
}

/// Update of cluster uc of the block by a warp from its sorted member list
/// (sumSorted: the ballot version's sums), then storeCentroid.
void updateClusterSorted(KernelBuilder &b, const Ctx &x, const Points &p,
                         const KBlock &k, const Sorted &so, Value uc,
                         Value it, Value islast) {
  Value gc = b.add(k.cs, uc);
  Value beg = b.toIndex(b.load(so.sbeg, {x.b, x.h, gc}));
  Value n = b.toIndex(b.load(so.scnt, {x.b, x.h, gc}));
  SmallVector<Value> acc = sumSorted(b, x, p.P, so, beg, n);
  storeCentroid(b, x, p, k, uc, gc, acc[0], acc[1], it, islast);
}

/// The finish of cluster gc from the last Lloyd pass's sorted lists (a
/// warp): off[gc] = sbeg[gc] - sink (the tokens of a block follow those of
/// the blocks before it, all clustered), the member list copied to mem, and
/// the value centroid, the mean of the members' rows of V summed in point
/// order as finishCluster does. `writeOff`: whether off[gc] is written.
void finishSorted(KernelBuilder &b, const Ctx &x, const Knobs &kn, Value V,
                  const Sorted &so, Value gc, Value writeOff) {
  Value begi = b.load(so.sbeg, {x.b, x.h, gc});
  Value ni = b.load(so.scnt, {x.b, x.h, gc});
  Value oi = b.sub(begi, b.toI32(kn.cS));
  b.ifThen(b.andI(x.lane0, writeOff),
           [&](KernelBuilder &kb) { kb.store(oi, x.off, {x.b, x.h, gc}); });
  SmallVector<Value> acc = sumSorted(b, x, V, so, b.toIndex(begi),
                                     b.toIndex(ni), x.mem, b.toIndex(oi));
  Value pos = b.cmp(CmpIPredicate::sgt, ni, x.c0i);
  Value nf = b.siToFp(b.f32(), ni);
  Value div = b.select(pos, nf, x.onef);
  Value mean = b.div(acc[0], b.broadcast(x.vpl, div));
  b.vstore(mean, x.vcent, {x.b, x.h, gc, x.dlane});
}

} // namespace

bool mlir::multipole::gpugen::sortedMeans(const ClusterShape &s,
                                          const ClusterConfig &c) {
  // The sort kernel's histograms and totals, (kWarps + 1) x maxCb i32, in
  // static shared memory.
  return (kWarps + 1) * updateBounds(s, c).maxCb * 4 <= 40 * 1024;
}

gpu::GPUFuncOp mlir::multipole::gpugen::buildKMeansSortKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const ClusterShape &s, const ClusterConfig &c, bool build) {
  KernelBuilder b(loc, ob);
  Types ty(ob.getContext(), s);
  Type i32 = b.getI32Type();
  const int64_t maxCb = updateBounds(s, c).maxCb;
  auto fn = createKernel(
      b, module, name,
      {build ? ty.lens : ty.st, ty.asg, ty.sidx, ty.cnt, ty.cnt},
      {KernelBuilder::workgroup({kWarps, maxCb}, i32),
       KernelBuilder::workgroup({maxCb}, i32)},
      {int32_t(kThreads), 1, 1});
  Value hist = fn.getWorkgroupAttributions()[0];
  Value tot = fn.getWorkgroupAttributions()[1];
  Ctx x = prelude(b, s.D);
  x.asg = fn.getArgument(1);
  Sorted so{fn.getArgument(2), fn.getArgument(3), fn.getArgument(4)};
  Knobs kn(b, s, c);
  Item it = sortBlock(b, x, kn, fn.getArgument(0), build);
  const KBlock &k = it.k;
  Value p0 = it.p.pstart;
  b.ifThen(it.ok, [&](KernelBuilder &kb) {
    Value csi = kb.toI32(k.cs);
    Value cW = kb.index(kWarps);
    // 1. Per-warp histograms of the warps' segments.
    Value hn = kb.mul(cW, k.Cb);
    kb.forEach(x.tid, hn, x.cT, [&](KernelBuilder &k2, Value v) {
      k2.store(x.c0i, hist, {k2.div(v, k.Cb), k2.rem(v, k.Cb)});
    });
    kb.barrier();
    std::pair<Value, Value> seg = warpSegment(kb, x, k.L);
    Value lo = seg.first, hi = seg.second;
    auto localOf = [&](KernelBuilder &k2, Value t) {
      Value a = k2.load(x.asg, {x.b, x.h, k2.add(p0, t)});
      Value l = k2.sub(a, csi);
      // An assignment outside the block (never, for the kernels' own
      // states) is clamped so that the lists stay in bounds.
      Value cbm1 = k2.toI32(k2.sub(k.Cb, x.c1));
      Value hiC = k2.select(k2.cmp(CmpIPredicate::ugt, l, cbm1), cbm1, l);
      return k2.toIndex(hiC);
    };
    kb.forEach(lo, hi, x.c32, [&](KernelBuilder &k2, Value t0) {
      Value t = k2.add(t0, x.lane);
      Value in = k2.cmp(CmpIPredicate::ult, t, hi);
      k2.ifThen(in, [&](KernelBuilder &k3) {
        k3.atomicAdd(x.c1i, hist, {x.warp, localOf(k3, t)});
      });
    });
    kb.barrier();
    // 2. Per cluster: the warps' counts become exclusive prefixes over the
    // warps, the total goes to tot.
    kb.forEach(x.tid, k.Cb, x.cT, [&](KernelBuilder &k2, Value cl) {
      Value run = x.c0i;
      for (int64_t w = 0; w < kWarps; ++w) {
        Value cw = k2.index(w);
        Value h = k2.load(hist, {cw, cl});
        k2.store(run, hist, {cw, cl});
        run = k2.add(run, h);
      }
      k2.store(run, tot, {cl});
    });
    kb.barrier();
    // 3. Warp 0: exclusive prefix of the totals over the clusters (the
    // clusters' first positions), written with the counts to sbeg / scnt.
    Value w0 = kb.cmp(CmpIPredicate::eq, x.warp, x.c0);
    kb.ifThen(w0, [&](KernelBuilder &k2) {
      Value p0i = k2.toI32(p0);
      k2.forLoop(
          x.c0, k.Cb, x.c32, {p0i},
          [&](KernelBuilder &k3, Value c0, ValueRange carry) {
            Value cl = k3.add(c0, x.lane);
            Value in = k3.cmp(CmpIPredicate::ult, cl, k.Cb);
            Value clc = k3.minU(cl, k3.sub(k.Cb, x.c1));
            Value v0 = k3.load(tot, {clc});
            Value v = k3.select(in, v0, x.c0i);
            Value incl = warpScan(k3, x, v);
            Value beg = k3.add(carry[0], k3.sub(incl, v));
            k3.ifThen(in, [&](KernelBuilder &k4) {
              k4.store(beg, tot, {cl});
              Value gc = k4.add(k.cs, cl);
              k4.store(beg, so.sbeg, {x.b, x.h, gc});
              k4.store(v, so.scnt, {x.b, x.h, gc});
            });
            Value all = k3.shuffleIdx(incl, k3.i32(31));
            return SmallVector<Value>{k3.add(carry[0], all)};
          });
    });
    kb.barrier();
    // 4. Cursors: each warp's first position per cluster.
    kb.forEach(x.tid, k.Cb, x.cT, [&](KernelBuilder &k2, Value cl) {
      Value beg = k2.load(tot, {cl});
      for (int64_t w = 0; w < kWarps; ++w) {
        Value cw = k2.index(w);
        Value h = k2.load(hist, {cw, cl});
        k2.store(k2.add(h, beg), hist, {cw, cl});
      }
    });
    kb.barrier();
    // 5. Each warp places its points in order: a point's slot is its
    // warp's cursor plus the lanes below it with the same cluster
    // (match.any); the group's lowest lane then advances the cursor.
    kb.forEach(lo, hi, x.c32, [&](KernelBuilder &k2, Value t0) {
      Value t = k2.add(t0, x.lane);
      Value in = k2.cmp(CmpIPredicate::ult, t, hi);
      Value tc = k2.select(in, t, lo);
      Value a = localOf(k2, tc);
      Value key = k2.select(in, k2.toI32(a), x.cm1i);
      Value mask = NVVM::MatchSyncOp::create(k2, k2.getI32Type(), x.full, key,
                                             NVVM::MatchSyncKind::any);
      Value rank = k2.ctpop(k2.andI(mask, x.lmask));
      Value cur = k2.load(hist, {x.warp, a});
      NVVM::SyncWarpOp::create(k2, x.full);
      k2.ifThen(in, [&](KernelBuilder &k3) {
        Value slot = k3.toIndex(k3.add(cur, rank));
        Value row = k3.toI32(k3.add(p0, t));
        k3.store(row, so.sidx, {x.b, x.h, slot});
        Value lead = k3.cmp(CmpIPredicate::eq, rank, x.c0i);
        k3.ifThen(lead, [&](KernelBuilder &k4) {
          k4.store(k4.add(cur, k4.ctpop(mask)), hist, {x.warp, a});
        });
      });
      NVVM::SyncWarpOp::create(k2, x.full);
    });
  });
  b.ret();
  return fn;
}

gpu::GPUFuncOp mlir::multipole::gpugen::buildKMeansMeansKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const ClusterShape &s, const ClusterConfig &c, StringRef PE, bool build) {
  KernelBuilder b(loc, ob);
  Types ty(ob.getContext(), s);
  const bool sorted = sortedMeans(s, c);
  SmallVector<Type> args = {ty.cnt};
  if (sorted)
    args.append({ty.sidx, ty.cnt, ty.cnt});
  else
    args.push_back(ty.asg);
  args.append({ty.norms, b.getI32Type()});
  auto fn = createGridKernel(b, module, name, s,
                             Types::points(ob.getContext(), s, PE), build,
                             args);
  Ctx x = prelude(b, s.D);
  x.cent = fn.getArgument(2);
  x.cnt = fn.getArgument(3);
  unsigned next = 4;
  Sorted so;
  if (sorted) {
    so = Sorted{fn.getArgument(4), fn.getArgument(5), fn.getArgument(6)};
    next = 7;
  } else {
    x.asg = fn.getArgument(next++);
  }
  x.norms = fn.getArgument(next++);
  Knobs kn(b, s, c);
  Item item = gridStart(b, fn, x, kn, build, true, false);
  // The iteration (kernel argument) and whether it is the last one.
  Value it = b.toIndex(fn.getArgument(next));
  Value last = b.index((build ? c.buildIters : c.updateIters) - 1);
  Value islast = b.cmp(CmpIPredicate::eq, it, last);
  Value more = b.notI(islast);
  b.ifThen(item.ok, [&](KernelBuilder &kb) {
    if (sorted)
      updateClusterSorted(kb, x, item.p, item.k, so, item.i, it, islast);
    else
      updateCluster(kb, x, item.p, item.k, item.i, it, islast);
    // |mu|^2 for the next iteration's assignment, from the row the lanes
    // just wrote (each reads its own dimensions back).
    kb.ifThen(more, [&](KernelBuilder &k2) {
      Value gc = k2.add(item.k.cs, item.i);
      Value mine = k2.vloadAligned(x.vpl, x.cent, {x.b, x.h, gc, x.dlane},
                                   std::min<int64_t>(16, 4 * x.vpl));
      Value nrm = warpRowNorm(k2, x, mine);
      k2.ifThen(x.lane0, [&](KernelBuilder &k3) {
        k3.store(nrm, x.norms, {x.b, x.h, gc});
      });
    });
  });
  b.ret();
  return fn;
}

gpu::GPUFuncOp mlir::multipole::gpugen::buildClusterSeedKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const ClusterShape &s, const ClusterConfig &c, StringRef PE) {
  KernelBuilder b(loc, ob);
  Types ty(ob.getContext(), s);
  auto fn = createGridKernel(b, module, name, s,
                             Types::points(ob.getContext(), s, PE), true,
                             {ty.norms});
  Ctx x = prelude(b, s.D);
  x.cent = fn.getArgument(2);
  x.norms = fn.getArgument(3);
  Knobs kn(b, s, c);
  Item it = gridStart(b, fn, x, kn, true, false, false);
  // The thread reads back the row it wrote.
  b.ifThen(it.ok, [&](KernelBuilder &kb) {
    seedCluster(kb, x, it.p, it.k, it.i);
    clusterNorm(kb, x, it.k, it.i);
  });
  b.ret();
  return fn;
}

gpu::GPUFuncOp mlir::multipole::gpugen::buildClusterMembersKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const ClusterShape &s, const ClusterConfig &c) {
  KernelBuilder b(loc, ob);
  Types ty(ob.getContext(), s);
  // Points: the values.
  const bool sorted = sortedMeans(s, c);
  SmallVector<Type> args = {ty.cnt, ty.off, ty.asg, ty.asg};
  if (sorted)
    args.append({ty.sidx, ty.cnt, ty.cnt});
  auto fn = createGridKernel(b, module, name, s, ty.keys, true, args);
  Ctx x = prelude(b, s.D);
  x.vcent = fn.getArgument(2);
  x.cnt = fn.getArgument(3);
  x.off = fn.getArgument(4);
  x.mem = fn.getArgument(5);
  x.asg = fn.getArgument(6);
  Knobs kn(b, s, c);
  Item it = gridStart(b, fn, x, kn, true, true, false);
  if (sorted) {
    // The last Lloyd pass's lists (its assignments are the final ones).
    Sorted so{fn.getArgument(7), fn.getArgument(8), fn.getArgument(9)};
    b.ifThen(it.ok, [&](KernelBuilder &kb) {
      Value gc = kb.add(it.k.cs, it.i);
      finishSorted(kb, x, kn, fn.getArgument(1), so, gc, kb.boolean(true));
    });
    b.ret();
    return fn;
  }
  // Member slots: tokens of earlier blocks all precede (every token of a
  // block belongs to one of its clusters).
  b.ifThen(it.ok, [&](KernelBuilder &kb) {
    Value gc = kb.add(it.k.cs, it.i);
    Value base0 = kb.sub(it.p.pstart, kn.cS);
    Value base = kb.toI32(base0);
    Value ft1 = kb.add(it.p.pstart, it.k.L);
    finishWithOffset(kb, x, Points{fn.getArgument(1), {}, {}, {}}, gc,
                     it.k.cs, base, false, it.p.pstart, ft1);
  });
  b.ret();
  return fn;
}

//===----------------------------------------------------------------------===//
// cluster_update.
//===----------------------------------------------------------------------===//

namespace {

/// What the steps of the online update share: the points, the knobs and the
/// CTA's workgroup buffers of the argmin reduction (distance, cluster).
struct Update {
  const Ctx &x;
  const Knobs &kn;
  Value P, rd, ri;
  Value cLIM, c2I; // 1.5 block sizes, 2 intervals
};

/// Starts a sequential update kernel (grid (H, B)): arguments (lens, points,
/// centroids, counts, `more`...), the argmin's workgroup buffers.
gpu::GPUFuncOp createSequentialKernel(KernelBuilder &b,
                                      gpu::GPUModuleOp module, StringRef name,
                                      const ClusterShape &s, StringRef PE,
                                      ArrayRef<Type> more,
                                      ArrayRef<Type> moreWorkgroup = {}) {
  MLIRContext *ctx = b.getContext();
  Types ty(ctx, s);
  SmallVector<Type> args = {ty.lens, Types::points(ctx, s, PE), ty.cent,
                            ty.cnt};
  args.append(more.begin(), more.end());
  SmallVector<Type> wg = {KernelBuilder::workgroup({kThreads}, b.f32()),
                          KernelBuilder::workgroup({kThreads}, b.getI32Type())};
  wg.append(moreWorkgroup.begin(), moreWorkgroup.end());
  return createKernel(b, module, name, args, wg, {int32_t(kThreads), 1, 1});
}

/// The Ctx of a sequential update kernel: centroids and counts bound, at
/// (b, h).
Ctx sequentialCtx(KernelBuilder &b, gpu::GPUFuncOp fn, const ClusterShape &s) {
  Ctx x = prelude(b, s.D);
  x.cent = fn.getArgument(2);
  x.cnt = fn.getArgument(3);
  placeHB(b, x);
  return x;
}

/// The Update of a sequential update kernel.
Update makeUpdate(KernelBuilder &b, const Ctx &x, const Knobs &kn,
                  const ClusterConfig &c, gpu::GPUFuncOp fn) {
  return Update{x,
                kn,
                fn.getArgument(1),
                fn.getWorkgroupAttributions()[0],
                fn.getWorkgroupAttributions()[1],
                b.index(c.blockSize + c.blockSize / 2),
                b.index(2 * c.interval)};
}

/// The position floor(e * I / kExtra) in its interval of the token that
/// seeds the interval's e-th new cluster.
Value seedOffset(KernelBuilder &b, const Knobs &kn, Value e) {
  Value eI = b.mul(e, kn.cI);
  return b.div(eI, kn.cKX);
}

/// Seeds the kExtra new clusters [nc, nc + kExtra) of the interval starting
/// at token t0, evenly spaced; each starts with count 1.
void seedNewClusters(KernelBuilder &b, const Update &u, Value t0, Value nc) {
  const Ctx &x = u.x;
  b.forEach(x.tid, u.kn.cKX, x.cT, [&](KernelBuilder &kb, Value e) {
    Value j = kb.add(t0, seedOffset(kb, u.kn, e));
    Value row = loadRow(kb, x, u.P, j, x.c0, x.D);
    Value gc = kb.add(nc, e);
    kb.vstore(row, x.cent, {x.b, x.h, gc, x.c0});
    kb.store(x.c1i, x.cnt, {x.b, x.h, gc});
  });
  b.barrier();
}

/// This thread's nearest of the clusters [cs + tid, cs + n) strided by the
/// CTA, to the point with slices `xs`: (local id, distance), (0, inf) if none.
SmallVector<Value> stridedNearest(KernelBuilder &b, const Ctx &x,
                                  ArrayRef<Value> xs, Value cs, Value n) {
  return b.forLoop(
      x.tid, n, x.cT, {x.c0, x.inff},
      [&](KernelBuilder &kb, Value c, ValueRange it) {
        // 4-wide slices of the centroid row (the point holds the registers):
        // |mu|^2 is the same ordered sum as a reduction of the whole row.
        Value gc = kb.add(cs, c);
        Value nrm = x.zf;
        Value acc = x.zv4;
        for (int64_t d = 0; d < x.D; d += 4) {
          Value cd = kb.index(d);
          Value m = kb.vloadAligned(4, x.cent, {x.b, x.h, gc, cd}, 16);
          Value sq = kb.mul(m, m);
          nrm = reduceAddInto(kb, sq, nrm);
          acc = kb.fma(xs[d / 4], m, acc);
        }
        Value dot = kb.reduceAdd(acc);
        return argminStep(kb, dot, nrm, c, it);
      });
}

/// Argmin over the CTA of the threads' (distance, id), lowest id on ties: a
/// tree in workgroup memory (rd, ri). Returns the winning id (i32). Threads
/// without a cluster hold (inf, 0), which loses to any real (finite)
/// candidate.
Value blockArgmin(KernelBuilder &b, const Update &u, Value dist, Value id) {
  const Ctx &x = u.x;
  Value idi = b.toI32(id);
  b.store(dist, u.rd, {x.tid});
  b.store(idi, u.ri, {x.tid});
  b.barrier();
  for (int64_t stride = kThreads / 2; stride >= 1; stride /= 2) {
    Value cst = b.index(stride);
    Value on = b.cmp(CmpIPredicate::ult, x.tid, cst);
    b.ifThen(on, [&](KernelBuilder &kb) {
      Value o = kb.add(x.tid, cst);
      Value da = kb.load(u.rd, {x.tid});
      Value ia = kb.load(u.ri, {x.tid});
      Value db = kb.load(u.rd, {o});
      Value ib = kb.load(u.ri, {o});
      std::pair<Value, Value> n = pickLower(kb, da, ia, db, ib);
      kb.store(n.first, u.rd, {x.tid});
      kb.store(n.second, u.ri, {x.tid});
    });
    b.barrier();
  }
  return b.load(u.ri, {x.c0});
}

/// mu += (x - mu) / nf for cluster gc and row j of the points, a thread
/// per dimension (the new row also into `wrow` when given).
void meanStep(KernelBuilder &b, const Update &u, Value j, Value gc, Value nf,
              Value wrow) {
  const Ctx &x = u.x;
  Value inRow = b.cmp(CmpIPredicate::ult, x.tid, b.index(x.D));
  b.ifThen(inRow, [&](KernelBuilder &kb) {
    Value xd = kb.load(u.P, {x.b, x.h, j, x.tid});
    if (!xd.getType().isF32())
      xd = kb.extF(kb.f32(), xd);
    Value md = kb.load(x.cent, {x.b, x.h, gc, x.tid});
    Value dx = kb.sub(xd, md);
    Value qd = kb.div(dx, nf);
    Value md2 = kb.add(md, qd);
    kb.store(md2, x.cent, {x.b, x.h, gc, x.tid});
    if (wrow)
      kb.store(md2, wrow, {x.tid});
  });
}

/// Running-mean step of a non-seed token j: its nearest cluster of the
/// current block [cs, cs + n) gets mu += (x - mu) / (count + 1).
void addToNearest(KernelBuilder &b, const Update &u, Value j, Value cs,
                  Value n, Value nm1) {
  const Ctx &x = u.x;
  Value row = loadRow(b, x, u.P, j, x.c0, x.D);
  SmallVector<Value> xs = slices(b, row, x.D);
  SmallVector<Value> best = stridedNearest(b, x, xs, cs, n);
  Value win = blockArgmin(b, u, best[1], best[0]);
  Value winx0 = b.toIndex(win);
  Value winx = b.minU(winx0, nm1);
  Value gc = b.add(cs, winx);
  Value cnt = b.load(x.cnt, {x.b, x.h, gc});
  Value cnt1 = b.add(cnt, x.c1i);
  Value nf = b.siToFp(b.f32(), cnt1);
  b.barrier();
  meanStep(b, u, j, gc, nf, {});
  b.ifThen(x.is0, [&](KernelBuilder &kb) {
    kb.store(cnt1, x.cnt, {x.b, x.h, gc});
  });
  b.barrier();
}

/// The interval's tokens t < I in order, the e-th seed position skipped (it
/// seeded cluster nc + e): `joins(b, t)` for every other token.
void forJoiningTokens(KernelBuilder &b, const Update &u,
                      llvm::function_ref<void(KernelBuilder &, Value)> joins) {
  const Ctx &x = u.x;
  b.forLoop(
      x.c0, u.kn.cI, x.c1, {x.c0},
      [&](KernelBuilder &kb, Value t, ValueRange it) {
        Value e = it[0];
        Value hasSeed = kb.cmp(CmpIPredicate::ult, e, u.kn.cKX);
        Value isPos = kb.cmp(CmpIPredicate::eq, seedOffset(kb, u.kn, e), t);
        Value isSeed = kb.andI(hasSeed, isPos);
        return kb.ifElse(
            isSeed,
            [&](KernelBuilder &k2) {
              return SmallVector<Value>{k2.add(e, x.c1)};
            },
            [&](KernelBuilder &k2) {
              joins(k2, t);
              return SmallVector<Value>{e};
            });
      });
}

/// The interval [t0, t0 + I) in token order: every token but the seeds joins
/// its nearest cluster of the block [cs, cs + n).
void onlineInterval(KernelBuilder &b, const Update &u, Value t0, Value cs,
                    Value n, Value nm1) {
  forJoiningTokens(b, u, [&](KernelBuilder &kb, Value t) {
    addToNearest(kb, u, kb.add(t0, t), cs, n, nm1);
  });
}

/// Whether the interval after the clustered prefix of state (clusters nc,
/// clustered length lc) is due for a sequence of n tokens: the window past it
/// is full and there is room for its kExtra clusters.
Value intervalDue(KernelBuilder &b, const Update &u, Value n, Value nc,
                  Value lc) {
  Value slc = b.add(u.kn.cS, lc);
  Value need = b.add(slc, u.c2I);
  Value more = b.cmp(CmpIPredicate::uge, n, need);
  Value ncx = b.add(nc, u.kn.cKX);
  Value room = b.cmp(CmpIPredicate::ule, ncx, u.kn.cC);
  return b.andI(more, room);
}

/// One interval of the online update from state st (clusters nc, clustered
/// length lc, last block's first token bst and first cluster bcs): its first
/// token t0, the clusters nc0 before it, and the state and current block
/// after it (first token bst, first cluster bcs, L points, Cb clusters). A
/// new block starts when the last one would outgrow 1.5 block sizes (or on
/// the first interval).
struct Interval {
  Value t0, nc0, nc, lc, bst, bcs, L, Cb;
};

Interval planInterval(KernelBuilder &b, const Update &u, ValueRange st) {
  const Ctx &x = u.x;
  const Knobs &kn = u.kn;
  Value nc = st[0], lc = st[1], bst = st[2], bcs = st[3];
  Interval v;
  v.t0 = b.add(kn.cS, lc);
  v.nc0 = nc;
  Value first = b.cmp(CmpIPredicate::eq, lc, x.c0);
  Value grow0 = b.add(v.t0, kn.cI);
  Value grow = b.sub(grow0, bst);
  Value newblk = b.cmp(CmpIPredicate::ugt, grow, u.cLIM);
  Value bstA = b.select(newblk, v.t0, bst);
  Value bcsA = b.select(newblk, nc, bcs);
  v.bst = b.select(first, kn.cS, bstA);
  v.bcs = b.select(first, x.c0, bcsA);
  v.nc = b.add(nc, kn.cKX);
  v.Cb = b.sub(v.nc, v.bcs);
  v.lc = b.add(lc, kn.cI);
  Value tend = b.add(kn.cS, v.lc);
  v.L = b.sub(tend, v.bst);
  return v;
}

/// Steps 1-4 of docs/Algorithm.md "Online update" for interval v: kExtra
/// clusters are seeded, the other tokens join by running means.
void intervalTokens(KernelBuilder &b, const Update &u, const Interval &v) {
  seedNewClusters(b, u, v.t0, v.nc0);
  Value nm1 = b.sub(v.Cb, u.x.c1);
  onlineInterval(b, u, v.t0, v.bcs, v.Cb, nm1);
}

//===----------------------------------------------------------------------===//
// The tracked interval (`_idist` over the grid, then `_interval`).
//===----------------------------------------------------------------------===//

/// A row of a memref (its indices before the dimension) as 4-wide slices,
/// or the slices themselves.
struct Row {
  Value mem;
  SmallVector<Value> at;
  ArrayRef<Value> regs;
  Value slice(KernelBuilder &b, int64_t d) const {
    if (!mem)
      return regs[d / 4];
    SmallVector<Value> idx(at.begin(), at.end());
    idx.push_back(b.index(d));
    return b.vloadAligned(4, mem, idx, 16);
  }
};

/// a . c by one thread: 4-wide FMAs in dimension order, then the vector's
/// sum. Every distance and |mu|^2 of the tracked interval is one (in
/// `_idist` and in `_interval`), so all its comparisons see the same numbers
/// for the same centroid.
Value rowDot(KernelBuilder &b, const Ctx &x, const Row &a, const Row &c) {
  Value acc = x.zv4;
  for (int64_t d = 0; d < x.D; d += 4)
    acc = b.fma(a.slice(b, d), c.slice(b, d), acc);
  return b.reduceAdd(acc);
}

/// |mu|^2 - 2 x . mu from the dot and |mu|^2.
Value distanceOf(KernelBuilder &b, Value dot, Value nrm) {
  Value t2 = b.add(dot, dot);
  return b.sub(nrm, t2);
}

/// The Update of a kernel that is not sequential (no argmin buffers): what
/// planInterval and intervalDue read.
Update gridUpdate(KernelBuilder &b, const Ctx &x, const Knobs &kn,
                  const ClusterConfig &c, Value P) {
  return Update{x,  kn, P, {}, {}, b.index(c.blockSize + c.blockSize / 2),
                b.index(2 * c.interval)};
}

/// Whether the interval of state st is due for n tokens and its block fits
/// the static bounds (dist's columns, the Lloyd grids).
Value intervalGo(KernelBuilder &b, const Update &u, const UpdateBounds &bd,
                 Value n, ValueRange st, const Interval &v) {
  Value due = intervalDue(b, u, n, st[0], st[1]);
  Value fitL = b.cmp(CmpIPredicate::ule, v.L, b.index(bd.maxL));
  Value fitC = b.cmp(CmpIPredicate::ule, v.Cb, b.index(bd.maxCb));
  return b.andI(due, b.andI(fitL, fitC));
}

/// The tracked interval's buffers: dist [B, H, I, maxCb] (token t's distance
/// to each cluster of the block, kept current for the tokens still to come),
/// the best (distance, local id) per token from `_idist` (bestd, besti [B, H,
/// I]); in `_interval`'s workgroup memory each token's tracked best (sbd,
/// sbi), whether it went stale (sst: its best cluster moved away from it, so
/// its row must be scanned) and the row the last token moved (wrow [D]).
struct Tracked {
  Value dist, bestd, besti;
  Value sbd, sbi, sst, wrow;
};

/// Step 3 of "Online update" for token t of the interval (row j), whose
/// nearest cluster is `win` (local id, i32): the running-mean step, then
/// every later token's distance to the moved cluster (thread t' owns token
/// t', its row in registers `xr`) into dist and its tracked best: a closer
/// moved cluster becomes the best (lower id on ties), a best cluster that
/// moved away marks the token stale.
void trackedToken(KernelBuilder &b, const Update &u, const Tracked &tr,
                  ArrayRef<Value> xr, Value t, Value j, Value win, Value cs,
                  Value nm1, Value cI) {
  const Ctx &x = u.x;
  Value winx = b.minU(b.toIndex(win), nm1);
  Value wini = b.toI32(winx);
  Value gc = b.add(cs, winx);
  Value cnt = b.load(x.cnt, {x.b, x.h, gc});
  Value cnt1 = b.add(cnt, x.c1i);
  Value nf = b.siToFp(b.f32(), cnt1);
  meanStep(b, u, j, gc, nf, tr.wrow);
  b.barrier();
  // The count after every thread has read it (the next token reads it after
  // the barrier below).
  b.ifThen(x.is0, [&](KernelBuilder &kb) {
    kb.store(cnt1, x.cnt, {x.b, x.h, gc});
  });
  Value after = b.cmp(CmpIPredicate::ugt, x.tid, t);
  Value mine = b.cmp(CmpIPredicate::ult, x.tid, cI);
  b.ifThen(b.andI(after, mine), [&](KernelBuilder &kb) {
    Row w{tr.wrow, {}, {}};
    Value nm = rowDot(kb, x, w, w);
    Value dot = rowDot(kb, x, Row{{}, {}, xr}, w);
    Value dn = distanceOf(kb, dot, nm);
    kb.store(dn, tr.dist, {x.b, x.h, x.tid, winx});
    Value st = kb.load(tr.sst, {x.tid});
    Value bi = kb.load(tr.sbi, {x.tid});
    Value bdv = kb.load(tr.sbd, {x.tid});
    Value isW = kb.cmp(CmpIPredicate::eq, bi, wini);
    Value le = kb.cmp(CmpFPredicate::OLE, dn, bdv);
    Value gone = kb.andI(isW, kb.notI(le));
    Value lt = kb.cmp(CmpFPredicate::OLT, dn, bdv);
    Value eq = kb.cmp(CmpFPredicate::OEQ, dn, bdv);
    Value lower = kb.cmp(CmpIPredicate::slt, wini, bi);
    Value closer = kb.orI(lt, kb.andI(eq, lower));
    Value take = kb.andI(kb.notI(isW), closer);
    Value keep = kb.andI(isW, le);
    kb.store(kb.select(gone, x.c1i, st), tr.sst, {x.tid});
    kb.store(kb.select(take, wini, bi), tr.sbi, {x.tid});
    kb.store(kb.select(kb.orI(take, keep), dn, bdv), tr.sbd, {x.tid});
  });
  b.barrier();
}

/// Token t's nearest cluster of the block from its dist row (a stale
/// token): each thread scans its strided columns in order, the warps merge
/// by shuffles, the CTA through the argmin buffers (rd, ri); ties to the
/// lowest id. Returns the local id (i32), the same in every thread.
Value rowArgmin(KernelBuilder &b, const Update &u, const Tracked &tr, Value t,
                Value Cb) {
  const Ctx &x = u.x;
  SmallVector<Value> best = b.forLoop(
      x.tid, Cb, x.cT, {x.c0, x.inff},
      [&](KernelBuilder &kb, Value c, ValueRange it) {
        Value d = kb.load(tr.dist, {x.b, x.h, t, c});
        Value lt = kb.cmp(CmpFPredicate::OLT, d, it[1]);
        return SmallVector<Value>{kb.select(lt, c, it[0]),
                                  kb.select(lt, d, it[1])};
      });
  std::pair<Value, Value> w0 =
      shuffleArgmin(b, best[1], b.toI32(best[0]), {16, 8, 4, 2, 1});
  b.ifThen(x.lane0, [&](KernelBuilder &kb) {
    kb.store(w0.first, u.rd, {x.warp});
    kb.store(w0.second, u.ri, {x.warp});
  });
  b.barrier();
  std::pair<Value, Value> r{b.load(u.rd, {x.c0}), b.load(u.ri, {x.c0})};
  for (int64_t w = 1; w < kWarps; ++w) {
    Value cw = b.index(w);
    r = pickLower(b, r.first, r.second, b.load(u.rd, {cw}),
                  b.load(u.ri, {cw}));
  }
  return r.second;
}

/// Steps 1-4 of docs/Algorithm.md "Online update" for interval v, tracked:
/// the same decisions as `intervalTokens` in token order (seeds skipped,
/// every other token joins its nearest cluster by a running mean). `_idist`
/// gave every token its distances to the block's clusters after seeding and
/// its nearest one; after each token only the moved cluster's distances
/// change, so each later token keeps its best current, and a token scans its
/// row only when its best cluster moved away from it. The argmins are exact
/// over the current centroids with rowDot's arithmetic.
void intervalTokensTracked(KernelBuilder &b, const Update &u,
                           const Tracked &tr, const Interval &v) {
  const Ctx &x = u.x;
  seedNewClusters(b, u, v.t0, v.nc0);
  Value nm1 = b.sub(v.Cb, x.c1);
  Value cI = u.kn.cI;
  // Thread t < I owns token t: its row (f32 slices) and its best.
  Value mine = b.cmp(CmpIPredicate::ult, x.tid, cI);
  Value tok = b.minU(x.tid, b.sub(cI, x.c1));
  Value row = loadRow(b, x, u.P, b.add(v.t0, tok), x.c0, x.D);
  SmallVector<Value> xr = slices(b, row, x.D);
  // Its nearest cluster: the chunks' nearest, merged in cluster order.
  b.ifThen(mine, [&](KernelBuilder &kb) {
    int64_t ncc = cast<MemRefType>(tr.bestd.getType()).getDimSize(3);
    std::pair<Value, Value> r{kb.load(tr.bestd, {x.b, x.h, x.tid, x.c0}),
                              kb.load(tr.besti, {x.b, x.h, x.tid, x.c0})};
    for (int64_t k = 1; k < ncc; ++k) {
      Value ck = kb.index(k);
      Value cc = kb.mul(ck, x.cT);
      Value on = kb.cmp(CmpIPredicate::ult, cc, v.Cb);
      std::pair<Value, Value> o = pickLower(
          kb, r.first, r.second, kb.load(tr.bestd, {x.b, x.h, x.tid, ck}),
          kb.load(tr.besti, {x.b, x.h, x.tid, ck}));
      r = {kb.select(on, o.first, r.first), kb.select(on, o.second, r.second)};
    }
    kb.store(r.first, tr.sbd, {x.tid});
    kb.store(r.second, tr.sbi, {x.tid});
    kb.store(x.c0i, tr.sst, {x.tid});
  });
  b.barrier();
  forJoiningTokens(b, u, [&](KernelBuilder &kb, Value t) {
    Value stale = kb.cmp(CmpIPredicate::ne, kb.load(tr.sst, {t}), x.c0i);
    Value win = kb.ifElse(
        stale,
        [&](KernelBuilder &k2) {
          return SmallVector<Value>{rowArgmin(k2, u, tr, t, v.Cb)};
        },
        [&](KernelBuilder &k2) {
          return SmallVector<Value>{k2.load(tr.sbi, {t})};
        })[0];
    trackedToken(kb, u, tr, xr, t, kb.add(v.t0, t), win, v.bcs, nm1, cI);
  });
}

/// One interval of the online update in one CTA: its tokens, then the Lloyd
/// passes over the whole current block. Returns the state and "changed".
SmallVector<Value> updateStep(KernelBuilder &b, const Update &u, Value iters,
                              ValueRange st) {
  Interval v = planInterval(b, u, st);
  intervalTokens(b, u, v);
  kmeans(b, u.x, Points{u.P, {}, {}, v.bst}, KBlock{v.L, v.bcs, v.Cb}, iters,
         false);
  return {v.nc, v.lc, v.bst, v.bcs, b.boolean(true)};
}

/// The four entries of st[b, h] (a state or a block descriptor) as indices.
SmallVector<Value> loadQuad(KernelBuilder &b, const Ctx &x, Value st) {
  return loadStateQuad(b, st, x.b, x.h);
}

/// st[b, h] = four indices (as i32), by thread 0.
void storeQuad(KernelBuilder &b, const Ctx &x, Value st, ValueRange v) {
  b.ifThen(x.is0, [&](KernelBuilder &kb) {
    for (int64_t i = 0; i < 4; ++i) {
      Value vi = kb.toI32(v[i]);
      kb.store(vi, st, {x.b, x.h, kb.index(i)});
    }
  });
}

/// Whether the update changed the state of (b, h) (state st, at entry st0),
/// and the clusters and tokens it touched: from the old last block on (all
/// of them on the first update) to the end.
struct Touched {
  Value changed, cmin, tmin, cend, tend;
};

Touched touched(KernelBuilder &b, const Ctx &x, const Knobs &kn,
                ArrayRef<Value> st, ArrayRef<Value> st0) {
  Touched t;
  t.changed = b.boolean(false);
  for (int64_t i = 0; i < 4; ++i) {
    Value ne = b.cmp(CmpIPredicate::ne, st[i], st0[i]);
    t.changed = b.orI(t.changed, ne);
  }
  Value wasEmpty = b.cmp(CmpIPredicate::eq, st0[1], x.c0);
  t.cmin = b.select(wasEmpty, x.c0, st0[3]);
  t.tmin = b.select(wasEmpty, kn.cS, st0[2]);
  t.cend = st[0];
  t.tend = b.add(kn.cS, st[1]);
  return t;
}

} // namespace

UpdateBounds mlir::multipole::gpugen::updateBounds(const ClusterShape &s,
                                                   const ClusterConfig &c) {
  // Points: a block grows by intervals up to 1.5 block sizes (build: below
  // it), or is one interval. Clusters: a build block has max(1, floor(f L))
  // of them, an interval brings kExtra, so at most 1 + d L with d = max(f,
  // kExtra / I) (+1 for rounding). The finish: the old block and the new.
  int64_t lim = c.blockSize + c.blockSize / 2;
  UpdateBounds u;
  u.maxL = std::max<int64_t>(1, std::min(s.N, std::max(lim, c.interval)));
  double d = std::max(c.fraction, double(c.kExtra) / double(c.interval));
  u.maxCb = std::clamp<int64_t>(int64_t(std::floor(d * double(u.maxL))) + 2,
                                1, std::max<int64_t>(1, s.C));
  u.maxFinish = std::min(std::max<int64_t>(1, s.C), u.maxCb + c.kExtra);
  return u;
}

gpu::GPUFuncOp mlir::multipole::gpugen::buildUpdateIntervalKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const ClusterShape &s, const ClusterConfig &c, StringRef PE) {
  KernelBuilder b(loc, ob);
  Types ty(ob.getContext(), s);
  UpdateBounds bd = updateBounds(s, c);
  // Tracked (the interval's tokens a thread each, their distances from
  // `_idist`); else the per-token loop of the in-CTA update.
  const bool tracked = trackedInterval(s, c);
  SmallVector<Type> more = {ty.st, ty.st, ty.st, ty.norms};
  SmallVector<Type> wgs;
  if (tracked) {
    Type f32 = b.f32(), i32 = b.getI32Type();
    int64_t ncc = intervalClusterChunks(s, c);
    more.append({KernelBuilder::memref({s.B, s.H, c.interval, bd.maxCb}, f32),
                 KernelBuilder::memref({s.B, s.H, c.interval, ncc}, f32),
                 KernelBuilder::memref({s.B, s.H, c.interval, ncc}, i32)});
    wgs = {KernelBuilder::workgroup({c.interval}, f32),
           KernelBuilder::workgroup({c.interval}, i32),
           KernelBuilder::workgroup({c.interval}, i32),
           KernelBuilder::workgroup({s.D}, f32)};
  }
  auto fn = createSequentialKernel(b, module, name, s, PE, more, wgs);
  // 16-byte vector loads of the moved row.
  if (tracked)
    fn.setWorkgroupAttributionAttr(5, LLVM::LLVMDialect::getAlignAttrName(),
                                   b.getI64IntegerAttr(16));
  Value stT = fn.getArgument(4), st0T = fn.getArgument(5);
  Value blk = fn.getArgument(6);
  Ctx x = sequentialCtx(b, fn, s);
  x.norms = fn.getArgument(7);
  Knobs kn(b, s, c);
  Update u = makeUpdate(b, x, kn, c, fn);
  Tracked tr;
  if (tracked) {
    auto wg = fn.getWorkgroupAttributions();
    tr = Tracked{fn.getArgument(8), fn.getArgument(9), fn.getArgument(10),
                 wg[2], wg[3], wg[4], wg[5]};
  }
  Value n = seqLen(b, x, kn, fn.getArgument(0));
  SmallVector<Value> st = loadQuad(b, x, stT);
  storeQuad(b, x, st0T, st);
  // One interval if it is due and its block fits the grids of the Lloyd
  // kernels (always, for the states the build and the update write; else
  // `<name>_rest` does it), then |mu|^2 of the block for the first of them.
  Interval v = planInterval(b, u, st);
  b.ifElse(
      intervalGo(b, u, bd, n, st, v),
      [&](KernelBuilder &kb) {
        if (tracked)
          intervalTokensTracked(kb, u, tr, v);
        else
          intervalTokens(kb, u, v);
        computeNorms(kb, x, KBlock{v.L, v.bcs, v.Cb});
        storeQuad(kb, x, stT, {v.nc, v.lc, v.bst, v.bcs});
        storeQuad(kb, x, blk, {v.bst, v.L, v.bcs, v.Cb});
        return SmallVector<Value>{};
      },
      [&](KernelBuilder &kb) {
        storeQuad(kb, x, blk, {x.c0, x.c0, x.c0, x.c0});
        return SmallVector<Value>{};
      });
  b.ret();
  return fn;
}

bool mlir::multipole::gpugen::trackedInterval(const ClusterShape &s,
                                              const ClusterConfig &c) {
  return c.interval <= kThreads && s.D <= 128;
}

int64_t mlir::multipole::gpugen::intervalClusterChunks(const ClusterShape &s,
                                                       const ClusterConfig &c) {
  return llvm::divideCeil(updateBounds(s, c).maxCb, kThreads);
}

int64_t mlir::multipole::gpugen::intervalDistTokens(const ClusterShape &s,
                                                    const ClusterConfig &c) {
  // 32 tokens a CTA (a CTA reads its 256 centroids once for its tokens): at
  // the defaults, 128 x 4 chunks x H x B / 32 = one wave of 1 CTA per SM at
  // B = 1 (about 230 registers).
  (void)s;
  return std::min<int64_t>(32, c.interval);
}

namespace {
/// Dots of the rows i0 .. i0 + n of xs (clamped to nT - 1) with the
/// registers m, interleaved (n independent chains), each with rowDot's
/// arithmetic.
SmallVector<Value> rowDots(KernelBuilder &b, const Ctx &x, Value xs, Value i0,
                           int64_t n, Value nT, ArrayRef<Value> m) {
  SmallVector<Value> rows, acc(n, x.zv4);
  Value last = b.sub(nT, x.c1);
  for (int64_t k = 0; k < n; ++k)
    rows.push_back(b.minU(b.add(i0, b.index(k)), last));
  for (int64_t d = 0; d < x.D; d += 4)
    for (int64_t k = 0; k < n; ++k)
      acc[k] = b.fma(Row{xs, {rows[k]}, {}}.slice(b, d), m[d / 4], acc[k]);
  SmallVector<Value> dots;
  for (Value a : acc)
    dots.push_back(b.reduceAdd(a));
  return dots;
}
} // namespace

gpu::GPUFuncOp mlir::multipole::gpugen::buildUpdateDistancesKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const ClusterShape &s, const ClusterConfig &c, StringRef PE) {
  KernelBuilder b(loc, ob);
  MLIRContext *ctx = ob.getContext();
  Types ty(ctx, s);
  UpdateBounds bd = updateBounds(s, c);
  const int64_t TT = intervalDistTokens(s, c);
  const int64_t nCC = intervalClusterChunks(s, c);
  constexpr int64_t kGroup = 4; // tokens whose dots run interleaved
  Type f32 = b.f32(), i32 = b.getI32Type();
  SmallVector<Type> args = {
      ty.lens, Types::points(ctx, s, PE), ty.cent, ty.st,
      KernelBuilder::memref({s.B, s.H, c.interval, bd.maxCb}, f32),
      KernelBuilder::memref({s.B, s.H, c.interval, nCC}, f32),
      KernelBuilder::memref({s.B, s.H, c.interval, nCC}, i32)};
  SmallVector<Type> wg = {KernelBuilder::workgroup({TT, s.D + 4}, f32),
                          KernelBuilder::workgroup({kWarps, TT}, f32),
                          KernelBuilder::workgroup({kWarps, TT}, i32)};
  auto fn = createKernel(b, module, name, args, wg, {int32_t(kThreads), 1, 1});
  fn.setWorkgroupAttributionAttr(0, LLVM::LLVMDialect::getAlignAttrName(),
                                 b.getI64IntegerAttr(16));
  Ctx x = prelude(b, s.D);
  x.cent = fn.getArgument(2);
  Value P = fn.getArgument(1);
  Value dist = fn.getArgument(4), bestd = fn.getArgument(5),
        besti = fn.getArgument(6);
  auto wgs = fn.getWorkgroupAttributions();
  Value xs = wgs[0], wd = wgs[1], wi = wgs[2];
  x.h = b.blockId(gpu::Dimension::y);
  x.b = b.blockId(gpu::Dimension::z);
  // CTA (token chunk, cluster chunk): TT tokens, the thread's cluster.
  Value bx = b.blockId(gpu::Dimension::x), cNCC = b.index(nCC);
  Value tok0 = b.mul(b.div(bx, cNCC), b.index(TT));
  Value cc = b.rem(bx, cNCC);
  Value cl = b.add(b.mul(cc, x.cT), x.tid);
  Knobs kn(b, s, c);
  Update u = gridUpdate(b, x, kn, c, P);
  Value n = seqLen(b, x, kn, fn.getArgument(0));
  SmallVector<Value> st = loadQuad(b, x, fn.getArgument(3));
  Interval v = planInterval(b, u, st);
  Value go = intervalGo(b, u, bd, n, st, v);
  Value chunkOn = b.cmp(CmpIPredicate::ult, b.mul(cc, x.cT), v.Cb);
  b.ifThen(b.andI(go, chunkOn), [&](KernelBuilder &kb) {
    Value nT = kb.minU(kb.sub(kn.cI, tok0), kb.index(TT));
    // The tokens' rows (f32) into xs.
    Value cq4 = kb.index(s.D / 4), c4 = kb.index(4);
    kb.forEach(x.tid, kb.mul(nT, cq4), x.cT, [&](KernelBuilder &k2, Value p) {
      Value i = k2.div(p, cq4);
      Value d = k2.mul(k2.rem(p, cq4), c4);
      Value j = k2.add(v.t0, k2.add(tok0, i));
      k2.vstore(loadRow(k2, x, P, j, d, 4), xs, {i, d});
    });
    kb.barrier();
    // This thread's centroid in registers: a cluster before the interval
    // from cent, one of its seeds (seedNewClusters' row) from the points;
    // past the block's clusters a zero row whose distances count as +inf.
    Value has = kb.cmp(CmpIPredicate::ult, cl, v.Cb);
    Value clx = kb.minU(cl, kb.sub(v.Cb, x.c1));
    Value gc = kb.add(v.bcs, clx);
    Value seed = kb.cmp(CmpIPredicate::uge, gc, v.nc0);
    SmallVector<Value> m = kb.ifElse(
        seed,
        [&](KernelBuilder &k3) {
          Value so = seedOffset(k3, kn, k3.sub(gc, v.nc0));
          Value r = loadRow(k3, x, P, k3.add(v.t0, so), x.c0, s.D);
          return slices(k3, r, s.D);
        },
        [&](KernelBuilder &k3) {
          SmallVector<Value> r;
          for (int64_t d = 0; d < s.D; d += 4)
            r.push_back(
                k3.vloadAligned(4, x.cent, {x.b, x.h, gc, k3.index(d)}, 16));
          return r;
        });
    Row mr{{}, {}, m};
    Value nm = rowDot(kb, x, mr, mr);
    Value cli = kb.toI32(cl);
    // kGroup tokens at a time: their dots interleaved, then each token's
    // distance stored and reduced over the warp (lowest id on ties).
    kb.forEach(x.c0, nT, kb.index(kGroup), [&](KernelBuilder &k2, Value i0) {
      SmallVector<Value> dots = rowDots(k2, x, xs, i0, kGroup, nT, m);
      for (int64_t k = 0; k < kGroup; ++k) {
        Value i = k2.add(i0, k2.index(k));
        Value in = k2.cmp(CmpIPredicate::ult, i, nT);
        Value t = k2.add(tok0, i);
        Value dv = distanceOf(k2, dots[k], nm);
        k2.ifThen(k2.andI(in, has), [&](KernelBuilder &k3) {
          k3.store(dv, dist, {x.b, x.h, t, cl});
        });
        Value dm = k2.select(has, dv, x.inff);
        std::pair<Value, Value> w =
            shuffleArgmin(k2, dm, cli, {16, 8, 4, 2, 1});
        k2.ifThen(k2.andI(in, x.lane0), [&](KernelBuilder &k3) {
          k3.store(w.first, wd, {x.warp, i});
          k3.store(w.second, wi, {x.warp, i});
        });
      }
    });
    kb.barrier();
    // Thread i < nT: token i's nearest of this chunk (warps in cluster
    // order, lowest id on ties).
    kb.ifThen(kb.cmp(CmpIPredicate::ult, x.tid, nT), [&](KernelBuilder &k2) {
      std::pair<Value, Value> r{k2.load(wd, {x.c0, x.tid}),
                                k2.load(wi, {x.c0, x.tid})};
      for (int64_t w = 1; w < kWarps; ++w) {
        Value cw = k2.index(w);
        r = pickLower(k2, r.first, r.second, k2.load(wd, {cw, x.tid}),
                      k2.load(wi, {cw, x.tid}));
      }
      Value t = k2.add(tok0, x.tid);
      k2.store(r.first, bestd, {x.b, x.h, t, cc});
      k2.store(r.second, besti, {x.b, x.h, t, cc});
    });
  });
  b.ret();
  return fn;
}

gpu::GPUFuncOp mlir::multipole::gpugen::buildUpdateRestKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const ClusterShape &s, const ClusterConfig &c, StringRef PE) {
  KernelBuilder b(loc, ob);
  Types ty(ob.getContext(), s);
  auto fn = createSequentialKernel(b, module, name, s, PE,
                                   {ty.asg, ty.st, ty.norms});
  Value stT = fn.getArgument(5);
  Ctx x = sequentialCtx(b, fn, s);
  x.asg = fn.getArgument(4);
  x.norms = fn.getArgument(6);
  Knobs kn(b, s, c);
  Update u = makeUpdate(b, x, kn, c, fn);
  Value iters = b.index(c.updateIters);
  Value n = seqLen(b, x, kn, fn.getArgument(0));
  SmallVector<Value> init = loadQuad(b, x, stT);
  init.push_back(b.boolean(false));
  SmallVector<Value> r = b.whileLoop(
      init,
      [&](KernelBuilder &kb, ValueRange w) {
        return intervalDue(kb, u, n, w[0], w[1]);
      },
      [&](KernelBuilder &kb, ValueRange w) {
        return updateStep(kb, u, iters, w);
      });
  b.ifThen(r[4], [&](KernelBuilder &kb) {
    storeQuad(kb, x, stT, ValueRange(r).take_front(4));
  });
  b.ret();
  return fn;
}

gpu::GPUFuncOp mlir::multipole::gpugen::buildUpdateMembersKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const ClusterShape &s, const ClusterConfig &c) {
  KernelBuilder b(loc, ob);
  Types ty(ob.getContext(), s);
  const bool sorted = sortedMeans(s, c);
  SmallVector<Type> args = {ty.keys, ty.cent, ty.cnt, ty.off,
                            ty.asg,  ty.asg,  ty.st,  ty.st};
  if (sorted)
    args.append({ty.st, ty.sidx, ty.cnt, ty.cnt});
  auto fn = createKernel(b, module, name, args, {}, {int32_t(kThreads), 1, 1});
  Ctx x = prelude(b, s.D);
  x.vcent = fn.getArgument(1);
  x.cnt = fn.getArgument(2);
  x.off = fn.getArgument(3);
  x.mem = fn.getArgument(4);
  x.asg = fn.getArgument(5);
  Knobs kn(b, s, c);
  Value w = placeItem(b, x, true);
  SmallVector<Value> st = loadQuad(b, x, fn.getArgument(6));
  SmallVector<Value> st0 = loadQuad(b, x, fn.getArgument(7));
  Touched t = touched(b, x, kn, st, st0);
  // A warp per touched cluster, strided over the grid's warps: offsets from
  // the first one's (unchanged), value centroids, members; the grid's threads
  // then fill the unused offsets (past the last cluster: read by none).
  int64_t chunks = llvm::divideCeil(updateBounds(s, c).maxFinish, kWarps);
  Value gw = b.index(chunks * kWarps), gt = b.index(chunks * kThreads);
  Points val{fn.getArgument(0), {}, {}, {}};
  // With the sorted lists of the Lloyd passes (the current block's, blk):
  // when the update was one interval (`<name>_rest` did nothing: the block
  // ends where the clustered prefix does), the block's clusters finish from
  // the lists and the earlier touched ones (the old last block, when a new
  // block started) from the old block's tokens only.
  Value one = b.boolean(false), bcs, bst;
  Sorted so;
  if (sorted) {
    SmallVector<Value> blk = loadQuad(b, x, fn.getArgument(8));
    so = Sorted{fn.getArgument(9), fn.getArgument(10), fn.getArgument(11)};
    bst = blk[0];
    bcs = blk[2];
    Value has = b.cmp(CmpIPredicate::ugt, blk[1], x.c0);
    Value end = b.add(blk[0], blk[1]);
    one = b.andI(has, b.cmp(CmpIPredicate::eq, end, t.tend));
  }
  b.ifThen(t.changed, [&](KernelBuilder &kb) {
    Value base = kb.load(x.off, {x.b, x.h, t.cmin});
    Value c0 = kb.add(t.cmin, w);
    kb.forEach(c0, t.cend, gw, [&](KernelBuilder &k2, Value cc) {
      if (!sorted) {
        finishWithOffset(k2, x, val, cc, t.cmin, base, true, t.tmin, t.tend);
        return;
      }
      Value inBlk = k2.andI(one, k2.cmp(CmpIPredicate::uge, cc, bcs));
      k2.ifElse(
          inBlk,
          [&](KernelBuilder &k3) {
            Value later = k3.cmp(CmpIPredicate::ne, cc, t.cmin);
            finishSorted(k3, x, kn, val.P, so, cc, later);
            return SmallVector<Value>{};
          },
          [&](KernelBuilder &k3) {
            Value ft1 = k3.select(one, bst, t.tend);
            finishWithOffset(k3, x, val, cc, t.cmin, base, true, t.tmin, ft1);
            return SmallVector<Value>{};
          });
    });
    Value lcf = kb.toI32(st[1]);
    Value bx = kb.blockId(gpu::Dimension::x);
    Value g0 = kb.mul(bx, x.cT);
    Value g1 = kb.add(g0, x.tid);
    Value f0 = kb.add(t.cend, g1);
    kb.forEach(f0, kb.index(s.C + 1), gt, [&](KernelBuilder &k2, Value cc) {
      k2.store(lcf, x.off, {x.b, x.h, cc});
    });
  });
  b.ret();
  return fn;
}

//===----------------------------------------------------------------------===//
// cluster_coarsen.
//===----------------------------------------------------------------------===//

namespace {

/// The ids of the non-empty fine clusters of [0, nc) into ids[b, h, *] in
/// order (thread 0); their number goes through workgroup memory `sm` to the
/// whole CTA.
Value compactNonEmpty(KernelBuilder &b, const Ctx &x, Value fcnt, Value ids,
                      Value sm, Value nc) {
  b.ifThen(x.is0, [&](KernelBuilder &kb) {
    Value m = kb.forLoop(
        x.c0, nc, x.c1, {x.c0i},
        [&](KernelBuilder &k2, Value c, ValueRange it) {
          Value k = it[0];
          Value fc = k2.load(fcnt, {x.b, x.h, c});
          Value ne = k2.cmp(CmpIPredicate::sgt, fc, x.c0i);
          return k2.ifElse(
              ne,
              [&](KernelBuilder &k3) {
                Value kx = k3.toIndex(k);
                Value ci = k3.toI32(c);
                k3.store(ci, ids, {x.b, x.h, kx});
                return SmallVector<Value>{k3.add(k, x.c1i)};
              },
              [&](KernelBuilder &) { return SmallVector<Value>{k}; });
        })[0];
    kb.store(m, sm, {x.c0});
  });
  b.barrier();
  Value mi = b.load(sm, {x.c0});
  return b.toIndex(mi);
}

/// Member offsets of the coarse clusters [0, Cb): a warp per cluster counts
/// the fine clusters of [0, nc) assigned to it (ballots) into off[c + 1], then
/// thread 0 takes the prefix sum over the C clusters.
void coarseOffsets(KernelBuilder &b, const Ctx &x, Value Cb, Value nc,
                   Value cC) {
  b.forEach(x.warp, Cb, x.cNW, [&](KernelBuilder &kb, Value cc) {
    Value cci = kb.toI32(cc);
    Value tot = kb.forLoop(
        x.c0, nc, x.c32, {x.c0i},
        [&](KernelBuilder &k2, Value t0, ValueRange it) {
          Value t = k2.add(t0, x.lane);
          Value in = k2.cmp(CmpIPredicate::ult, t, nc);
          Value tc = k2.select(in, t, x.c0);
          Value a = k2.load(x.asg, {x.b, x.h, tc});
          Value eq = k2.cmp(CmpIPredicate::eq, a, cci);
          Value mine = k2.andI(in, eq);
          Value mask = k2.ballot(x.full, mine);
          Value pc = k2.ctpop(mask);
          return SmallVector<Value>{k2.add(it[0], pc)};
        })[0];
    kb.ifThen(x.lane0, [&](KernelBuilder &k2) {
      Value cp1 = k2.add(cc, x.c1);
      k2.store(tot, x.off, {x.b, x.h, cp1});
    });
  });
  b.barrier();
  b.ifThen(x.is0, [&](KernelBuilder &kb) {
    kb.forEach(x.c0, cC, x.c1, [&](KernelBuilder &k2, Value c) {
      Value o0 = k2.load(x.off, {x.b, x.h, c});
      Value cp1 = k2.add(c, x.c1);
      Value o1 = k2.load(x.off, {x.b, x.h, cp1});
      Value o2 = k2.add(o0, o1);
      k2.store(o2, x.off, {x.b, x.h, cp1});
    });
  });
  b.barrier();
}

} // namespace

gpu::GPUFuncOp mlir::multipole::gpugen::buildClusterCoarsenKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const ClusterShape &s, const ClusterConfig &c) {
  // Here C is the coarse capacity and M the fine one (rows of the fine level).
  KernelBuilder b(loc, ob);
  Types ty(ob.getContext(), s);
  MemRefType fcentT = KernelBuilder::memref({s.B, s.H, s.M, s.D}, b.f32());
  MemRefType fcntT = KernelBuilder::memref({s.B, s.H, s.M}, b.getI32Type());
  auto fn = createKernel(
      b, module, name,
      {fcentT, fcentT, fcntT, ty.st, ty.cent, ty.cent, ty.cnt, ty.off, ty.asg,
       ty.asg, ty.st, ty.asg, ty.norms},
      {KernelBuilder::workgroup({1}, b.getI32Type())},
      {int32_t(kThreads), 1, 1});
  Value fcent = fn.getArgument(0), fvcent = fn.getArgument(1);
  Value fcnt = fn.getArgument(2), fst = fn.getArgument(3);
  Value st = fn.getArgument(10), ids = fn.getArgument(11);
  Value sm = fn.getWorkgroupAttributions()[0];
  Ctx x = prelude(b, s.D);
  bindLevel(x, fn, 4);
  x.norms = fn.getArgument(12);
  Knobs kn(b, s, c);
  Value iters = b.index(c.buildIters);
  x.h = b.blockId(gpu::Dimension::x);
  x.b = b.blockId(gpu::Dimension::y);
  resetLevel(b, x, s, x.c0i);
  Value nci = b.load(fst, {x.b, x.h, x.c0});
  Value nc = b.toIndex(nci);
  Value m = compactNonEmpty(b, x, fcnt, ids, sm, nc);
  Value any = b.cmp(CmpIPredicate::ugt, m, x.c0);
  // The points are the non-empty fine centroids weighted by their token
  // counts; the members of a coarse cluster are fine clusters.
  Value ncc = b.ifElse(
      any,
      [&](KernelBuilder &kb) {
        Value Cb0 = clusterCount(kb, x, kn, m);
        Value Cb = kb.minU(Cb0, kn.cC);
        kmeans(kb, x, Points{fcent, ids, fcnt, {}}, KBlock{m, x.c0, Cb}, iters,
               true);
        coarseOffsets(kb, x, Cb, nc, kn.cC);
        finishClusters(kb, x, Points{fvcent, {}, fcnt, {}}, x.c0, Cb, x.c0, nc,
                       false);
        return SmallVector<Value>{Cb};
      },
      [&](KernelBuilder &) { return SmallVector<Value>{x.c0}; })[0];
  b.ifThen(x.is0, [&](KernelBuilder &kb) {
    Value ncci = kb.toI32(ncc);
    Value lci = kb.load(fst, {x.b, x.h, x.c1});
    kb.store(ncci, st, {x.b, x.h, x.c0});
    kb.store(lci, st, {x.b, x.h, x.c1});
    kb.store(x.c0i, st, {x.b, x.h, kb.index(2)});
    kb.store(x.c0i, st, {x.b, x.h, kb.index(3)});
  });
  b.ret();
  return fn;
}
