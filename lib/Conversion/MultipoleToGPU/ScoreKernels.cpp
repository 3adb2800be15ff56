//===- ScoreKernels.cpp - centroid scoring, selection, token lists (GPU) --===//
//
// centroid_score: `<name>_logits` splits the clusters of each (sequence, KV
//   head) over CTAs; a centroid row (f32) is read by D/PL lanes with 16-byte
//   aligned loads, once for all G query heads; it writes the logits and
//   per-split (max, sum n exp) pairs. `<name>_scores` merges those into
//   (M, Z) per head and writes r_c.
// select_clusters: one CTA per (sequence, KV head) finds the threshold with a
//   4-pass 8-bit radix select over the score bits, weighted by token counts
//   (histograms in shared memory, suffix sums by warp scans): no sort, no
//   host synchronisation. Up to 16K clusters each thread keeps its
//   consecutive clusters in registers from one read to one write of the mask.
// compact: the token list of the exact part (sink, window, selected members)
//   for sparse_attention, from a scan of the selected counts.
//
// Built with KernelBuilder; shapes are C++ integers, so index arithmetic
// folds and the per-head, per-row and per-register code is unrolled in C++.
//
//===----------------------------------------------------------------------===//

#include "ScoreKernels.h"

#include "KernelBuilder.h"
#include "MmaFragments.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include "llvm/Support/MathExtras.h"

#include <array>
#include <cmath>
#include <tuple>

using namespace mlir;
using namespace mlir::multipole::gpugen;

using arith::CmpFPredicate;
using arith::CmpIPredicate;
using gpu::Dimension;

