//===- AttentionKernels.cpp - split-KV attention on CUDA cores (GPU) ------===//
//
// Layout: a K/V row of D elements is read by `lanes = D / vec` consecutive
// lanes with one 16-byte load each; a warp holds 32 / lanes row groups, a CTA
// of `threads` threads NG = threads / lanes groups. Every group walks its own
// strided share of the CTA's tokens with an online softmax for all G query
// heads of the KV head, so each K/V row is loaded once for the whole GQA
// group. Partial states are combined through shared memory at the end of the
// CTA and written per split; `combine` / `merge` kernels reduce the splits.
//
// The approximation kernel is the same kernel over value centroids: its
// "tokens" are clusters, its logits are read (centroid_score wrote them) and
// offset by log(count), and empty or selected clusters get weight 0.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernels.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::multipole::gpugen;

using arith::CmpFPredicate;
using arith::CmpIPredicate;

bool mlir::multipole::gpugen::attnShapeSupported(const AttnShape &s,
                                                 std::string &why) {
  if ((s.D * s.eltBytes()) % 16 != 0) {
    why = "head dim * element size must be a multiple of 16 bytes";
    return false;
  }
  int64_t l = s.lanes();
  if (l < 1 || l > 32 || (l & (l - 1))) {
    why = "head dim / (16 / element size) must be a power of two <= 32";
    return false;
  }
  if (s.H <= 0 || s.Hq % s.H) {
    why = "query heads must be a multiple of KV heads";
    return false;
  }
  return true;
}

int64_t mlir::multipole::gpugen::approxFloatsPerLane(const AttnShape &s) {
  // 64 bytes per lane at large batch (fewer lanes per row, fewer shuffles:
  // 0.152 ms vs 0.166 ms at B = 16, runs 14-15), 32 bytes at small batch
  // (85 instead of 134 registers: 5 CTAs per SM for one short wave).
  auto ok = [&](int64_t pl) {
    return s.D % pl == 0 && s.D / pl <= 32 && ((s.D / pl) & (s.D / pl - 1)) == 0;
  };
  if (s.B * s.H >= 64 && ok(16))
    return 16;
  if (ok(8))
    return 8;
  return 0;
}

//===----------------------------------------------------------------------===//
// Pieces shared with the tensor-core kernel
//===----------------------------------------------------------------------===//

SplitRange mlir::multipole::gpugen::splitRange(KernelBuilder &b, Value count,
                                               Value split, int64_t N,
                                               int64_t splits) {
  Value c0 = b.index(0), cN = b.index(N), cS = b.index(splits);
  Value nt0 = arith::IndexCastOp::create(b, b.getIndexType(), count);
  Value nt1 = arith::MaxSIOp::create(b, nt0, c0);
  Value nt = arith::MinUIOp::create(b, nt1, cN);
  // This CTA's tokens: ceil(nt / splits) of them, clamped to the sequence.
  Value chunk = arith::CeilDivUIOp::create(b, nt, cS);
  Value lo0 = b.mul(split, chunk);
  Value lo = arith::MinUIOp::create(b, lo0, nt);
  Value hi0 = b.add(lo, chunk);
  Value hi = arith::MinUIOp::create(b, hi0, nt);
  Value len = b.sub(hi, lo);
  return {lo, hi, len};
}

/// Whether the parent (coarse cluster) of item `j` exists and is selected:
/// pa[b, h, j] >= 0 and ps[b, h, pa[b, h, j]] != 0.
Value mlir::multipole::gpugen::parentSelected(KernelBuilder &b, Value pa,
                                              Value ps, Value bb, Value h,
                                              Value j) {
  Value c0i = b.i32(0);
  Value c0i8 = arith::ConstantIntOp::create(b, 0, 8);
  Value p = b.load(pa, {bb, h, j});
  Value exists = b.cmp(CmpIPredicate::sge, p, c0i);
  Value pc = arith::MaxSIOp::create(b, p, c0i);
  Value pi = arith::IndexCastOp::create(b, b.getIndexType(), pc);
  Value sel = b.load(ps, {bb, h, pi});
  Value isSel = b.cmp(CmpIPredicate::ne, sel, c0i8);
  return arith::AndIOp::create(b, exists, isSel);
}