namespace {

//===----------------------------------------------------------------------===//
// Op helpers the kernels of this file need beyond KernelBuilder's.
//===----------------------------------------------------------------------===//

/// The i8 mask value of `on`: 1 or 0.
Value maskByte(KernelBuilder &b, Value on) {
  Value one = b.i8(1), zero = b.i8(0);
  return b.select(on, one, zero);
}

/// Inclusive prefix sum of the i32 `v` over the lanes of a warp (shuffles
/// up: lane l adds the value of lane l - off when it exists).
Value warpInclusiveScan(KernelBuilder &b, Value v, Value lane) {
  Value zero = b.i32(0);
  for (int64_t off = 1; off < 32; off *= 2) {
    Value up = b.shuffle(gpu::ShuffleMode::UP, v, b.i32(off));
    Value has = b.cmp(CmpIPredicate::uge, lane, b.index(off));
    Value z = b.select(has, up, zero);
    v = b.add(v, z);
  }
  return v;
}

/// The first lane whose i32 inclusive count `incl` exceeds the i32 `q`
/// (binary search over the 32 lanes, reading `incl` with shuffles); i32.
Value laneSearch(KernelBuilder &b, Value incl, Value q) {
  Value one = b.i32(1), last = b.i32(31);
  Value lo = b.i32(0), hi = last;
  for (int k = 0; k < 5; ++k) {
    Value s = b.add(lo, hi);
    Value mid = b.shrU(s, one);
    Value v = b.shuffle(gpu::ShuffleMode::IDX, incl, mid);
    Value gt = b.cmp(CmpIPredicate::sgt, v, q);
    Value mid1 = b.add(mid, one);
    Value nlo = b.select(gt, lo, mid1);
    hi = b.select(gt, mid, hi);
    lo = nlo;
  }
  return b.minU(lo, last);
}

/// Whether the parent of fine item `idx` exists (pa >= 0) and is selected in
/// the coarse mask `ps` (i1).
Value parentSelected(KernelBuilder &b, Value pa, Value ps, Value bb, Value h,
                     Value idx) {
  Value zero = b.i32(0);
  Value p = b.load(pa, {bb, h, idx});
  Value ok = b.cmp(CmpIPredicate::sge, p, zero);
  Value pc = b.maxS(p, zero);
  Value pi = b.toIndex(pc);
  Value sv = b.load(ps, {bb, h, pi});
  Value sel = b.cmp(CmpIPredicate::ne, sv, b.i8(0));
  return b.andI(ok, sel);
}

/// The i32 count of cluster c when it is selected in `sel` and `in` holds,
/// else 0.
Value selectedCount(KernelBuilder &b, Value sel, Value cnt, Value bb, Value h,
                    Value c, Value in) {
  Value sv = b.load(sel, {bb, h, c});
  Value on0 = b.cmp(CmpIPredicate::ne, sv, b.i8(0));
  Value on = b.andI(on0, in);
  Value cn = b.load(cnt, {bb, h, c});
  return b.select(on, cn, b.i32(0));
}

/// The selected tokens of the `n` consecutive clusters from `first` (index)
/// that lie below `bound` (i32 sum; clusters past the C - 1 row read it and
/// count 0).
Value selectedRunCount(KernelBuilder &b, Value sel, Value cnt, Value bb,
                       Value h, int64_t C, Value first, Value n, Value bound) {
  Value c0 = b.index(0), c1 = b.index(1), cC = b.index(C);
  return b.forLoop(
      c0, n, c1, {b.i32(0)}, [&](KernelBuilder &kb, Value u, ValueRange it) {
        Value cl = kb.add(first, u);
        Value in = kb.cmp(CmpIPredicate::ult, cl, bound);
        Value last = kb.sub(cC, c1);
        Value cs = kb.minU(cl, last);
        Value add = selectedCount(kb, sel, cnt, bb, h, cs, in);
        return SmallVector<Value>{kb.add(it[0], add)};
      })[0];
}

//===----------------------------------------------------------------------===//
// centroid_score: logits
//===----------------------------------------------------------------------===//

/// Rows of centroids per group and loop iteration (loads first).
constexpr int64_t kScoreUnroll = 4;
constexpr int64_t kLogitsThreads = 128;

/// The logits kernel's work split: `lanes` lanes read a row (PL floats each),
/// NG groups of lanes per CTA, G query heads per KV head.
struct LogitsLayout {
  int64_t PL, lanes, NG, G;
  explicit LogitsLayout(const ScoreSpec &sp)
      : PL(sp.laneFloats), lanes(sp.shape.D / sp.laneFloats),
        NG(kLogitsThreads / lanes), G(sp.shape.G()) {}
};

/// Values of a logits CTA shared by its phases.
struct LogitsCtx {
  Value q, cent, cnt, st, lens, logits, part, scale, sm, ss;
  Value split, h, bb, tid, grp, sub, d0;
  Value lo, hi, trip, loG;
  SmallVector<Value> qh; // query head of each of the G heads
};

/// A logits kernel (either one: same arguments, grid and results) with
/// `groups` (m, s) slots per head in shared memory; binds its arguments and
/// block / thread ids in `c`.
gpu::GPUFuncOp createLogitsKernel(KernelBuilder &b, gpu::GPUModuleOp module,
                                  StringRef name, const ScoreSpec &sp,
                                  int64_t groups, LogitsCtx &c) {
  const AttnShape &s = sp.shape;
  Type f32 = b.f32(), i32 = b.getI32Type();
  SmallVector<Type> args = {
      KernelBuilder::memref({s.B, s.Hq, s.D},
                            KernelBuilder::elementType(b.getContext(), s.elt)),
      KernelBuilder::memref({s.B, s.H, sp.C, s.D},
                            sp.bf16Centroids ? Type(b.getBF16Type()) : f32),
      KernelBuilder::memref({s.B, s.H, sp.C}, i32),
      KernelBuilder::memref({s.B, s.H, 4}, i32),
      KernelBuilder::memref({s.B}, i32),
      KernelBuilder::memref({s.B, s.Hq, sp.C}, f32),
      KernelBuilder::memref({s.B, s.Hq, sp.csplits, 2}, f32),
      f32};
  int64_t slots = groups * s.G();
  SmallVector<Type> wg = {KernelBuilder::workgroup({slots}, f32),
                          KernelBuilder::workgroup({slots}, f32)};
  auto fn =
      createKernel(b, module, name, args, wg, {int32_t(kLogitsThreads), 1, 1});
  c.q = fn.getArgument(0);
  c.cent = fn.getArgument(1);
  c.cnt = fn.getArgument(2);
  c.st = fn.getArgument(3);
  c.lens = fn.getArgument(4);
  c.logits = fn.getArgument(5);
  c.part = fn.getArgument(6);
  c.scale = fn.getArgument(7);
  c.sm = fn.getWorkgroupAttributions()[0];
  c.ss = fn.getWorkgroupAttributions()[1];
  c.split = b.blockId(Dimension::x);
  c.h = b.blockId(Dimension::y);
  c.bb = b.blockId(Dimension::z);
  c.tid = b.threadId(Dimension::x);
  return fn;
}

/// This CTA's clusters [lo, hi) of the nc live ones (split evenly over the
/// splits).
void splitRange(KernelBuilder &b, const ScoreSpec &sp, LogitsCtx &c) {
  Value c0 = b.index(0);
  Value nci = b.load(c.st, {c.bb, c.h, c0});
  Value nc0 = b.toIndex(nci);
  Value nc = b.minU(nc0, b.index(sp.C));
  Value chunk = b.ceilDivU(nc, b.index(sp.csplits));
  Value lo0 = b.mul(c.split, chunk);
  c.lo = b.minU(lo0, nc);
  Value hi0 = b.add(c.lo, chunk);
  c.hi = b.minU(hi0, nc);
}

/// This CTA's clusters and the uniform trip count of its groups.
void logitsRange(KernelBuilder &b, const ScoreSpec &sp, const LogitsLayout &L,
                 LogitsCtx &c) {
  splitRange(b, sp, c);
  Value len = b.sub(c.hi, c.lo);
  // Uniform trip count per warp (row reductions are shuffles over all lanes).
  c.trip = b.ceilDivU(len, b.index(L.NG * kScoreUnroll));
  c.loG = b.add(c.lo, c.grp);
}

/// Head g's query (f32, PL dims per lane) at query head qh.
Value loadQuery(KernelBuilder &b, const ScoreSpec &sp, const LogitsLayout &L,
                const LogitsCtx &c, Value qh) {
  Value qr = b.vload(L.PL, c.q, {c.bb, qh, c.d0});
  if (sp.shape.elt != "f32")
    return arith::ExtFOp::create(b, VectorType::get({L.PL}, b.f32()), qr);
  Value q2 = b.add(qr, qr);
  Value half = b.splat(L.PL, 0.5f);
  return b.mul(q2, half);
}

/// The dims of a query for windowed RoPE: each dim x, its partner (dim
/// d +- D/2, which lives lanes/2 lanes away: a shuffle) and its index d.
struct RopeDims {
  SmallVector<Value> x, partner, dim;
};

RopeDims ropeDims(KernelBuilder &b, const LogitsLayout &L, const LogitsCtx &c,
                  Value q) {
  RopeDims r;
  for (int64_t e = 0; e < L.PL; ++e) {
    r.x.push_back(b.extract(q, e));
    Value off = b.i32(L.lanes / 2);
    r.partner.push_back(b.shuffle(gpu::ShuffleMode::XOR, r.x[e], off));
    r.dim.push_back(b.add(c.d0, b.index(e)));
  }
  return r;
}

/// Windowed RoPE: a query rotated by rot = P - (n - 1) positions, each dim d
/// by the angle rot * theta^(-2 (d mod D/2) / D); `second`: this lane holds
/// dims of the second half (sign of the partner term).
Value rotateQuery(KernelBuilder &b, const ScoreSpec &sp, const LogitsLayout &L,
                  const RopeDims &q, Value rot, Value second) {
  Type f32 = b.f32(), f64 = b.getF64Type();
  SmallVector<Value> y;
  for (int64_t e = 0; e < L.PL; ++e) {
    Value i = b.rem(q.dim[e], b.index(sp.shape.D / 2));
    Value ii = b.indexCast(b.getI64Type(), i);
    Value fi = b.siToFp(f64, ii);
    Value ex0 = b.mul(b.f64(-2.0), fi);
    Value ex1 = b.div(ex0, b.f64(double(sp.shape.D)));
    Value ex2 = b.mul(ex1, b.f64(std::log(sp.theta)));
    Value w = b.exp(ex2);
    Value ang = b.mul(rot, w);
    Value cs64 = math::CosOp::create(b, ang);
    Value sn64 = math::SinOp::create(b, ang);
    Value cs = b.truncTo(f32, cs64);
    Value sn = b.truncTo(f32, sn64);
    Value nsn = arith::NegFOp::create(b, sn);
    Value sg = b.select(second, sn, nsn);
    Value y0 = b.mul(q.x[e], cs);
    y.push_back(math::FmaOp::create(b, q.partner[e], sg, y0));
  }
  return vector::FromElementsOp::create(b, VectorType::get({L.PL}, f32), y);
}

/// The scoring queries of the G heads (their query heads go to c.qh):
/// rotated (theta > 0) or (q + q) * 0.5.
SmallVector<Value> scoringQueries(KernelBuilder &b, const ScoreSpec &sp,
                                  const LogitsLayout &L, LogitsCtx &c) {
  const bool rope = sp.theta > 0;
  Value rot, second;
  if (rope) {
    Type f64 = b.getF64Type();
    Value li = b.load(c.lens, {c.bb});
    Value lf = b.siToFp(f64, li);
    Value qpos = b.sub(lf, b.f64(1.0));
    rot = b.sub(b.f64(double(sp.scorePos)), qpos);
    second = b.cmp(CmpIPredicate::uge, c.sub, b.index(L.lanes / 2));
  }
  Value hG = b.mul(c.h, b.index(L.G));
  SmallVector<Value> qq;
  SmallVector<RopeDims> dims;
  for (int64_t g = 0; g < L.G; ++g) {
    c.qh.push_back(b.add(hG, b.index(g)));
    qq.push_back(loadQuery(b, sp, L, c, c.qh[g]));
    if (rope)
      dims.push_back(ropeDims(b, L, c, qq[g]));
  }
  SmallVector<Value> qs;
  for (int64_t g = 0; g < L.G; ++g) {
    if (rope) {
      qs.push_back(rotateQuery(b, sp, L, dims[g], rot, second));
      continue;
    }
    Value q2 = b.add(qq[g], qq[g]);
    Value half = b.splat(L.PL, 0.5f);
    qs.push_back(b.mul(q2, half));
  }
  return qs;
}

/// One centroid row of an iteration: cluster `cl` (clamped into the range),
/// its row, count, whether it counts (`ne`: valid and non-empty) and whether
/// this lane writes its logits (`lead`).
struct ScoreRow {
  Value cl, row, ne, cnf, lead;
};

ScoreRow loadScoreRow(KernelBuilder &b, const LogitsLayout &L,
                      const LogitsCtx &c, Value base, Value isLead, int64_t u) {
  ScoreRow r;
  Value cu = b.add(base, b.index(u * L.NG));
  Value valid = b.cmp(CmpIPredicate::ult, cu, c.hi);
  r.cl = b.select(valid, cu, c.lo);
  // f32 rows: PL floats per lane; bf16 rows (centroid-type=bf16): PL bf16
  // values per lane, half the bytes, extended to f32.
  Type ce = cast<MemRefType>(c.cent.getType()).getElementType();
  int64_t bytes = L.PL * (ce.isBF16() ? 2 : 4);
  r.row = vector::LoadOp::create(b, VectorType::get({L.PL}, ce), c.cent,
                                 ValueRange{c.bb, c.h, r.cl, c.d0},
                                 /*nontemporal=*/false,
                                 llvm::MaybeAlign(std::min<int64_t>(16, bytes)));
  if (ce.isBF16())
    r.row = b.extF(VectorType::get({L.PL}, b.f32()), r.row);
  Value cn = b.load(c.cnt, {c.bb, c.h, r.cl});
  Value ne0 = b.cmp(CmpIPredicate::sgt, cn, b.i32(0));
  r.ne = b.andI(ne0, valid);
  r.cnf = b.siToFp(b.f32(), cn);
  r.lead = b.andI(isLead, valid);
  return r;
}

/// Head g's logits of the iteration's rows (stored by the lead lanes) and
/// its online (max, sum n e^x) update from (m, s).
std::pair<Value, Value> headUpdate(KernelBuilder &b, const LogitsLayout &L,
                                   const LogitsCtx &c, Value q, Value qh,
                                   ArrayRef<ScoreRow> rows, Value m, Value s) {
  Value ninf = b.negInf(), zero = b.f32(0.0);
  SmallVector<Value> xm;
  Value mx = m;
  for (const ScoreRow &r : rows) {
    Value pr = b.mul(q, r.row);
    Value ps = vector::ReductionOp::create(b, vector::CombiningKind::ADD, pr);
    Value dot = b.warpSum(ps, L.lanes);
    Value x = b.mul(dot, c.scale);
    b.ifThen(r.lead, [&](KernelBuilder &kb) {
      kb.store(x, c.logits, {c.bb, qh, r.cl});
    });
    xm.push_back(b.select(r.ne, x, ninf));
    mx = b.maximum(mx, xm.back());
  }
  // Rescale the running sum to the new maximum (no rescale while empty).
  Value none = b.cmp(CmpFPredicate::OEQ, mx, ninf);
  Value dm = b.sub(m, mx);
  Value fe = b.exp(dm);
  Value f = b.select(none, b.f32(1.0), fe);
  Value sum = b.mul(s, f);
  for (size_t u = 0; u < rows.size(); ++u) {
    Value dx = b.sub(xm[u], mx);
    Value ee = b.exp(dx);
    Value we = b.mul(rows[u].cnf, ee);
    Value wz = b.select(rows[u].ne, we, zero);
    sum = b.add(sum, wz);
  }
  return {mx, sum};
}

/// The cluster loop: kScoreUnroll rows per group per iteration; yields the
/// per-head (max, sum) of this group's rows.
SmallVector<Value> logitsLoop(KernelBuilder &b, const LogitsLayout &L,
                              const LogitsCtx &c, ArrayRef<Value> qs) {
  Value ninf = b.negInf(), zero = b.f32(0.0);
  SmallVector<Value> init;
  for (int64_t g = 0; g < L.G; ++g)
    init.append({ninf, zero});
  Value c0 = b.index(0), c1 = b.index(1);
  return b.forLoop(
      c0, c.trip, c1, init, [&](KernelBuilder &kb, Value it, ValueRange acc) {
        Value itu = kb.mul(it, kb.index(L.NG * kScoreUnroll));
        Value base = kb.add(c.loG, itu);
        Value isLead = kb.cmp(CmpIPredicate::eq, c.sub, kb.index(0));
        SmallVector<ScoreRow> rows;
        for (int64_t u = 0; u < kScoreUnroll; ++u)
          rows.push_back(loadScoreRow(kb, L, c, base, isLead, u));
        SmallVector<Value> next;
        for (int64_t g = 0; g < L.G; ++g) {
          auto [m, s] = headUpdate(kb, L, c, qs[g], c.qh[g], rows, acc[2 * g],
                                   acc[2 * g + 1]);
          next.append({m, s});
        }
        return next;
      });
}

void mergeGroups(KernelBuilder &b, int64_t NG, int64_t G, const LogitsCtx &c);

/// Merges the groups' (m, s) per head (through shared memory, thread g for
/// head g) into this split's pair part[b, qh, split] = (M, Z).
void combineGroups(KernelBuilder &b, const LogitsLayout &L, const LogitsCtx &c,
                   ValueRange res) {
  Value c0 = b.index(0), cG = b.index(L.G);
  Value isLead = b.cmp(CmpIPredicate::eq, c.sub, c0);
  Value gG = b.mul(c.grp, cG);
  for (int64_t g = 0; g < L.G; ++g) {
    Value slot = b.add(gG, b.index(g));
    b.ifThen(isLead, [&](KernelBuilder &kb) {
      kb.store(res[2 * g], c.sm, {slot});
      kb.store(res[2 * g + 1], c.ss, {slot});
    });
  }
  mergeGroups(b, L.NG, L.G, c);
}

/// The merge of combineGroups: the NG groups' (m, s) of each of the G heads,
/// stored at c.sm / c.ss [group * G + head], into part[b, qh, split].
void mergeGroups(KernelBuilder &b, int64_t NG, int64_t G, const LogitsCtx &c) {
  Value c0 = b.index(0), c1 = b.index(1), cG = b.index(G);
  Value zero = b.f32(0.0);
  b.barrier();
  Value inG = b.cmp(CmpIPredicate::ult, c.tid, cG);
  b.ifThen(inG, [&](KernelBuilder &kb) {
    Value cNG = kb.index(NG);
    // (m, s) of group r for this thread's head, and whether it is non-empty.
    auto loadPair = [&](KernelBuilder &k, Value r) {
      Value rG = k.mul(r, cG);
      Value sl = k.add(rG, c.tid);
      Value m = k.load(c.sm, {sl});
      Value s = k.load(c.ss, {sl});
      Value has = k.cmp(CmpFPredicate::OGT, s, zero);
      return std::make_tuple(m, s, has);
    };
    Value M = kb.forLoop(c0, cNG, c1, {kb.negInf()},
                         [&](KernelBuilder &k, Value r, ValueRange it) {
                           auto [m, s, has] = loadPair(k, r);
                           Value mm = k.maximum(it[0], m);
                           return SmallVector<Value>{k.select(has, mm, it[0])};
                         })[0];
    Value Z = kb.forLoop(c0, cNG, c1, {zero},
                         [&](KernelBuilder &k, Value r, ValueRange it) {
                           auto [m, s, has] = loadPair(k, r);
                           Value dd = k.sub(m, M);
                           Value ee = k.exp(dd);
                           Value w = k.mul(s, ee);
                           Value wz = k.select(has, w, zero);
                           return SmallVector<Value>{k.add(it[0], wz)};
                         })[0];
    Value hG = kb.mul(c.h, cG);
    Value qh = kb.add(hG, c.tid);
    kb.store(M, c.part, {c.bb, qh, c.split, c0});
    kb.store(Z, c.part, {c.bb, qh, c.split, c1});
  });
}

} // namespace

gpu::GPUFuncOp mlir::multipole::gpugen::buildScoreLogitsKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const ScoreSpec &sp) {
  KernelBuilder b(loc, ob);
  LogitsLayout L(sp);
  LogitsCtx c;
  auto fn = createLogitsKernel(b, module, name, sp, L.NG, c);
  Value cLanes = b.index(L.lanes);
  c.grp = b.div(c.tid, cLanes);
  c.sub = b.rem(c.tid, cLanes);
  c.d0 = b.mul(c.sub, b.index(L.PL));
  logitsRange(b, sp, L, c);
  SmallVector<Value> qs = scoringQueries(b, sp, L, c);
  SmallVector<Value> res = logitsLoop(b, L, c, qs);
  combineGroups(b, L, c, res);
  b.ret();
  return fn;
}

//===----------------------------------------------------------------------===//
// centroid_score: logits on tensor cores
//===----------------------------------------------------------------------===//

namespace {

/// 16-row tiles of centroids a warp loads per loop iteration (loads first).
constexpr int64_t kMmaLogitsTiles = 2;

/// (m, s) merged with (m2, s2): the larger maximum, sums rescaled to it (0
/// while both are empty).
std::pair<Value, Value> mergePair(KernelBuilder &b, Value m, Value s, Value m2,
                                  Value s2) {
  Value mx = b.maximum(m, m2);
  Value none = b.cmp(CmpFPredicate::OEQ, mx, b.negInf());
  Value e1 = b.exp(b.sub(m, mx)), e2 = b.exp(b.sub(m2, mx));
  Value sum = b.add(b.mul(s, e1), b.mul(s2, e2));
  return {mx, b.select(none, b.f32(0.0), sum)};
}

} // namespace

bool mlir::multipole::gpugen::mmaLogitsApplies(const ScoreSpec &sp) {
  const AttnShape &s = sp.shape;
  return sp.bf16Centroids && s.elt == "bf16" && sp.theta <= 0 &&
         s.G() <= 8 && s.D % 32 == 0;
}

gpu::GPUFuncOp mlir::multipole::gpugen::buildScoreLogitsMmaKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const ScoreSpec &sp) {
  KernelBuilder b(loc, ob);
  const AttnShape &s = sp.shape;
  const int64_t G = s.G(), NW = kLogitsThreads / 32, U = kMmaLogitsTiles;
  const int64_t slots = s.D / 32; // 16-byte chunks a lane loads per row
  Type f32 = b.f32();
  LogitsCtx c;
  auto fn = createLogitsKernel(b, module, name, sp, NW, c);
  splitRange(b, sp, c);
  // PTX's m16n8k16 fragments: lane = 4 g + t. A row g (and g + 8) is a
  // centroid of the tile, B column g a query head (zero past G), C (g, 2t
  // and 2t + 1) logits of rows g, g + 8 for heads 2t, 2t + 1. The reduction
  // over k may visit the dims in any order, as long as A and B agree: lane t
  // of a row loads the 16-byte chunks t, t + 4, ... (8 dims each; four
  // lanes read 64 contiguous bytes), and each chunk is two k-steps, dims
  // {0,1 | 2,3} then {4,5 | 6,7} of it as k {2t, 2t+1 | 2t+8, 2t+9}.
  Value lane = b.rem(c.tid, b.index(32)), warp = b.div(c.tid, b.index(32));
  Value g = b.div(lane, b.index(4)), t = b.rem(lane, b.index(4));
  Value cG = b.index(G);
  Value hasHead = b.cmp(CmpIPredicate::ult, g, cG);
  Value qhB = b.add(b.mul(c.h, cG), b.minU(g, b.index(G - 1)));
  auto chunkDim = [&](KernelBuilder &kb, int64_t i) {
    return kb.mul(kb.add(kb.index(4 * i), t), kb.index(8));
  };
  Value zi = b.i32(0);
  SmallVector<std::array<Value, 2>> bq; // per k-step
  for (int64_t i = 0; i < slots; ++i) {
    Value d = chunkDim(b, i);
    Value v = b.vloadAligned(8, c.q, {c.bb, qhB, d}, 16);
    std::array<Value, 4> pr = chunkPairs(b, v);
    for (int64_t hh = 0; hh < 2; ++hh)
      bq.push_back({b.select(hasHead, pr[2 * hh], zi),
                    b.select(hasHead, pr[2 * hh + 1], zi)});
  }
  // Heads of this lane's C columns, and the query heads they are.
  SmallVector<Value> colOk, colQh;
  for (int64_t j = 0; j < 2; ++j) {
    Value n = b.add(b.mul(t, b.index(2)), b.index(j));
    colOk.push_back(b.cmp(CmpIPredicate::ult, n, cG));
    colQh.push_back(b.add(b.mul(c.h, cG), n));
  }
  Value len = b.sub(c.hi, c.lo);
  Value trip = b.ceilDivU(len, b.index(16 * NW * U));
  Value ninf = b.negInf(), zero = b.f32(0.0);
  SmallVector<Value> init = {ninf, zero, ninf, zero};
  SmallVector<Value> res = b.forLoop(
      b.index(0), trip, b.index(1), init,
      [&](KernelBuilder &kb, Value it, ValueRange acc) {
        struct Row {
          Value cl, valid, ne, cnf;
          SmallVector<std::array<Value, 4>> chunks;
        };
        SmallVector<std::array<Row, 2>> tiles;
        for (int64_t u = 0; u < U; ++u) {
          Value tile = kb.add(kb.mul(kb.add(kb.mul(it, kb.index(U)),
                                            kb.index(u)),
                                     kb.index(NW)),
                              warp);
          Value base = kb.add(c.lo, kb.mul(tile, kb.index(16)));
          std::array<Row, 2> rows;
          for (int64_t r = 0; r < 2; ++r) {
            Row &row = rows[r];
            Value cl = kb.add(base, kb.add(g, kb.index(8 * r)));
            row.valid = kb.cmp(CmpIPredicate::ult, cl, c.hi);
            row.cl = kb.select(row.valid, cl, c.lo);
            for (int64_t i = 0; i < slots; ++i) {
              Value v = kb.vloadAligned(8, c.cent,
                                        {c.bb, c.h, row.cl, chunkDim(kb, i)},
                                        16);
              row.chunks.push_back(chunkPairs(kb, v));
            }
            Value cn = kb.load(c.cnt, {c.bb, c.h, row.cl});
            Value pos = kb.cmp(CmpIPredicate::sgt, cn, kb.i32(0));
            row.ne = kb.andI(pos, row.valid);
            row.cnf = kb.siToFp(f32, cn);
          }
          tiles.push_back(rows);
        }
        SmallVector<Value> m = {acc[0], acc[2]}, sum = {acc[1], acc[3]};
        for (auto &rows : tiles) {
          SmallVector<Value> d = {kb.f32(0.0), kb.f32(0.0), kb.f32(0.0),
                                  kb.f32(0.0)};
          for (int64_t i = 0; i < slots; ++i)
            for (int64_t hh = 0; hh < 2; ++hh) {
              const auto &A = rows[0].chunks[i], &B8 = rows[1].chunks[i];
              Value r = mmaBf16(kb,
                                ValueRange{A[2 * hh], B8[2 * hh],
                                           A[2 * hh + 1], B8[2 * hh + 1]},
                                ValueRange{bq[2 * i + hh][0],
                                           bq[2 * i + hh][1]},
                                d);
              for (int64_t e = 0; e < 4; ++e)
                d[e] = LLVM::ExtractValueOp::create(kb, r,
                                                    ArrayRef<int64_t>{e});
            }
          // d[2r + j]: row r (g, g + 8), head 2t + j.
          for (int64_t j = 0; j < 2; ++j) {
            SmallVector<Value> xm;
            Value mx = m[j];
            for (int64_t r = 0; r < 2; ++r) {
              Value x = kb.mul(d[2 * r + j], c.scale);
              Value st = kb.andI(rows[r].valid, colOk[j]);
              kb.ifThen(st, [&](KernelBuilder &k2) {
                k2.store(x, c.logits, {c.bb, colQh[j], rows[r].cl});
              });
              xm.push_back(kb.select(rows[r].ne, x, ninf));
              mx = kb.maximum(mx, xm.back());
            }
            Value none = kb.cmp(CmpFPredicate::OEQ, mx, ninf);
            Value f = kb.select(none, kb.f32(1.0), kb.exp(kb.sub(m[j], mx)));
            Value sj = kb.mul(sum[j], f);
            for (int64_t r = 0; r < 2; ++r) {
              Value w = kb.mul(rows[r].cnf, kb.exp(kb.sub(xm[r], mx)));
              sj = kb.add(sj, kb.select(rows[r].ne, w, zero));
            }
            m[j] = mx;
            sum[j] = sj;
          }
        }
        return SmallVector<Value>{m[0], sum[0], m[1], sum[1]};
      });
  // The warp's pair per head: over the 8 lanes of each t (xor 4, 8, 16);
  // lanes 0-3 (g = 0) then hold heads 2t, 2t + 1.
  for (int64_t j = 0; j < 2; ++j) {
    Value mj = res[2 * j], sj = res[2 * j + 1];
    for (int64_t off : {4, 8, 16}) {
      Value m2 = b.shuffleXor(mj, off), s2 = b.shuffleXor(sj, off);
      std::tie(mj, sj) = mergePair(b, mj, sj, m2, s2);
    }
    Value lead = b.andI(b.cmp(CmpIPredicate::eq, g, b.index(0)), colOk[j]);
    Value n = b.add(b.mul(t, b.index(2)), b.index(j));
    Value slot = b.add(b.mul(warp, cG), n);
    b.ifThen(lead, [&](KernelBuilder &kb) {
      kb.store(mj, c.sm, {slot});
      kb.store(sj, c.ss, {slot});
    });
  }
  mergeGroups(b, NW, G, c);
  b.ret();
  return fn;
}