std::pair<Value, Value> mlir::multipole::gpugen::approxCounts(
    KernelBuilder &b, Value cnt, Value sel, Value pa, Value ps, Value bb,
    Value h, Value j, Value valid) {
  Value n = b.load(cnt, {bb, h, j});
  Value nonEmpty = b.cmp(CmpIPredicate::sgt, n, b.i32(0));
  Value sv = b.load(sel, {bb, h, j});
  Value c0i8 = arith::ConstantIntOp::create(b, 0, 8);
  Value notSel = b.cmp(CmpIPredicate::eq, sv, c0i8);
  Value ok = arith::AndIOp::create(b, nonEmpty, notSel);
  ok = arith::AndIOp::create(b, ok, valid);
  if (pa) {
    Value pe = parentSelected(b, pa, ps, bb, h, j);
    ok = arith::AndIOp::create(b, ok, pe);
  }
  return {ok, n};
}

Value mlir::multipole::gpugen::logCountOf(KernelBuilder &b, Value n) {
  Value nf = arith::SIToFPOp::create(b, b.f32(), n);
  return math::LogOp::create(b, nf);
}

namespace {

/// Row r, head g of the CTA partials: m and l of slot r * G + g.
struct RowPartial {
  Value slot, m, l, has;
};

RowPartial loadRowPartial(KernelBuilder &b, const CtaPartials &cta, Value r,
                          Value cG, Value hg, Value zf) {
  Value rG = b.mul(r, cG);
  Value slot = b.add(rG, hg);
  Value m = b.load(cta.m, {slot});
  Value l = b.load(cta.l, {slot});
  Value has = b.cmp(CmpFPredicate::OGT, l, zf);
  return {slot, m, l, has};
}

} // namespace

void mlir::multipole::gpugen::storeSplitPartials(
    KernelBuilder &b, const CtaPartials &cta, Value pacc, Value pm, Value pl,
    Value tid, Value bb, Value h, Value split, int64_t G, int64_t D,
    int64_t threads) {
  Value c0 = b.index(0), c1 = b.index(1), cRows = b.index(cta.rows);
  Value cG = b.index(G), cD = b.index(D), cGD = b.index(G * D);
  Value cT = b.index(threads);
  Value zf = b.f32(0.0), ninf = b.negInf();
  // Thread w handles dimension d of head hg: the maximum over the non-empty
  // rows, then the rows' log-sum-exp weighted sums.
  b.forLoop(tid, cGD, cT, {}, [&](KernelBuilder &kb, Value w, ValueRange) {
    Value hg = kb.div(w, cD);
    Value d = kb.rem(w, cD);
    Value M = kb.forLoop(c0, cRows, c1, {ninf},
                         [&](KernelBuilder &k2, Value r, ValueRange it) {
                           RowPartial p = loadRowPartial(k2, cta, r, cG, hg, zf);
                           Value mm = k2.maximum(it[0], p.m);
                           return SmallVector<Value>{k2.select(p.has, mm, it[0])};
                         })[0];
    SmallVector<Value> LA = kb.forLoop(
        c0, cRows, c1, {zf, zf}, [&](KernelBuilder &k2, Value r, ValueRange it) {
          RowPartial p = loadRowPartial(k2, cta, r, cG, hg, zf);
          Value e = k2.exp(k2.sub(p.m, M));
          Value f = k2.select(p.has, e, zf);
          Value si = k2.add(k2.mul(p.slot, cD), d);
          Value a = k2.load(cta.acc, {si});
          Value ls = k2.add(it[0], k2.mul(p.l, f));
          Value af = k2.select(p.has, k2.mul(a, f), zf);
          return SmallVector<Value>{ls, k2.add(it[1], af)};
        });
    Value qh = kb.add(kb.mul(h, cG), hg);
    kb.store(LA[1], pacc, {bb, qh, split, d});
    kb.ifThen(kb.cmp(CmpIPredicate::eq, d, c0), [&](KernelBuilder &k2) {
      k2.store(M, pm, {bb, qh, split});
      k2.store(LA[0], pl, {bb, qh, split});
    });
    return SmallVector<Value>{};
  });
}