//===----------------------------------------------------------------------===//
// centroid_score: scores
//===----------------------------------------------------------------------===//

namespace {

constexpr int64_t kScoresThreads = 256;

/// (M, Z) of query head qh from the logits kernel's split pairs, reduced by
/// one warp (lanes over splits, then butterflies); lane 0 writes them to
/// smz[g] and smz[G + g].
void mergeSplitPairs(KernelBuilder &b, Value part, Value smz, Value bb,
                     Value qh, Value lane, int64_t splits, int64_t G,
                     int64_t g) {
  Value c0 = b.index(0), c1 = b.index(1), c32 = b.index(32);
  Value cS = b.index(splits);
  Value zero = b.f32(0.0);
  auto loadPair = [&](KernelBuilder &k, Value sp) {
    Value m = k.load(part, {bb, qh, sp, c0});
    Value s = k.load(part, {bb, qh, sp, c1});
    Value has = k.cmp(CmpFPredicate::OGT, s, zero);
    return std::make_tuple(m, s, has);
  };
  Value lm = b.forLoop(lane, cS, c32, {b.negInf()},
                       [&](KernelBuilder &k, Value sp, ValueRange it) {
                         auto [m, s, has] = loadPair(k, sp);
                         Value mm = k.maximum(it[0], m);
                         return SmallVector<Value>{k.select(has, mm, it[0])};
                       })[0];
  Value M = b.warpMaximum(lm);
  Value lz = b.forLoop(lane, cS, c32, {zero},
                       [&](KernelBuilder &k, Value sp, ValueRange it) {
                         auto [m, s, has] = loadPair(k, sp);
                         Value dd = k.sub(m, M);
                         Value ee = k.exp(dd);
                         Value w = k.mul(s, ee);
                         Value wz = k.select(has, w, zero);
                         return SmallVector<Value>{k.add(it[0], wz)};
                       })[0];
  Value Z = b.warpSum(lz);
  Value lane0 = b.cmp(CmpIPredicate::eq, lane, c0);
  b.ifThen(lane0, [&](KernelBuilder &kb) {
    Value cg = kb.index(g);
    kb.store(M, smz, {cg});
    Value zi = kb.add(cg, kb.index(G));
    kb.store(Z, smz, {zi});
  });
}

/// r_c for the clusters [start, hi) by `step`: the sum over heads of
/// e^(x - M) / Z for live clusters, else -1 (and -inf logits beyond nc).
void writeScores(KernelBuilder &b, Value cnt, Value logits, Value r, Value bb,
                 Value h, Value start, Value hi, Value nc, ArrayRef<Value> qh,
                 ArrayRef<Value> M, ArrayRef<Value> Z, int64_t step) {
  b.forLoop(start, hi, b.index(step), {},
            [&](KernelBuilder &kb, Value c, ValueRange) {
              Value in = kb.cmp(CmpIPredicate::ult, c, nc);
              Value cn = kb.load(cnt, {bb, h, c});
              Value ne = kb.cmp(CmpIPredicate::sgt, cn, kb.i32(0));
              Value live = kb.andI(in, ne);
              Value acc;
              for (size_t g = 0; g < qh.size(); ++g) {
                Value a = kb.load(logits, {bb, qh[g], c});
                Value d = kb.sub(a, M[g]);
                Value e = kb.exp(d);
                Value p = kb.div(e, Z[g]);
                acc = acc ? kb.add(acc, p) : p;
              }
              Value rv = kb.select(live, acc, kb.f32(-1.0));
              kb.store(rv, r, {bb, h, c});
              Value out = kb.cmp(CmpIPredicate::uge, c, nc);
              kb.ifThen(out, [&](KernelBuilder &k) {
                Value ninf = k.negInf();
                for (Value q : qh)
                  k.store(ninf, logits, {bb, q, c});
              });
              return SmallVector<Value>{};
            });
}

} // namespace

gpu::GPUFuncOp mlir::multipole::gpugen::buildScoreScoresKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const ScoreSpec &sp) {
  KernelBuilder b(loc, ob);
  const AttnShape &s = sp.shape;
  const int64_t G = s.G(), C = sp.C;
  Type f32 = b.f32(), i32 = b.getI32Type();
  SmallVector<Type> args = {
      KernelBuilder::memref({s.B, s.H, C}, i32),
      KernelBuilder::memref({s.B, s.H, 4}, i32),
      KernelBuilder::memref({s.B, s.Hq, C}, f32),
      KernelBuilder::memref({s.B, s.Hq, sp.csplits, 2}, f32),
      KernelBuilder::memref({s.B, s.H, C}, f32)};
  SmallVector<Type> wg = {KernelBuilder::workgroup({2 * G}, f32)};
  auto fn =
      createKernel(b, module, name, args, wg, {int32_t(kScoresThreads), 1, 1});
  Value cnt = fn.getArgument(0), st = fn.getArgument(1);
  Value logits = fn.getArgument(2), part = fn.getArgument(3);
  Value r = fn.getArgument(4), smz = fn.getWorkgroupAttributions()[0];
  Value c0 = b.index(0), cC = b.index(C), c32 = b.index(32);
  Value sp0 = b.blockId(Dimension::x);
  Value h = b.blockId(Dimension::y);
  Value bb = b.blockId(Dimension::z);
  Value tid = b.threadId(Dimension::x);
  // This CTA's clusters (the scores are split over CTAs like the logits).
  Value ch = b.ceilDivU(cC, b.index(sp.ssplits));
  Value lo0 = b.mul(sp0, ch);
  Value lo = b.minU(lo0, cC);
  Value hi0 = b.add(lo, ch);
  Value hi = b.minU(hi0, cC);
  Value start = b.add(lo, tid);
  Value nci = b.load(st, {bb, h, c0});
  Value nc = b.toIndex(nci);
  Value hG = b.mul(h, b.index(G));
  // Z per head from the logits kernel's per-split (max, sum) pairs: warp
  // g mod 8 merges head g and shares it through shared memory. (Each thread
  // walking all splits serially cost ~30 us.)
  Value lane = b.rem(tid, c32), warp = b.div(tid, c32);
  SmallVector<Value> qh;
  for (int64_t g = 0; g < G; ++g) {
    qh.push_back(b.add(hG, b.index(g)));
    Value mine = b.cmp(CmpIPredicate::eq, warp, b.index(g % 8));
    b.ifThen(mine, [&](KernelBuilder &kb) {
      mergeSplitPairs(kb, part, smz, bb, qh[g], lane, sp.csplits, G, g);
    });
  }
  b.barrier();
  SmallVector<Value> M, Z;
  for (int64_t g = 0; g < G; ++g) {
    Value cg = b.index(g);
    M.push_back(b.load(smz, {cg}));
    Value zx = b.add(cg, b.index(G));
    Z.push_back(b.load(smz, {zx}));
  }
  writeScores(b, cnt, logits, r, bb, h, start, hi, nc, qh, M, Z,
              kScoresThreads);
  b.ret();
  return fn;
}

//===----------------------------------------------------------------------===//
// select_clusters
//===----------------------------------------------------------------------===//

namespace {

constexpr int64_t kSelectThreads = 1024;
/// Bins of a radix digit; one histogram per warp.
constexpr int64_t kBins = 256, kSelectWarps = kSelectThreads / 32;

/// Values of a selection CTA shared by its phases.
struct SelectCtx {
  Value r, cnt, st, pa, ps, cbase, sel;
  Value hist, sh, sfx;
  Value h, bb, tid, warp, nc;
  /// Scores computed in registers (scores_in_select, R > 0): the logits,
  /// the query heads of this KV head, their maxima and 1 / Z.
  Value logits;
  SmallVector<Value> qh, M, invZ;
};

/// A cluster kept in registers for the radix passes: c = tid + k * 1024
/// (clamped to cc), in range `in`, score `rv`, its bits `key`, weight `w`
/// (count when eligible, else 0).
struct RegCluster {
  Value in, cc, rv, key, w;
};

/// The token budget T (i64): budgetTokens, or floor(budgetFrac * live
/// tokens) when budgetTokens < 0.
Value selectBudget(KernelBuilder &b, const SelectSpec &sp, const SelectCtx &c) {
  Value lci = b.load(c.st, {c.bb, c.h, b.index(1)});
  Value btok = b.i64(sp.budgetTokens);
  Value lcf = b.siToFp(b.getF64Type(), lci);
  Value tf = b.mul(b.f64(sp.budgetFrac), lcf);
  Value tfl = math::FloorOp::create(b, tf);
  Value tfi = arith::FPToSIOp::create(b, b.getI64Type(), tfl);
  Value useTok = b.cmp(CmpIPredicate::sge, btok, b.i64(0));
  return b.select(useTok, btok, tfi);
}

/// Writes the eligibility mask (live, non-empty, parent selected) and
/// returns the total eligible tokens (i64): summed per thread, then per warp
/// with shuffles, then one shared-memory atomic per warp (a single shared
/// counter hit by every cluster would serialise thousands of atomics).
Value markEligible(KernelBuilder &b, const SelectSpec &sp, const SelectCtx &c) {
  Value c0 = b.index(0);
  Value t0 = b.cmp(CmpIPredicate::eq, c.tid, c0);
  b.ifThen(t0, [&](KernelBuilder &kb) { kb.store(kb.i64(0), c.sh, {c0}); });
  b.barrier();
  Value cC = b.index(sp.C), cT = b.index(kSelectThreads), zero = b.i32(0);
  Value mysum = b.forLoop(
      c.tid, cC, cT, {zero}, [&](KernelBuilder &kb, Value cl, ValueRange it) {
        Value in = kb.cmp(CmpIPredicate::ult, cl, c.nc);
        Value cn = kb.load(c.cnt, {c.bb, c.h, cl});
        Value ne = kb.cmp(CmpIPredicate::sgt, cn, kb.i32(0));
        Value el = kb.andI(in, ne);
        if (sp.hasParent) {
          Value pe = parentSelected(kb, c.pa, c.ps, c.bb, c.h, cl);
          el = kb.andI(el, pe);
        }
        Value mv = maskByte(kb, el);
        kb.store(mv, c.sel, {c.bb, c.h, cl});
        Value add = kb.select(el, cn, zero);
        return SmallVector<Value>{kb.add(it[0], add)};
      })[0];
  Value wsum = b.warpSum(mysum);
  Value lane = b.rem(c.tid, b.index(32));
  Value lane0 = b.cmp(CmpIPredicate::eq, lane, c0);
  b.ifThen(lane0, [&](KernelBuilder &kb) {
    Value w64 = kb.extSI64(wsum);
    kb.atomicAdd(w64, c.sh, {c0});
  });
  b.barrier();
  return b.load(c.sh, {c0});
}

/// Loads the R clusters tid * R + k (k < R <= 16) of this thread into
/// registers, with their eligibility (live, non-empty, parent selected) as
/// the weight: the mask is written once, at the end (writeRegMask). Each
/// thread's clusters are consecutive, so a thread's runs of equal digits are
/// neighbouring clusters, and its clusters are one chunk of the token list
/// (selectChunk).
SmallVector<RegCluster> loadRegClusters(KernelBuilder &b, const SelectSpec &sp,
                                        const SelectCtx &c, int64_t R) {
  SmallVector<RegCluster> regs;
  Value first = b.mul(c.tid, b.index(R));
  for (int64_t k = 0; k < R; ++k) {
    RegCluster rc;
    Value cl = b.add(first, b.index(k));
    rc.in = b.cmp(CmpIPredicate::ult, cl, b.index(sp.C));
    rc.cc = b.minU(cl, b.index(sp.C - 1));
    Value cn = b.load(c.cnt, {c.bb, c.h, rc.cc});
    Value live = b.cmp(CmpIPredicate::ult, cl, c.nc);
    Value ne = b.cmp(CmpIPredicate::sgt, cn, b.i32(0));
    if (c.logits) {
      // r_c = sum over heads of e^(a - M) / Z (-1 unless live and
      // non-empty), and -inf logits past nc, as the scores kernel writes.
      Value acc;
      for (size_t g = 0; g < c.qh.size(); ++g) {
        Value a = b.load(c.logits, {c.bb, c.qh[g], rc.cc});
        Value e = b.exp(b.sub(a, c.M[g]));
        Value p = b.mul(e, c.invZ[g]);
        acc = acc ? b.add(acc, p) : p;
      }
      rc.rv = b.select(b.andI(live, ne), acc, b.f32(-1.0));
      Value past = b.andI(rc.in, b.notI(live));
      b.ifThen(past, [&](KernelBuilder &kb) {
        Value ninf = kb.negInf();
        for (Value q : c.qh)
          kb.store(ninf, c.logits, {c.bb, q, rc.cc});
      });
    } else {
      rc.rv = b.load(c.r, {c.bb, c.h, rc.cc});
    }
    Value el = b.andI(b.andI(rc.in, live), ne);
    if (sp.hasParent)
      el = b.andI(el, parentSelected(b, c.pa, c.ps, c.bb, c.h, rc.cc));
    rc.key = b.bitcast(b.getI32Type(), rc.rv);
    rc.w = b.select(el, cn, b.i32(0));
    regs.push_back(rc);
  }
  return regs;
}

/// The eligible tokens of the CTA (i64) from the registers' weights: warp
/// sums, then every warp sums the 32 warp totals (one barrier).
Value regEligibleTotal(KernelBuilder &b, const SelectCtx &c,
                       ArrayRef<RegCluster> regs) {
  Value mine = b.i32(0);
  for (const RegCluster &rc : regs)
    mine = b.add(mine, rc.w);
  Value ws = b.warpSum(mine);
  Value lane = b.rem(c.tid, b.index(32));
  Value lane0 = b.cmp(CmpIPredicate::eq, lane, b.index(0));
  b.ifThen(lane0, [&](KernelBuilder &kb) { kb.store(ws, c.sfx, {c.warp}); });
  b.barrier();
  Value v = b.load(c.sfx, {lane});
  return b.extSI64(b.warpSum(v));
}

/// Adds the run (digit rd, weight rs) to this warp's histogram.
void flushRun(KernelBuilder &b, const SelectCtx &c, Value rd, Value rs) {
  Value di = b.toIndex(rd);
  Value wb = b.mul(c.warp, b.index(kBins));
  Value hi = b.add(wb, di);
  b.atomicAdd(rs, c.hist, {hi});
}

/// One cluster into the run-length histogram update: a cluster that matches
/// the prefix (`go`) with digit dg either extends the current run (rd, rs)
/// or flushes it and starts a new one. Returns the new (rd, rs).
std::pair<Value, Value> runStep(KernelBuilder &b, const SelectCtx &c, Value go,
                                Value dg, Value w, Value rd, Value rs) {
  Value none = b.i32(-1);
  Value same = b.cmp(CmpIPredicate::eq, dg, rd);
  Value f0 = b.cmp(CmpIPredicate::ne, rd, none);
  Value diff = b.notI(same);
  Value f1 = b.andI(f0, diff);
  Value flush = b.andI(f1, go);
  b.ifThen(flush, [&](KernelBuilder &kb) { flushRun(kb, c, rd, rs); });
  Value keep = b.andI(go, same);
  Value rsk = b.add(rs, w);
  Value nd = b.select(go, dg, rd);
  Value ns0 = b.select(keep, rsk, w);
  Value ns = b.select(go, ns0, rs);
  return {nd, ns};
}

/// The digit histograms of the clusters matching (prefix, mask) at `shift`:
/// each thread merges runs of equal digits before touching shared memory
/// (neighbouring clusters mostly share their top digits). Returns the
/// pending run (rd, rs).
std::pair<Value, Value> histogramRuns(KernelBuilder &b, const SelectSpec &sp,
                                      const SelectCtx &c,
                                      ArrayRef<RegCluster> regs, bool inRegs,
                                      Value prefix, Value mask, Value shift) {
  Value zero = b.i32(0), c255 = b.i32(kBins - 1);
  Value rd = b.i32(-1), rs = zero;
  if (inRegs) {
    for (const RegCluster &rc : regs) {
      Value km = b.andI(rc.key, mask);
      Value match = b.cmp(CmpIPredicate::eq, km, prefix);
      Value pos = b.cmp(CmpIPredicate::sgt, rc.w, zero);
      Value go = b.andI(pos, match);
      Value dg0 = b.shrU(rc.key, shift);
      Value dg = b.andI(dg0, c255);
      std::tie(rd, rs) = runStep(b, c, go, dg, rc.w, rd, rs);
    }
    return {rd, rs};
  }
  Value cC = b.index(sp.C), cT = b.index(kSelectThreads);
  SmallVector<Value> run = b.forLoop(
      c.tid, cC, cT, {rd, rs}, [&](KernelBuilder &kb, Value cl, ValueRange it) {
        Value ev = kb.load(c.sel, {c.bb, c.h, cl});
        Value el = kb.cmp(CmpIPredicate::ne, ev, kb.i8(0));
        Value rv = kb.load(c.r, {c.bb, c.h, cl});
        Value key = kb.bitcast(kb.getI32Type(), rv);
        Value km = kb.andI(key, mask);
        Value match = kb.cmp(CmpIPredicate::eq, km, prefix);
        Value go = kb.andI(el, match);
        Value dg0 = kb.shrU(key, shift);
        Value dg = kb.andI(dg0, c255);
        Value cn = kb.load(c.cnt, {c.bb, c.h, cl});
        auto [nd, ns] = runStep(kb, c, go, dg, cn, it[0], it[1]);
        return SmallVector<Value>{nd, ns};
      });
  return {run[0], run[1]};
}

/// Suffix sums over the kBins bins of the summed warp histograms for the
/// threads tbin < kBins (bin order = thread order): an inclusive scan in each
/// of the kBins / 32 warps with shuffles, then the totals of the warps above
/// from shared memory (one barrier). Returns (this thread's bin total, its
/// inclusive suffix sum); both 0 outside the bins.
std::pair<Value, Value> suffixSums(KernelBuilder &b, const SelectCtx &c,
                                   Value inBins, Value tbin) {
  Value c0 = b.index(0), c1 = b.index(1), cBins = b.index(kBins);
  Value zero = b.i32(0);
  Value tb0 = b.forLoop(c0, b.index(kSelectWarps), c1, {zero},
                        [&](KernelBuilder &kb, Value w, ValueRange it) {
                          Value wb = kb.mul(w, cBins);
                          Value wi = kb.add(wb, tbin);
                          Value hw = kb.load(c.hist, {wi});
                          return SmallVector<Value>{kb.add(it[0], hw)};
                        })[0];
  Value tb = b.select(inBins, tb0, zero);
  Value lane = b.rem(c.tid, b.index(32));
  Value pre = warpInclusiveScan(b, tb, lane);
  Value wtot = b.shuffle(gpu::ShuffleMode::IDX, pre, b.i32(31));
  Value inWarp = b.add(b.sub(wtot, pre), tb);
  constexpr int64_t kBinWarps = kBins / 32;
  Value last = b.cmp(CmpIPredicate::eq, lane, b.index(31));
  Value binWarp = b.cmp(CmpIPredicate::ult, c.warp, b.index(kBinWarps));
  b.ifThen(b.andI(last, binWarp),
           [&](KernelBuilder &kb) { kb.store(wtot, c.sfx, {c.warp}); });
  b.barrier();
  Value above = zero;
  for (int64_t w = 1; w < kBinWarps; ++w) {
    Value wt = b.load(c.sfx, {b.index(w)});
    Value up = b.cmp(CmpIPredicate::ult, c.warp, b.index(w));
    above = b.add(above, b.select(up, wt, zero));
  }
  Value incl = b.select(inBins, b.add(inWarp, above), zero);
  return {tb, incl};
}

/// One radix pass over the digit at 8 * (3 - pass): histogram, suffix sums,
/// and the one bin where the weight from the top first exceeds the budget.
/// Returns the next (prefix, mask, budget).
SmallVector<Value> radixPass(KernelBuilder &b, const SelectSpec &sp,
                             const SelectCtx &c, ArrayRef<RegCluster> regs,
                             bool inRegs, Value pass, ValueRange it) {
  Value prefix = it[0], mask = it[1], budget = it[2];
  Value c1 = b.index(1), c2 = b.index(2);
  Value p3 = b.sub(b.index(3), pass);
  Value p8 = b.mul(p3, b.index(4));
  Value p82 = b.mul(p8, c2);
  Value shift = b.toI32(p82);
  // One histogram per warp (32 x 256 bins): scores of neighbouring clusters
  // share their top bits, so one shared histogram serialises.
  Value cHist = b.index(kSelectWarps * kBins), cT = b.index(kSelectThreads);
  b.forLoop(c.tid, cHist, cT, {}, [&](KernelBuilder &kb, Value i, ValueRange) {
    kb.store(kb.i32(0), c.hist, {i});
    return SmallVector<Value>{};
  });
  b.barrier();
  auto [rd, rs] = histogramRuns(b, sp, c, regs, inRegs, prefix, mask, shift);
  Value pend = b.cmp(CmpIPredicate::ne, rd, b.i32(-1));
  b.ifThen(pend, [&, rd = rd, rs = rs](KernelBuilder &kb) {
    flushRun(kb, c, rd, rs);
  });
  b.barrier();
  Value inBins = b.cmp(CmpIPredicate::ult, c.tid, b.index(kBins));
  Value tbin = b.minU(c.tid, b.index(kBins - 1));
  auto [tb, incl] = suffixSums(b, c, inBins, tbin);
  Value excl = b.sub(incl, tb);
  Value incl64 = b.extSI64(incl);
  Value excl64 = b.extSI64(excl);
  Value gt = b.cmp(CmpIPredicate::sgt, incl64, budget);
  Value le = b.cmp(CmpIPredicate::sle, excl64, budget);
  Value mine0 = b.andI(gt, le);
  Value mine = b.andI(mine0, inBins);
  b.ifThen(mine, [&](KernelBuilder &kb) {
    Value dg64 = kb.indexCast(kb.getI64Type(), tbin);
    kb.store(dg64, c.sh, {c1});
    Value nrest = kb.sub(budget, excl64);
    kb.store(nrest, c.sh, {c2});
  });
  b.barrier();
  Value digit = b.load(c.sh, {c1});
  Value nb = b.load(c.sh, {c2});
  b.barrier();
  Value d32 = arith::TruncIOp::create(b, b.getI32Type(), digit);
  Value dsh = b.shl(d32, shift);
  Value np = b.orI(prefix, dsh);
  Value msh = b.shl(b.i32(kBins - 1), shift);
  Value nm = b.orI(mask, msh);
  return {np, nm, nb};
}

/// Whether register cluster `rc` is selected: eligible, and, when the
/// eligible tokens exceed the budget (`over`), its score above the threshold
/// t*.
Value regKept(KernelBuilder &b, const RegCluster &rc, Value over,
              Value tstar) {
  Value pos = b.cmp(CmpIPredicate::sgt, rc.w, b.i32(0));
  Value ab = b.cmp(CmpFPredicate::OGT, rc.rv, tstar);
  return b.andI(pos, b.orI(b.notI(over), ab));
}

/// Writes the mask of the register clusters; returns this thread's selected
/// tokens (i32).
Value writeRegMask(KernelBuilder &b, const SelectSpec &sp, const SelectCtx &c,
                   ArrayRef<RegCluster> regs, Value over, Value tstar) {
  Value mine = b.i32(0);
  for (const RegCluster &rc : regs) {
    Value keep = regKept(b, rc, over, tstar);
    Value mv = maskByte(b, keep);
    b.ifThen(rc.in, [&](KernelBuilder &kb) {
      kb.store(mv, c.sel, {c.bb, c.h, rc.cc});
    });
    mine = b.add(mine, b.select(keep, rc.w, b.i32(0)));
  }
  return mine;
}

/// Keeps the eligible clusters whose score is above the threshold t*
/// (clusters read from global memory: C > 16 x 1024).
void applyThreshold(KernelBuilder &b, const SelectSpec &sp, const SelectCtx &c,
                    Value tstar) {
  Value cC = b.index(sp.C), cT = b.index(kSelectThreads);
  b.forLoop(c.tid, cC, cT, {}, [&](KernelBuilder &kb, Value cl, ValueRange) {
    Value ev = kb.load(c.sel, {c.bb, c.h, cl});
    Value el = kb.cmp(CmpIPredicate::ne, ev, kb.i8(0));
    Value rv = kb.load(c.r, {c.bb, c.h, cl});
    Value above = kb.cmp(CmpFPredicate::OGT, rv, tstar);
    Value keep = kb.andI(el, above);
    Value mv = maskByte(kb, keep);
    kb.store(mv, c.sel, {c.bb, c.h, cl});
    return SmallVector<Value>{};
  });
}

/// The block-wide exclusive scan of the threads' selected tokens `mine`
/// (warp scans, then a scan of the warp totals), written as the chunk bases:
/// a chunk is `tpc` consecutive threads; the last entry is the total.
void scanChunkBases(KernelBuilder &b, const SelectSpec &sp, const SelectCtx &c,
                    Value mine, int64_t tpc) {
  Value c0 = b.index(0), c1 = b.index(1), c32 = b.index(32);
  Value lane = b.rem(c.tid, c32);
  Value incl = warpInclusiveScan(b, mine, lane);
  Value isLast = b.cmp(CmpIPredicate::eq, lane, b.index(31));
  b.ifThen(isLast, [&](KernelBuilder &kb) { kb.store(incl, c.sfx, {c.warp}); });
  b.barrier();
  Value w0 = b.cmp(CmpIPredicate::eq, c.warp, c0);
  b.ifThen(w0, [&](KernelBuilder &kb) {
    Value wt = kb.load(c.sfx, {lane});
    Value wincl = warpInclusiveScan(kb, wt, lane);
    kb.store(wincl, c.sfx, {lane});
  });
  b.barrier();
  Value hasPrev = b.cmp(CmpIPredicate::ugt, c.warp, c0);
  Value wp = b.sub(c.warp, c1);
  Value wpc = b.select(hasPrev, wp, c0);
  Value wprev0 = b.load(c.sfx, {wpc});
  Value wprev = b.select(hasPrev, wprev0, b.i32(0));
  Value excl0 = b.sub(incl, mine);
  Value excl = b.add(excl0, wprev);
  Value cNCH = b.index(sp.nch), cTPC = b.index(tpc);
  Value chunk = b.div(c.tid, cTPC);
  Value first = b.cmp(CmpIPredicate::eq, b.rem(c.tid, cTPC), c0);
  Value inChunks = b.cmp(CmpIPredicate::ult, chunk, cNCH);
  b.ifThen(b.andI(first, inChunks), [&](KernelBuilder &kb) {
    kb.store(excl, c.cbase, {c.bb, c.h, chunk});
  });
  Value isLastChunk =
      b.cmp(CmpIPredicate::eq, c.tid, b.index(sp.nch * tpc - 1));
  b.ifThen(isLastChunk, [&](KernelBuilder &kb) {
    Value tot = kb.add(excl, mine);
    kb.store(tot, c.cbase, {c.bb, c.h, cNCH});
  });
}

/// Selected tokens per chunk of CPT consecutive clusters (one chunk per
/// thread) and their exclusive prefix (a block-wide scan: warp scans, then a
/// scan of the warp totals): where each chunk's members go in the exact
/// part's token list (compactChunksKernel); the last entry is the total.
void writeChunkBases(KernelBuilder &b, const SelectSpec &sp,
                     const SelectCtx &c) {
  Value cC = b.index(sp.C), cCPT = b.index(selectChunk(sp.C, sp.nch));
  b.barrier();
  Value cc0 = b.mul(c.tid, cCPT);
  Value mine = selectedRunCount(b, c.sel, c.cnt, c.bb, c.h, sp.C, cc0, cCPT, cC);
  scanChunkBases(b, sp, c, mine, 1);
}

} // namespace