//===----------------------------------------------------------------------===//
// The CUDA-core split kernel
//===----------------------------------------------------------------------===//

namespace {

/// Rows per group per loop iteration of the token loop.
constexpr int64_t kUnroll = 4;

/// `v` as f32 (extf of a bf16 / f16 vector; an f32 vector as it is).
Value extToF32(KernelBuilder &b, Value v) {
  auto t = cast<VectorType>(v.getType());
  if (t.getElementType().isF32())
    return v;
  return arith::ExtFOp::create(b, t.clone(b.f32()), v);
}

int64_t log2Exact(int64_t v) {
  int64_t l = 0;
  while ((int64_t(1) << l) < v)
    ++l;
  return l;
}

/// The shapes of one split kernel.
struct SplitSpec {
  AttnShape s;
  int64_t splits, threads;
  SplitMode mode;
  bool hasLens, hasParent;
  int64_t Cparent;
  bool bf16Centroids = false; // approx: value centroids stored in bf16
};

/// One row (token or cluster) of an iteration of the token loop, as seen by
/// a lane: whether it counts, its K (f32, exact) and V (f32) slices, and in
/// approx mode its index and log(count).
struct Row {
  Value ok, j, k, v, logCount;
};

/// The builder of the CUDA-core split kernel: the kernel arguments, the ids
/// and the per-head query state, shared by the phases below.
class SplitKernel {
public:
  SplitKernel(KernelBuilder &b, const SplitSpec &spec)
      : b(b), sp(spec), s(spec.s), G(s.G()), lanes(s.lanes()), V(s.vec()),
        NG(spec.threads / s.lanes()) {
    joint = !approx() && G > 1 && G <= lanes && (G & (G - 1)) == 0;
  }

  gpu::GPUFuncOp build(gpu::GPUModuleOp module, StringRef name);

private:
  bool approx() const { return sp.mode == SplitMode::Approx; }
  bool sparse() const { return sp.mode == SplitMode::Sparse; }

  SmallVector<Type> argTypes();
  void bindArgs(gpu::GPUFuncOp fn);
  Value tokenCount();
  void loadQueries();
  void jointSetup();
  SmallVector<Value> tokenStep(KernelBuilder &kb, Value it, ValueRange acc);
  SmallVector<Row> loadRows(KernelBuilder &kb, Value base);
  Row loadApproxRow(KernelBuilder &kb, Value j, Value valid);
  SmallVector<SmallVector<Value>> jointDots(KernelBuilder &kb,
                                            ArrayRef<Row> rows);
  Value rowDot(KernelBuilder &kb, int64_t g, const Row &row);
  SmallVector<Value>
  softmaxUpdate(KernelBuilder &kb, ArrayRef<Row> rows,
                llvm::function_ref<Value(int64_t)> logit, Value m, Value l,
                Value a);
  void storeGroupPartials(ValueRange res);

  KernelBuilder &b;
  const SplitSpec &sp;
  const AttnShape &s;
  int64_t G, lanes, V, NG;
  bool joint;