gpu::GPUFuncOp mlir::multipole::gpugen::buildSelectKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const SelectSpec &sp) {
  KernelBuilder b(loc, ob);
  Type f32 = b.f32(), i32 = b.getI32Type(), i8 = b.getI8Type();
  const int64_t B = sp.B, H = sp.H, C = sp.C;
  SmallVector<Type> args = {KernelBuilder::memref({B, H, C}, f32),
                            KernelBuilder::memref({B, H, C}, i32),
                            KernelBuilder::memref({B, H, 4}, i32)};
  if (sp.hasParent)
    args.append({KernelBuilder::memref({B, H, C}, i32),
                 KernelBuilder::memref({B, H, sp.Cparent}, i8)});
  if (sp.chunkBases)
    args.push_back(KernelBuilder::memref({B, H, sp.nch + 1}, i32));
  args.push_back(KernelBuilder::memref({B, H, C}, i8));
  const int64_t G = sp.fusedG;
  if (G)
    args.append({KernelBuilder::memref({B, H * G, C}, f32),
                 KernelBuilder::memref({B, H * G, sp.csplits, 2}, f32)});
  SmallVector<Type> wg = {KernelBuilder::workgroup({kSelectWarps * kBins}, i32),
                          KernelBuilder::workgroup({4}, b.getI64Type()),
                          KernelBuilder::workgroup({kBins}, i32)};
  if (G)
    wg.push_back(KernelBuilder::workgroup({2 * G}, f32));
  auto fn =
      createKernel(b, module, name, args, wg, {int32_t(kSelectThreads), 1, 1});
  SelectCtx c;
  unsigned a = 0;
  c.r = fn.getArgument(a++);
  c.cnt = fn.getArgument(a++);
  c.st = fn.getArgument(a++);
  if (sp.hasParent) {
    c.pa = fn.getArgument(a++);
    c.ps = fn.getArgument(a++);
  }
  if (sp.chunkBases)
    c.cbase = fn.getArgument(a++);
  c.sel = fn.getArgument(a++);
  c.hist = fn.getWorkgroupAttributions()[0];
  c.sh = fn.getWorkgroupAttributions()[1];
  c.sfx = fn.getWorkgroupAttributions()[2];
  c.h = b.blockId(Dimension::x);
  c.bb = b.blockId(Dimension::y);
  c.tid = b.threadId(Dimension::x);
  c.warp = b.div(c.tid, b.index(32));
  Value nci = b.load(c.st, {c.bb, c.h, b.index(0)});
  c.nc = b.toIndex(nci);
  if (G) {
    // The scores first: (M, Z) of head g merged over the logits kernel's
    // splits by warp g; then each thread's register clusters' scores (and
    // -inf logits past nc), with a multiplication by 1 / Z where the scores
    // kernel divides; beyond the register form (C > 16K), r as the scores
    // kernel writes it, by the CTA's threads.
    Value logits = fn.getArgument(a++), pairs = fn.getArgument(a++);
    Value smz = fn.getWorkgroupAttributions()[3];
    Value lane = b.rem(c.tid, b.index(32));
    Value hG = b.mul(c.h, b.index(G));
    SmallVector<Value> qh;
    for (int64_t g = 0; g < G; ++g) {
      qh.push_back(b.add(hG, b.index(g)));
      Value mine = b.cmp(CmpIPredicate::eq, c.warp, b.index(g));
      b.ifThen(mine, [&](KernelBuilder &kb) {
        mergeSplitPairs(kb, pairs, smz, c.bb, qh[g], lane, sp.csplits, G, g);
      });
    }
    b.barrier();
    SmallVector<Value> M, Z;
    for (int64_t g = 0; g < G; ++g) {
      M.push_back(b.load(smz, {b.index(g)}));
      Z.push_back(b.load(smz, {b.index(G + g)}));
    }
    if (selectRegClusters(C) > 0) {
      // Each thread computes the scores of its register clusters
      // (loadRegClusters), with 1 / Z once per head.
      c.logits = logits;
      c.qh = qh;
      c.M = M;
      for (Value z : Z)
        c.invZ.push_back(b.div(b.f32(1.0), z));
    } else {
      writeScores(b, c.cnt, logits, c.r, c.bb, c.h, c.tid, b.index(C), c.nc,
                  qh, M, Z, kSelectThreads);
      b.barrier();
    }
  }
  Value T = selectBudget(b, sp, c);
  // Radix select of the threshold key: 4 passes over 8-bit digits of the
  // (positive) score bits, from the top, weighted by counts.
  auto radixSelect = [&](KernelBuilder &kb, ArrayRef<RegCluster> regs,
                         bool inRegs) {
    Value zero = kb.i32(0);
    Value c0 = kb.index(0), c4 = kb.index(4), c1 = kb.index(1);
    SmallVector<Value> res =
        kb.forLoop(c0, c4, c1, {zero, zero, T},
                   [&](KernelBuilder &k, Value pass, ValueRange it) {
                     return radixPass(k, sp, c, regs, inRegs, pass, it);
                   });
    return kb.bitcast(kb.f32(), res[0]);
  };
  const int64_t R = selectRegClusters(C);
  if (R > 0) {
    // At most 16 clusters per thread: a thread keeps its clusters' keys and
    // weights in registers from the first load to the mask (one read of the
    // scores and counts, one write of the mask), and its clusters are its
    // chunk of the token list.
    SmallVector<RegCluster> regs = loadRegClusters(b, sp, c, R);
    Value total = regEligibleTotal(b, c, regs);
    Value over = b.cmp(CmpIPredicate::sgt, total, T);
    Value tstar = b.ifElse(
        over,
        [&](KernelBuilder &kb) {
          return SmallVector<Value>{radixSelect(kb, regs, true)};
        },
        [&](KernelBuilder &kb) {
          return SmallVector<Value>{kb.negInf()};
        })[0];
    Value mine = writeRegMask(b, sp, c, regs, over, tstar);
    if (sp.chunkBases) {
      b.barrier();
      scanChunkBases(b, sp, c, mine, kSelectThreads / sp.nch);
    }
    b.ret();
    return fn;
  }
  Value total = markEligible(b, sp, c);
  Value over = b.cmp(CmpIPredicate::sgt, total, T);
  b.ifThen(over, [&](KernelBuilder &kb) {
    applyThreshold(kb, sp, c, radixSelect(kb, {}, false));
  });
  if (sp.chunkBases)
    writeChunkBases(b, sp, c);
  b.ret();
  return fn;
}

int64_t mlir::multipole::gpugen::selectChunks(int64_t B, int64_t H) {
  int64_t heads = B * H;
  return heads <= 16 ? 1024 : heads <= 64 ? 512 : 256;
}

bool mlir::multipole::gpugen::selectChunksSupported(int64_t nch) {
  return nch == 256 || nch == 512 || nch == 1024;
}

int64_t mlir::multipole::gpugen::selectRegClusters(int64_t C) {
  int64_t R = (C + kSelectThreads - 1) / kSelectThreads;
  return R <= 16 ? R : 0;
}

int64_t mlir::multipole::gpugen::selectChunk(int64_t C, int64_t nch) {
  // With the clusters in registers, a chunk is kSelectThreads / nch threads'
  // consecutive clusters (nch divides kSelectThreads: selectChunks).
  if (int64_t R = selectRegClusters(C))
    return R * (kSelectThreads / nch);
  return std::max<int64_t>(1, (C + nch - 1) / nch);
}

bool mlir::multipole::gpugen::laneFloatsFit(int64_t D, int64_t pl) {
  return pl > 0 && D % pl == 0 && D / pl <= 32 &&
         ((D / pl) & (D / pl - 1)) == 0;
}

int64_t mlir::multipole::gpugen::scoreFloatsPerLane(const AttnShape &s,
                                                    double theta) {
  // 8 floats (32 bytes) of a centroid row per lane: 16 lanes per 512-byte
  // row. 16 floats per lane needed 178 registers (2 CTAs per SM; run 14).
  // Windowed RoPE keeps 4 per lane (the rotation code would spill).
  if (theta == 0 && s.D % 8 == 0 && s.D / 8 <= 32 &&
      ((s.D / 8) & (s.D / 8 - 1)) == 0)
    return 8;
  return 4;
}

//===----------------------------------------------------------------------===//
// compact
//===----------------------------------------------------------------------===//

namespace {

/// Arguments and ids of a compaction CTA.
struct CompactCtx {
  Value lens, off, mem, cnt, st, sel, cbase, tok, ntok;
  Value h, bb, tid;
};

/// The exact part's fixed prefix: sink tokens [0, sn) and the window
/// [ws, n) written at [sn, sn + nw) by threads step `threads`.
void writeSinkAndWindow(KernelBuilder &b, const CompactCtx &c, int64_t threads,
                        Value sn, Value ws, Value nw) {
  Value step = b.index(threads);
  b.forLoop(c.tid, sn, step, {}, [&](KernelBuilder &kb, Value p, ValueRange) {
    Value pi = kb.toI32(p);
    kb.store(pi, c.tok, {c.bb, c.h, p});
    return SmallVector<Value>{};
  });
  b.forLoop(c.tid, nw, step, {}, [&](KernelBuilder &kb, Value p, ValueRange) {
    Value j = kb.add(ws, p);
    Value ji = kb.toI32(j);
    Value q = kb.add(sn, p);
    kb.store(ji, c.tok, {c.bb, c.h, q});
    return SmallVector<Value>{};
  });
}

/// The members of one chunk's selected clusters, copied by a warp to
/// tok[pos0 ...]: lanes load the metadata of 32 clusters at once, scan
/// their selected counts with shuffles, then copy with all 32 lanes (slot q
/// belongs to the first lane whose inclusive count exceeds q), so all loads
/// are in flight together. (A thread per chunk copying serially was
/// latency-bound: ~44 us at B = 1.)
void copyChunk(KernelBuilder &b, const CompactSpec &sp, const CompactCtx &c,
               Value k, Value lane, Value pos0) {
  Value c0 = b.index(0), c1 = b.index(1), c32 = b.index(32);
  Value cC = b.index(sp.C), cCPT = b.index(selectChunk(sp.C, sp.nch));
  Value cfirst = b.mul(k, cCPT);
  Value cLast = b.sub(cC, c1);
  b.forLoop(
      c0, cCPT, c32, {pos0}, [&](KernelBuilder &kb, Value u0, ValueRange it) {
        Value pos = it[0];
        Value u = kb.add(u0, lane);
        Value inU = kb.cmp(CmpIPredicate::ult, u, cCPT);
        Value cl = kb.add(cfirst, u);
        Value inC = kb.cmp(CmpIPredicate::ult, cl, cC);
        Value in = kb.andI(inU, inC);
        Value cc = kb.minU(cl, cLast);
        Value sv = kb.load(c.sel, {c.bb, c.h, cc});
        Value oi = kb.load(c.off, {c.bb, c.h, cc});
        Value mi = kb.load(c.cnt, {c.bb, c.h, cc});
        Value on0 = kb.cmp(CmpIPredicate::ne, sv, kb.i8(0));
        Value on = kb.andI(on0, in);
        Value w = kb.select(on, mi, kb.i32(0));
        Value incl = warpInclusiveScan(kb, w, lane);
        Value excl = kb.sub(incl, w);
        Value tot = kb.shuffle(gpu::ShuffleMode::IDX, incl, kb.i32(31));
        Value totx = kb.toIndex(tot);
        Value trips = kb.ceilDivU(totx, c32);
        kb.forLoop(c0, trips, c1, {},
                   [&](KernelBuilder &k2, Value i, ValueRange) {
                     Value i32x = k2.mul(i, c32);
                     Value q = k2.add(i32x, lane);
                     Value qi = k2.toI32(q);
                     Value qv = k2.cmp(CmpIPredicate::ult, q, totx);
                     Value own = laneSearch(k2, incl, qi);
                     Value ob = k2.shuffle(gpu::ShuffleMode::IDX, oi, own);
                     Value eb = k2.shuffle(gpu::ShuffleMode::IDX, excl, own);
                     k2.ifThen(qv, [&](KernelBuilder &k3) {
                       Value rel = k3.sub(qi, eb);
                       Value srci = k3.add(ob, rel);
                       Value src = k3.toIndex(srci);
                       Value jv = k3.load(c.mem, {c.bb, c.h, src});
                       Value dst = k3.add(pos, q);
                       k3.store(jv, c.tok, {c.bb, c.h, dst});
                     });
                     return SmallVector<Value>{};
                   });
        return SmallVector<Value>{kb.add(pos, totx)};
      });
}

} // namespace

gpu::GPUFuncOp mlir::multipole::gpugen::buildCompactChunksKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const CompactSpec &sp) {
  constexpr int64_t kThreads = 128, kWarps = kThreads / 32;
  KernelBuilder b(loc, ob);
  Type i32 = b.getI32Type(), i8 = b.getI8Type();
  const int64_t B = sp.B, H = sp.H, N = sp.N, C = sp.C;
  SmallVector<Type> args = {KernelBuilder::memref({B}, i32),
                            KernelBuilder::memref({B, H, C + 1}, i32),
                            KernelBuilder::memref({B, H, N}, i32),
                            KernelBuilder::memref({B, H, C}, i32),
                            KernelBuilder::memref({B, H, 4}, i32),
                            KernelBuilder::memref({B, H, C}, i8),
                            KernelBuilder::memref({B, H, sp.nch + 1}, i32),
                            KernelBuilder::memref({B, H, N}, i32),
                            KernelBuilder::memref({B, H}, i32)};
  auto fn = createKernel(b, module, name, args, {}, {int32_t(kThreads), 1, 1});
  CompactCtx c;
  c.lens = fn.getArgument(0);
  c.off = fn.getArgument(1);
  c.mem = fn.getArgument(2);
  c.cnt = fn.getArgument(3);
  c.st = fn.getArgument(4);
  c.sel = fn.getArgument(5);
  c.cbase = fn.getArgument(6);
  c.tok = fn.getArgument(7);
  c.ntok = fn.getArgument(8);
  Value c0 = b.index(0), c1 = b.index(1), c32 = b.index(32);
  Value x = b.blockId(Dimension::x);
  c.h = b.blockId(Dimension::y);
  c.bb = b.blockId(Dimension::z);
  c.tid = b.threadId(Dimension::x);
  Value li = b.load(c.lens, {c.bb});
  Value l0 = b.toIndex(li);
  Value l1 = b.maxS(l0, c0);
  Value n = b.minU(l1, b.index(N));
  Value lci = b.load(c.st, {c.bb, c.h, c1});
  Value lc = b.toIndex(lci);
  Value cS = b.index(sp.sink);
  Value sn = b.minU(cS, n);
  Value ws0 = b.add(cS, lc);
  Value ws = b.minU(ws0, n);
  Value nw = b.sub(n, ws);
  Value base0 = b.add(sn, nw);
  // Block 0 also writes the sink and window tokens and the count.
  Value first = b.cmp(CmpIPredicate::eq, x, c0);
  b.ifThen(first, [&](KernelBuilder &kb) {
    writeSinkAndWindow(kb, c, kThreads, sn, ws, nw);
    Value t0 = kb.cmp(CmpIPredicate::eq, c.tid, c0);
    kb.ifThen(t0, [&](KernelBuilder &k) {
      Value tot = k.load(c.cbase, {c.bb, c.h, k.index(sp.nch)});
      Value b0i = k.toI32(base0);
      Value nt = k.add(tot, b0i);
      k.store(nt, c.ntok, {c.bb, c.h});
    });
  });
  // A warp per chunk, starting at its base from the selection.
  Value lane = b.rem(c.tid, c32);
  Value warp = b.div(c.tid, c32);
  Value k0 = b.mul(x, b.index(kWarps));
  Value k = b.add(k0, warp);
  Value cb = b.load(c.cbase, {c.bb, c.h, k});
  Value cbx = b.toIndex(cb);
  Value pos0 = b.add(base0, cbx);
  copyChunk(b, sp, c, k, lane, pos0);
  b.ret();
  return fn;
}