  // Arguments (those of the mode; the others stay null).
  Value q, k, v, lens, tok, ntok, logits, cnt, st, sel, pa, ps;
  Value pacc, pm, pl, scale, sm, sl, sacc;
  // Ids, the CTA's slice, constants.
  Value split, h, bb, tid, grp, sub, d0;
  SplitRange range;
  // The first row of this group: it takes rows loG, loG + NG, ...
  Value loG;
  Value zf, ninf, zv, one;
  // Per query head: its index and (exact) scaled query slice.
  SmallVector<Value> qh, qs;
  // Joint reduction: the lane bit of each butterfly step, the source lane
  // of each head's sum.
  SmallVector<Value> tb, jsrc;
};

SmallVector<Type> SplitKernel::argTypes() {
  MLIRContext *ctx = b.getContext();
  Type f32 = b.f32(), i32 = b.getI32Type(), i8 = b.getI8Type();
  Type e = KernelBuilder::elementType(ctx, s.elt);
  int64_t B = s.B, Hq = s.Hq, H = s.H, N = s.N, D = s.D, S = sp.splits;
  SmallVector<Type> t;
  if (approx()) {
    t = {KernelBuilder::memref({B, Hq, N}, f32),
         KernelBuilder::memref({B, H, N, D},
                               sp.bf16Centroids ? Type(b.getBF16Type()) : f32),
         KernelBuilder::memref({B, H, N}, i32),
         KernelBuilder::memref({B, H, 4}, i32),
         KernelBuilder::memref({B, H, N}, i8)};
    if (sp.hasParent)
      t.append({KernelBuilder::memref({B, H, N}, i32),
                KernelBuilder::memref({B, H, sp.Cparent}, i8)});
  } else {
    // k and v in their layout (row-major, or strided: a [B, N, H, D] cache
    // read in place; the loads index (b, h, j, d) either way).
    t = {KernelBuilder::memref({B, Hq, D}, e),
         KernelBuilder::memref({B, H, N, D}, e, s.kvStrides),
         KernelBuilder::memref({B, H, N, D}, e, s.kvStrides)};
  }
  if (sp.hasLens && sp.mode == SplitMode::Dense)
    t.push_back(KernelBuilder::memref({B}, i32));
  if (sparse())
    t.append({KernelBuilder::memref({B, H, N}, i32),
              KernelBuilder::memref({B, H}, i32)});
  t.append({KernelBuilder::memref({B, Hq, S, D}, f32),
            KernelBuilder::memref({B, Hq, S}, f32),
            KernelBuilder::memref({B, Hq, S}, f32), f32});
  return t;
}

void SplitKernel::bindArgs(gpu::GPUFuncOp fn) {
  unsigned i = 0;
  auto next = [&] { return fn.getArgument(i++); };
  if (approx()) {
    logits = next();
    v = next();
    cnt = next();
    st = next();
    sel = next();
    if (sp.hasParent) {
      pa = next();
      ps = next();
    }
  } else {
    q = next();
    k = next();
    v = next();
  }
  if (sp.hasLens && sp.mode == SplitMode::Dense)
    lens = next();
  if (sparse()) {
    tok = next();
    ntok = next();
  }
  pacc = next();
  pm = next();
  pl = next();
  scale = next();
  sm = fn.getWorkgroupAttributions()[0];
  sl = fn.getWorkgroupAttributions()[1];
  sacc = fn.getWorkgroupAttributions()[2];
}

/// The length of the (b, h) sequence (i32): the cluster count (approx), the
/// token list's count (sparse), lens[b] or N.
Value SplitKernel::tokenCount() {
  if (approx())
    return b.load(st, {bb, h, b.index(0)});
  if (sparse())
    return b.load(ntok, {bb, h});
  if (sp.hasLens)
    return b.load(lens, {bb});
  return b.i32(s.N);
}

/// Query rows of the G heads (exact: loaded and scaled once).
void SplitKernel::loadQueries() {
  Value cG = b.index(G);
  for (int64_t g = 0; g < G; ++g) {
    Value hG = b.mul(h, cG);
    qh.push_back(b.add(hG, b.index(g)));
    if (approx())
      continue;
    Value qr = b.vloadAligned(V, q, {bb, qh[g], d0});
    Value qf = extToF32(b, qr);
    Value sc = b.broadcast(V, scale);
    qs.push_back(b.mul(qf, sc));
  }
}

/// The joint reduction of the G dots of a row (G a power of two <= lanes):
/// butterfly step i exchanges half of the heads a lane still holds across
/// lane bit lanes >> (i + 1) (`tb[i]`: which half it keeps); the lane with
/// sub-lane bits spelling g ends with head g's sum (`jsrc[g]`).
void SplitKernel::jointSetup() {
  int64_t logG = log2Exact(G);
  Value lane = b.rem(tid, b.index(32));
  Value gbase = b.sub(lane, sub);
  for (int64_t i = 0; i < logG; ++i) {
    Value bit = arith::AndIOp::create(b, sub, b.index(lanes >> (i + 1)));
    tb.push_back(b.cmp(CmpIPredicate::ne, bit, b.index(0)));
  }
  for (int64_t g = 0; g < G; ++g) {
    int64_t subg = 0;
    for (int64_t i = 0; i < logG; ++i)
      if ((g >> (logG - 1 - i)) & 1)
        subg += lanes >> (i + 1);
    Value src = b.add(gbase, b.index(subg));
    jsrc.push_back(arith::IndexCastOp::create(b, b.getI32Type(), src));
  }
}

/// An approx row: cluster j counts when it is non-empty, not selected (its
/// tokens are in the exact part), in the slice and, at a fine level, its
/// parent is not selected either.
Row SplitKernel::loadApproxRow(KernelBuilder &kb, Value j, Value valid) {
  auto [ok, n] = approxCounts(kb, cnt, sel, pa, ps, bb, h, j, valid);
  // bf16 value centroids: V values per lane, half the bytes, extended. The
  // alignment is that of the lane's slice (approx-lane-floats may be 1 or 2).
  Value vf = sp.bf16Centroids
                 ? kb.extF(VectorType::get({V}, kb.f32()),
                           kb.vloadAligned(V, v, {bb, h, j, d0},
                                           std::min<int64_t>(16, 2 * V)))
                 : kb.vloadAligned(V, v, {bb, h, j, d0},
                                   std::min<int64_t>(16, 4 * V));
  return {ok, j, Value(), vf, logCountOf(kb, n)};
}

/// The kUnroll rows of an iteration: group grp takes rows base + u * NG; a
/// row past the slice reads row lo and does not count. All loads are issued
/// before any use (more bytes in flight per warp).
SmallVector<Row> SplitKernel::loadRows(KernelBuilder &kb, Value base) {
  SmallVector<Row> rows;
  SmallVector<Value> kr, vr;
  for (int64_t u = 0; u < kUnroll; ++u) {
    Value p0 = kb.add(base, kb.index(u * NG));
    Value valid = kb.cmp(CmpIPredicate::ult, p0, range.hi);
    Value p = kb.select(valid, p0, range.lo);
    Value j = p;
    if (sparse()) {
      Value ji = kb.load(tok, {bb, h, p});
      j = arith::IndexCastOp::create(kb, kb.getIndexType(), ji);
    }
    if (approx()) {
      rows.push_back(loadApproxRow(kb, j, valid));
      continue;
    }
    rows.push_back({valid, j, Value(), Value(), Value()});
    kr.push_back(kb.vloadAligned(V, k, {bb, h, j, d0}));
    vr.push_back(kb.vloadAligned(V, v, {bb, h, j, d0}));
  }
  if (!approx())
    for (int64_t u = 0; u < kUnroll; ++u) {
      rows[u].k = extToF32(kb, kr[u]);
      rows[u].v = extToF32(kb, vr[u]);
    }
  return rows;
}

/// q_g . k of a row on its `lanes` lanes: per-lane dot, warp sum.
Value SplitKernel::rowDot(KernelBuilder &kb, int64_t g, const Row &row) {
  Value part = kb.reduceAdd(kb.mul(qs[g], row.k));
  return kb.warpSum(part, lanes);
}

/// The G logits of each row, reduced jointly (see jointSetup): G - 1
/// exchanges (hand-written: each step sends one of two values and keeps the
/// other, which no subgroup_reduce expresses), the remaining plain butterfly
/// steps (a clustered subgroup_reduce over lanes / G lanes), then G index
/// shuffles broadcast the sums: 9 shuffles per row for G = 4, 16 lanes,
/// instead of 16. Returns logits[g][u].
SmallVector<SmallVector<Value>> SplitKernel::jointDots(KernelBuilder &kb,
                                                       ArrayRef<Row> rows) {
  int64_t logG = log2Exact(G);
  SmallVector<SmallVector<Value>> x(G, SmallVector<Value>(kUnroll));
  for (int64_t u = 0; u < kUnroll; ++u) {
    SmallVector<Value> vals;
    for (int64_t g = 0; g < G; ++g)
      vals.push_back(kb.reduceAdd(kb.mul(qs[g], rows[u].k)));
    for (int64_t i = 0; i < logG; ++i) {
      int64_t off = lanes >> (i + 1), half = int64_t(vals.size()) / 2;
      SmallVector<Value> next;
      for (int64_t m = 0; m < half; ++m) {
        Value send = kb.select(tb[i], vals[m], vals[half + m]);
        Value keep = kb.select(tb[i], vals[half + m], vals[m]);
        Value recv = kb.shuffleXor(send, off);
        next.push_back(kb.add(keep, recv));
      }
      vals = next;
    }
    Value cur = kb.warpSum(vals[0], lanes >> logG);
    for (int64_t g = 0; g < G; ++g)
      x[g][u] = kb.shuffleIdx(cur, jsrc[g]);
  }
  return x;
}

/// The online-softmax update of one head with the kUnroll rows of an
/// iteration (`logit(u)`: row u's logit, before masking; built in turn with
/// the running maximum): rescale (m, l, acc) once to the new maximum, then
/// add each counted row with weight e^(x - m). A head that has seen no row
/// keeps m = -inf and factor 1.
SmallVector<Value> SplitKernel::softmaxUpdate(
    KernelBuilder &kb, ArrayRef<Row> rows,
    llvm::function_ref<Value(int64_t)> logit, Value m, Value l, Value a) {
  SmallVector<Value> x;
  Value mn = m;
  for (int64_t u = 0; u < kUnroll; ++u) {
    Value xu = logit(u);
    x.push_back(kb.select(rows[u].ok, xu, ninf));
    mn = kb.maximum(mn, x[u]);
  }
  Value none = kb.cmp(CmpFPredicate::OEQ, mn, ninf);
  Value fe = kb.exp(kb.sub(m, mn));
  Value f = kb.select(none, one, fe);
  Value ln = kb.mul(l, f);
  Value fv = kb.broadcast(V, f);
  Value an = kb.mul(a, fv);
  for (int64_t u = 0; u < kUnroll; ++u) {
    Value ee = kb.exp(kb.sub(x[u], mn));
    Value e = kb.select(rows[u].ok, ee, zf);
    ln = kb.add(ln, e);
    Value ev = kb.broadcast(V, e);
    an = vector::FMAOp::create(kb, ev, rows[u].v, an);
  }
  return {mn, ln, an};
}

/// One iteration of the token loop: kUnroll rows per group.
SmallVector<Value> SplitKernel::tokenStep(KernelBuilder &kb, Value it,
                                          ValueRange acc) {
  Value itu = kb.mul(it, kb.index(NG * kUnroll));
  Value base = kb.add(loG, itu);
  SmallVector<Row> rows = loadRows(kb, base);
  SmallVector<SmallVector<Value>> x;
  if (joint)
    x = jointDots(kb, rows);
  SmallVector<Value> next;
  for (int64_t g = 0; g < G; ++g) {
    auto logit = [&](int64_t u) -> Value {
      if (joint)
        return x[g][u];
      if (!approx())
        return rowDot(kb, g, rows[u]);
      // The centroid's logit, weighted by its token count.
      Value lg = kb.load(logits, {bb, qh[g], rows[u].j});
      return kb.add(lg, rows[u].logCount);
    };
    SmallVector<Value> upd = softmaxUpdate(kb, rows, logit, acc[3 * g],
                                           acc[3 * g + 1], acc[3 * g + 2]);
    next.append(upd);
  }
  return next;
}

/// The lane 0 of every group writes its (m, l) per head, every lane its acc
/// slice, into the CTA partials.
void SplitKernel::storeGroupPartials(ValueRange res) {
  Value isLead = b.cmp(CmpIPredicate::eq, sub, b.index(0));
  Value gG = b.mul(grp, b.index(G));
  for (int64_t g = 0; g < G; ++g) {
    Value slot = b.add(gG, b.index(g));
    b.ifThen(isLead, [&](KernelBuilder &kb) {
      kb.store(res[3 * g], sm, {slot});
      kb.store(res[3 * g + 1], sl, {slot});
    });
    Value si = b.add(b.mul(slot, b.index(s.D)), d0);
    b.vstore(res[3 * g + 2], sacc, {si});
  }
}

gpu::GPUFuncOp SplitKernel::build(gpu::GPUModuleOp module, StringRef name) {
  Type f32 = b.f32();
  int64_t ngg = NG * G;
  SmallVector<Type> wg = {KernelBuilder::workgroup({ngg}, f32),
                          KernelBuilder::workgroup({ngg}, f32),
                          KernelBuilder::workgroup({ngg * s.D}, f32)};
  auto fn = createKernel(b, module, name, argTypes(), wg,
                         {int32_t(sp.threads), 1, 1});
  bindArgs(fn);
  zf = b.f32(0.0);
  ninf = b.negInf();
  zv = b.zeros(V);
  one = b.f32(1.0);
  split = b.blockId(gpu::Dimension::x);
  h = b.blockId(gpu::Dimension::y);
  bb = b.blockId(gpu::Dimension::z);
  tid = b.threadId(gpu::Dimension::x);
  Value cLanes = b.index(lanes);
  grp = b.div(tid, cLanes);
  sub = b.rem(tid, cLanes);
  d0 = b.mul(sub, b.index(V));
  Value count = tokenCount();
  range = splitRange(b, count, split, s.N, sp.splits);
  // Every lane runs the same number of iterations (the row reductions are
  // warp shuffles over all lanes).
  Value trip = arith::CeilDivUIOp::create(b, range.len, b.index(NG * kUnroll));
  loG = b.add(range.lo, grp);
  loadQueries();
  if (joint)
    jointSetup();
  SmallVector<Value> init;
  for (int64_t g = 0; g < G; ++g)
    init.append({ninf, zf, zv});
  SmallVector<Value> res = b.forLoop(
      b.index(0), trip, b.index(1), init,
      [&](KernelBuilder &kb, Value it, ValueRange acc) {
        return tokenStep(kb, it, acc);
      });
  storeGroupPartials(res);
  b.barrier();
  storeSplitPartials(b, CtaPartials{sm, sl, sacc, NG}, pacc, pm, pl, tid, bb,
                     h, split, G, s.D, sp.threads);
  b.ret();
  return fn;
}

} // namespace