namespace {

constexpr int64_t kCompactThreads = 512;
/// Clusters a compactKernel CTA scans per step: 4 consecutive per thread.
constexpr int64_t kPerThread = 4, kStep = kCompactThreads * kPerThread;

/// Inclusive scan of scan[0, kCompactThreads) in place (Hillis-Steele).
void blockInclusiveScan(KernelBuilder &b, Value scan, Value tid) {
  Value c0 = b.index(0), c1 = b.index(1);
  Value steps = b.index(llvm::Log2_64(kCompactThreads));
  b.forLoop(c0, steps, c1, {}, [&](KernelBuilder &kb, Value s, ValueRange) {
    Value si = kb.toI32(s);
    Value dist0 = kb.shl(kb.i32(1), si);
    Value dist = kb.toIndex(dist0);
    Value has = kb.cmp(CmpIPredicate::uge, tid, dist);
    Value src = kb.sub(tid, dist);
    Value srcc = kb.select(has, src, tid);
    Value x = kb.load(scan, {tid});
    Value y = kb.load(scan, {srcc});
    Value yz = kb.select(has, y, kb.i32(0));
    Value z = kb.add(x, yz);
    kb.barrier();
    kb.store(z, scan, {tid});
    kb.barrier();
    return SmallVector<Value>{};
  });
}

/// The smallest thread t with scan[t] > q (binary search in shared memory).
Value scanOwner(KernelBuilder &b, Value scan, Value qi) {
  Value c0 = b.index(0), c1 = b.index(1), c2 = b.index(2);
  Value last = b.index(kCompactThreads - 1);
  Value steps = b.index(llvm::Log2_64(kCompactThreads));
  SmallVector<Value> bs = b.forLoop(
      c0, steps, c1, {c0, last}, [&](KernelBuilder &kb, Value, ValueRange it) {
        Value sum = kb.add(it[0], it[1]);
        Value mid = kb.div(sum, c2);
        Value sv = kb.load(scan, {mid});
        Value gt = kb.cmp(CmpIPredicate::sgt, sv, qi);
        Value mid1 = kb.add(mid, c1);
        Value nlo = kb.select(gt, it[0], mid1);
        Value nhi = kb.select(gt, mid, it[1]);
        return SmallVector<Value>{nlo, nhi};
      });
  return b.minU(bs[0], last);
}

/// Copies output slot q (i32 qi) of the step's selected members: its owner
/// thread, then the one of the owner's clusters holding rank q - (tokens of
/// earlier threads).
void copySlot(KernelBuilder &b, const CompactSpec &sp, const CompactCtx &c,
              Value scan, Value nc, Value stepBase, Value base, Value qi) {
  Value c0 = b.index(0), c1 = b.index(1), cK = b.index(kPerThread);
  Value zero = b.i32(0);
  Value own = scanOwner(b, scan, qi);
  Value isFirst = b.cmp(CmpIPredicate::eq, own, c0);
  Value ownm1 = b.sub(own, c1);
  Value prevIdx = b.select(isFirst, c0, ownm1);
  Value prev0 = b.load(scan, {prevIdx});
  Value prev = b.select(isFirst, zero, prev0);
  Value r0 = b.sub(qi, prev);
  Value o4 = b.mul(own, cK);
  Value oc0 = b.add(stepBase, o4);
  Value cC = b.index(sp.C);
  Value notFound = b.boolean(false);
  // Walk the owner's clusters to the one holding rank r0: (rank left,
  // cluster, found).
  SmallVector<Value> fw =
      b.forLoop(c0, cK, c1, {r0, c0, notFound},
                [&](KernelBuilder &kb, Value u, ValueRange it) {
                  Value rr = it[0], fc = it[1], found = it[2];
                  Value cl = kb.add(oc0, u);
                  Value inC = kb.cmp(CmpIPredicate::ult, cl, nc);
                  Value last = kb.sub(cC, c1);
                  Value cs = kb.minU(cl, last);
                  Value w = selectedCount(kb, c.sel, c.cnt, c.bb, c.h, cs, inC);
                  Value inside = kb.cmp(CmpIPredicate::slt, rr, w);
                  Value notf = kb.notI(found);
                  Value hit = kb.andI(inside, notf);
                  Value nfc = kb.select(hit, cs, fc);
                  Value nfound = kb.orI(found, hit);
                  Value rr2 = kb.sub(rr, w);
                  Value nrr = kb.select(nfound, rr, rr2);
                  return SmallVector<Value>{nrr, nfc, nfound};
                });
  Value o0 = b.load(c.off, {c.bb, c.h, fw[1]});
  Value srcI = b.add(o0, fw[0]);
  Value src = b.toIndex(srcI);
  Value jv = b.load(c.mem, {c.bb, c.h, src});
  Value dI = b.add(base, qi);
  Value d = b.toIndex(dI);
  b.store(jv, c.tok, {c.bb, c.h, d});
}

/// One step of kStep clusters: per-thread sums of its 4 clusters' selected
/// counts, a block-wide scan, then a cooperative copy of the members.
/// Returns the next output base (i32).
Value compactStep(KernelBuilder &b, const CompactSpec &sp, const CompactCtx &c,
                  Value scan, Value nc, Value k, Value base) {
  Value cK = b.index(kPerThread);
  Value stepBase = b.mul(k, b.index(kStep));
  Value t4 = b.mul(c.tid, cK);
  Value first = b.add(stepBase, t4);
  Value mine = selectedRunCount(b, c.sel, c.cnt, c.bb, c.h, sp.C, first, cK, nc);
  b.store(mine, scan, {c.tid});
  b.barrier();
  blockInclusiveScan(b, scan, c.tid);
  Value lastT = b.index(kCompactThreads - 1);
  Value tot0 = b.load(scan, {lastT});
  Value totx = b.toIndex(tot0);
  Value cT = b.index(kCompactThreads);
  b.forLoop(c.tid, totx, cT, {}, [&](KernelBuilder &kb, Value q, ValueRange) {
    Value qi = kb.toI32(q);
    copySlot(kb, sp, c, scan, nc, stepBase, base, qi);
    return SmallVector<Value>{};
  });
  Value tot = b.load(scan, {lastT});
  b.barrier();
  return b.add(base, tot);
}

} // namespace

gpu::GPUFuncOp mlir::multipole::gpugen::buildCompactKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const CompactSpec &sp) {
  KernelBuilder b(loc, ob);
  Type i32 = b.getI32Type(), i8 = b.getI8Type();
  const int64_t B = sp.B, H = sp.H, N = sp.N, C = sp.C;
  SmallVector<Type> args = {KernelBuilder::memref({B}, i32),
                            KernelBuilder::memref({B, H, C + 1}, i32),
                            KernelBuilder::memref({B, H, N}, i32),
                            KernelBuilder::memref({B, H, C}, i32),
                            KernelBuilder::memref({B, H, 4}, i32),
                            KernelBuilder::memref({B, H, C}, i8),
                            KernelBuilder::memref({B, H, N}, i32),
                            KernelBuilder::memref({B, H}, i32)};
  SmallVector<Type> wg = {KernelBuilder::workgroup({kCompactThreads}, i32)};
  auto fn =
      createKernel(b, module, name, args, wg, {int32_t(kCompactThreads), 1, 1});
  CompactCtx c;
  c.lens = fn.getArgument(0);
  c.off = fn.getArgument(1);
  c.mem = fn.getArgument(2);
  c.cnt = fn.getArgument(3);
  c.st = fn.getArgument(4);
  c.sel = fn.getArgument(5);
  c.tok = fn.getArgument(6);
  c.ntok = fn.getArgument(7);
  Value scan = fn.getWorkgroupAttributions()[0];
  Value c0 = b.index(0), c1 = b.index(1);
  c.h = b.blockId(Dimension::x);
  c.bb = b.blockId(Dimension::y);
  c.tid = b.threadId(Dimension::x);
  Value li = b.load(c.lens, {c.bb});
  Value l0 = b.toIndex(li);
  Value l1 = b.maxS(l0, c0);
  Value n = b.minU(l1, b.index(N));
  Value nci = b.load(c.st, {c.bb, c.h, c0});
  Value nc = b.toIndex(nci);
  Value lci = b.load(c.st, {c.bb, c.h, c1});
  Value lc = b.toIndex(lci);
  Value cS = b.index(sp.sink);
  Value sn = b.minU(cS, n);
  Value ws0 = b.add(cS, lc);
  Value ws = b.minU(ws0, n);
  Value nw = b.sub(n, ws);
  writeSinkAndWindow(b, c, kCompactThreads, sn, ws, nw);
  Value base0 = b.add(sn, nw);
  Value base0i = b.toI32(base0);
  // Selected clusters, kStep at a time.
  Value cC = b.index(C), cStep = b.index(kStep);
  Value steps = b.ceilDivU(cC, cStep);
  Value fin = b.forLoop(
      c0, steps, c1, {base0i}, [&](KernelBuilder &kb, Value k, ValueRange it) {
        return SmallVector<Value>{compactStep(kb, sp, c, scan, nc, k, it[0])};
      })[0];
  Value t0 = b.cmp(CmpIPredicate::eq, c.tid, c0);
  b.ifThen(t0, [&](KernelBuilder &kb) { kb.store(fin, c.ntok, {c.bb, c.h}); });
  b.ret();
  return fn;
}