gpu::GPUFuncOp mlir::multipole::gpugen::buildAttentionSplitKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const AttnShape &s, const AttnLaunch &l, bool sparse, bool hasLens) {
  KernelBuilder b(loc, ob);
  SplitSpec spec{s,       l.splits, l.threads,
                 sparse ? SplitMode::Sparse : SplitMode::Dense,
                 hasLens, false,    0};
  return SplitKernel(b, spec).build(module, name);
}

gpu::GPUFuncOp mlir::multipole::gpugen::buildApproxSplitKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const AttnShape &s, int64_t C, int64_t csplits, int64_t threads,
    bool hasParent, int64_t Cparent, int64_t laneFloats, bool bf16Centroids) {
  KernelBuilder b(loc, ob);
  // Rows are f32 value centroids; "tokens" are clusters. laneFloats of a
  // row per lane: more loads in flight than one 16-byte load each, and few
  // enough registers for 4+ CTAs per SM (bench/NOTES.md, run 14).
  AttnShape a = s;
  a.elt = "f32";
  a.N = C;
  a.perLane = laneFloats;
  SplitSpec spec{a,         csplits, threads,      SplitMode::Approx,
                 true,      hasParent, Cparent,    bf16Centroids};
  return SplitKernel(b, spec).build(module, name);
}
