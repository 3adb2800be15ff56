//===- MmaAttentionKernels.cpp - tensor-core split-KV attention (GPU) -----===//
//
// The bf16 exact-attention kernel on tensor cores (dense decode and the exact
// part of the multipole step). A CTA of 4 warps owns one split of one
// (sequence, KV head) and all its G query heads:
//  - K/V tiles of 64 tokens stream into shared memory with cp.async (16-byte
//    copies, 3 stages in flight); rows past the split's end are zero-filled.
//    The tiles are written and read at their logical columns, and upstream's
//    nvgpu::optimizeSharedMemoryReadsAndWrites swizzles every access (the
//    16-byte chunk index XOR the low row bits) so that the ldmatrix reads are
//    bank-conflict free (it replaced a hand-written XOR swizzle: same speed,
//    bench/results/2026-12-01-h200-run27-ab-nvgpu-swizzle.txt);
//  - each warp takes 16 tokens of a tile: S = Q K^T with mma.sync m16n8k16
//    (the G heads are rows of the 16-row A operand, loaded once), an online
//    softmax on the S fragments (4 lanes per head row), then O += P V with
//    P packed to bf16 (the usual FlashAttention rounding) and V fragments from
//    ldmatrix.trans;
//  - the 4 warps' (m, l, O) are merged through shared memory into the same
//    per-split partials as the CUDA-core kernel, so the combine kernels are
//    shared.
// Instruction count per byte drops ~10x against the CUDA-core kernel, which
// was issue-bound (bench/NOTES.md, runs 2-9).
//
// The same kernel also serves the centroid approximation (bf16 value
// centroids, GPU option mma-approx): the tiles hold value-centroid rows only,
// and S is not Q K^T but the centroid logits from centroid_score plus the log
// of the cluster's token count, -inf for clusters that do not count (empty,
// selected, past nc, parent not selected); the softmax and P V are the same.
//
//===----------------------------------------------------------------------===//

#include "AttentionKernels.h"
#include "MmaFragments.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/NVGPU/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <algorithm>
#include <optional>

using namespace mlir;
using namespace mlir::multipole::gpugen;

using arith::CmpFPredicate;
using arith::CmpIPredicate;

namespace {

constexpr int64_t kTile = 64, kStages = 3, kWarps = 4;

//===----------------------------------------------------------------------===//
// Fragments (the helpers are in MmaFragments.h)
//===----------------------------------------------------------------------===//

/// The live half of an m16n8k16 accumulator: rows 8-15 of A (heads >= 8)
/// are zero, so only c0 and c1 of each lane's four f32 matter.
struct Acc2 {
  Value c0, c1;
};

/// mma.sync m16n8k16 bf16 -> f32 with A = (a0, 0, a2, 0), B = (b0, b1) and
/// C = (c.c0, c.c1, 0, 0); returns the live half of D.
Acc2 mma16816(KernelBuilder &b, Value a0, Value a2, Value b0, Value b1,
              Acc2 c) {
  Value zi = b.i32(0), zf = b.f32(0.0);
  Value d = mmaBf16(b, ValueRange{a0, zi, a2, zi}, ValueRange{b0, b1},
                    ValueRange{c.c0, c.c1, zf, zf});
  Value d0 = LLVM::ExtractValueOp::create(b, d, ArrayRef<int64_t>{0});
  Value d1 = LLVM::ExtractValueOp::create(b, d, ArrayRef<int64_t>{1});
  return {d0, d1};
}

//===----------------------------------------------------------------------===//
// The kernel
//===----------------------------------------------------------------------===//

/// The approximation mode of the kernel (mmaApprox): whether the fine
/// level's clusters count only under a selected parent (capacity Cparent).
struct ApproxMode {
  bool hasParent = false;
  int64_t Cparent = 0;
};

class MmaKernel {
public:
  MmaKernel(KernelBuilder &b, const AttnShape &s, int64_t splits, bool sparse,
            bool hasLens, std::optional<ApproxMode> approx = std::nullopt)
      : b(b), s(s), splits(splits), sparse(sparse), hasLens(hasLens),
        approx(approx), G(s.G()), D(s.D), D8(s.D / 8), NB(s.D / 8) {
    rowsPerCopy = kMmaThreads / D8;
    copies = kTile * D8 / kMmaThreads;
    nkv = approx ? 1 : 2;
    vSlot = approx ? 0 : 1;
  }

  gpu::GPUFuncOp build(gpu::GPUModuleOp module, StringRef name);

private:
  gpu::GPUFuncOp signature(gpu::GPUModuleOp module, StringRef name);
  void laneIds();
  void sharedViews();
  void loadQuery();
  SmallVector<Value> loadTileIds(KernelBuilder &kb, Value tile);
  void issueTile(KernelBuilder &kb, Value tile, Value stage, ValueRange ids);
  void prologue();
  SmallVector<Value> tileStep(KernelBuilder &kb, Value it, ValueRange acc);
  SmallVector<Value> scores(KernelBuilder &kb, Value st, Value tbase);
  SmallVector<Value> approxScores(KernelBuilder &kb, Value tbase);
  SmallVector<Value> softmaxPV(KernelBuilder &kb, Value st, ArrayRef<Value> x,
                               ValueRange acc);
  void storeWarpPartials(ValueRange res);

  KernelBuilder &b;
  const AttnShape &s;
  int64_t splits;
  bool sparse, hasLens;
  std::optional<ApproxMode> approx;
  int64_t G, D, D8, NB, rowsPerCopy, copies;
  // Row arrays in the tiles (K and V; V only in the approximation) and V's.
  int64_t nkv, vSlot;

  Value q, k, v, lens, tok, ntok, pacc, pm, pl, scale;
  // The approximation's inputs: logits, counts, state, selection, parents.
  Value logits, cnt, st, sel, pa, ps, qrow;
  Value split, h, bb, tid, lane, warp, g, t, t2, l8, lm, lm2, lmd;
  Value kvs, sm, sl, sacc;
  SplitRange range;
  Value ntiles, gval;
  // Q fragments: qa[kb] = (dims kb * 16 + 2t, +1; +8, +9) of head row g.
  SmallVector<std::array<Value, 2>> qa;
  // This thread's copy slot: row crow of every rowsPerCopy, chunk cchk.
  Value crow, gcol, scol;
  Value zf, ninf, one;
};

gpu::GPUFuncOp MmaKernel::signature(gpu::GPUModuleOp module, StringRef name) {
  Type f32 = b.f32(), i32 = b.getI32Type(), e = b.getBF16Type();
  int64_t B = s.B, Hq = s.Hq, H = s.H, N = s.N;
  // k and v in the cache's layout (a [B, N, H, D] cache read in place: the
  // cp.async of a 16-byte chunk indexes (b, h, j, d), rows stay contiguous).
  SmallVector<Type> args = {KernelBuilder::memref({B, Hq, D}, e),
                            KernelBuilder::memref({B, H, N, D}, e, s.kvStrides),
                            KernelBuilder::memref({B, H, N, D}, e, s.kvStrides)};
  if (approx) {
    // The CUDA-core approximation kernel's arguments (N = C clusters).
    Type i8 = b.getI8Type();
    args = {KernelBuilder::memref({B, Hq, N}, f32),
            KernelBuilder::memref({B, H, N, D}, e),
            KernelBuilder::memref({B, H, N}, i32),
            KernelBuilder::memref({B, H, 4}, i32),
            KernelBuilder::memref({B, H, N}, i8)};
    if (approx->hasParent)
      args.append({KernelBuilder::memref({B, H, N}, i32),
                   KernelBuilder::memref({B, H, approx->Cparent}, i8)});
  }
  if (hasLens && !sparse && !approx)
    args.push_back(KernelBuilder::memref({B}, i32));
  if (sparse)
    args.append({KernelBuilder::memref({B, H, N}, i32),
                 KernelBuilder::memref({B, H}, i32)});
  args.append({KernelBuilder::memref({B, Hq, splits, D}, f32),
               KernelBuilder::memref({B, Hq, splits}, f32),
               KernelBuilder::memref({B, Hq, splits}, f32), f32});
  auto fn = createKernel(b, module, name, args, {},
                         {int32_t(kMmaThreads), 1, 1});
  unsigned i = 0;
  if (approx) {
    logits = fn.getArgument(i++);
    v = fn.getArgument(i++);
    cnt = fn.getArgument(i++);
    st = fn.getArgument(i++);
    sel = fn.getArgument(i++);
    if (approx->hasParent) {
      pa = fn.getArgument(i++);
      ps = fn.getArgument(i++);
    }
  } else {
    q = fn.getArgument(i++);
    k = fn.getArgument(i++);
    v = fn.getArgument(i++);
  }
  if (hasLens && !sparse && !approx)
    lens = fn.getArgument(i++);
  if (sparse) {
    tok = fn.getArgument(i++);
    ntok = fn.getArgument(i++);
  }
  pacc = fn.getArgument(i++);
  pm = fn.getArgument(i++);
  pl = fn.getArgument(i++);
  scale = fn.getArgument(i++);
  return fn;
}

/// The mma fragment coordinates of a lane: group g = lane / 4 (an A / C
/// row), t = lane % 4 (a column pair); ldmatrix row address lane % 8 of
/// matrix lane / 8.
void MmaKernel::laneIds() {
  Value c2 = b.index(2), c4 = b.index(4), c8 = b.index(8), c32 = b.index(32);
  lane = b.rem(tid, c32);
  warp = b.div(tid, c32);
  g = b.div(lane, c4);
  t = b.rem(lane, c4);
  t2 = b.mul(t, c2);
  l8 = b.rem(lane, c8);
  lm = b.div(lane, c8);
  lm2 = b.rem(lm, c2);
  lmd = b.div(lm, c2);
}

/// One dynamic shared buffer: the K/V stages, then the warps' partials (no
/// static shared memory in this kernel). The approximation puts the
/// partials over the stages, dead by then (no copy is in flight after the
/// last tile, and a barrier separates them): 48 KB at D 128, 4 CTAs per SM.
void MmaKernel::sharedViews() {
  Type f32 = b.f32();
  MLIRContext *ctx = b.getContext();
  auto bytes = KernelBuilder::workgroup({ShapedType::kDynamic},
                                        IntegerType::get(ctx, 8));
  Value dsm = gpu::DynamicSharedMemoryOp::create(b, bytes);
  auto view = [&](int64_t offset, MemRefType type) -> Value {
    Value off = b.index(offset);
    return memref::ViewOp::create(b, type, dsm, off, ValueRange{});
  };
  int64_t stageBytes = kStages * nkv * kTile * D * 2, ngg = kWarps * G;
  kvs = view(0, KernelBuilder::workgroup({kStages, nkv, kTile, D},
                                         b.getBF16Type()));
  int64_t pbase = approx ? 0 : stageBytes;
  sm = view(pbase, KernelBuilder::workgroup({ngg}, f32));
  sl = view(pbase + ngg * 4, KernelBuilder::workgroup({ngg}, f32));
  sacc = view(pbase + 2 * ngg * 4 + 16,
              KernelBuilder::workgroup({ngg * D}, f32));
}

/// Q as the A operand: head g of the group in row g (g < G), zero rows else
/// (the approximation: only which rows are heads, and their query heads).
void MmaKernel::loadQuery() {
  Value cG = b.index(G), zi = b.i32(0);
  gval = b.cmp(CmpIPredicate::ult, g, cG);
  Value gq = b.select(gval, g, b.index(0));
  Value hG = b.mul(h, cG);
  qrow = b.add(hG, gq);
  if (approx)
    return;
  for (int64_t kb = 0; kb < D / 16; ++kb) {
    std::array<Value, 2> frag;
    for (int half = 0; half < 2; ++half) {
      Value qd = b.add(b.index(kb * 16 + half * 8), t2);
      Value x = loadPair(b, q, {bb, qrow, qd});
      frag[half] = b.select(gval, x, zi);
    }
    qa.push_back(frag);
  }
}

/// Sparse mode: the token ids of the rows this thread copies in `tile`
/// (i32), loaded one iteration before the copies are issued so that
/// cp.async never waits on them.
SmallVector<Value> MmaKernel::loadTileIds(KernelBuilder &kb, Value tile) {
  Value cNm1 = kb.index(s.N - 1);
  Value tlo = kb.add(range.lo, kb.mul(tile, kb.index(kTile)));
  SmallVector<Value> ids;
  for (int64_t i = 0; i < copies; ++i) {
    Value r = kb.add(kb.index(i * rowsPerCopy), crow);
    Value p = kb.add(tlo, r);
    Value in = kb.cmp(CmpIPredicate::ult, p, range.hi);
    Value pc = kb.select(in, p, range.lo);
    Value pm1 = arith::MinUIOp::create(kb, pc, cNm1);
    ids.push_back(kb.load(tok, {bb, h, pm1}));
  }
  return ids;
}

/// The cp.async copies of tile `tile` into stage `stage`: copy i of this
/// thread moves 16 bytes of K and of V of row i * rowsPerCopy + crow; rows
/// past the slice copy 0 bytes (zero fill) from row lo. In sparse mode the
/// rows' token ids are `ids` (or loaded here when empty).
void MmaKernel::issueTile(KernelBuilder &kb, Value tile, Value stage,
                          ValueRange ids) {
  Value tlo = kb.add(range.lo, kb.mul(tile, kb.index(kTile)));
  for (int64_t i = 0; i < copies; ++i) {
    Value r = kb.add(kb.index(i * rowsPerCopy), crow);
    Value p = kb.add(tlo, r);
    Value in = kb.cmp(CmpIPredicate::ult, p, range.hi);
    Value pc = kb.select(in, p, range.lo);
    Value eight = kb.index(8), zero = kb.index(0);
    Value n = kb.select(in, eight, zero);
    Value j = pc;
    if (sparse && !ids.empty()) {
      j = arith::IndexCastOp::create(kb, kb.getIndexType(), ids[i]);
    } else if (sparse) {
      Value ji = kb.load(tok, {bb, h, pc});
      j = arith::IndexCastOp::create(kb, kb.getIndexType(), ji);
    }
    for (int64_t kv = approx ? 1 : 0; kv < 2; ++kv) {
      Value kvIdx = kb.index(kv ? vSlot : 0);
      nvgpu::DeviceAsyncCopyOp::create(
          kb, kb.getLoc(), kvs, ValueRange{stage, kvIdx, r, scol},
          kv ? v : k, ValueRange{bb, h, j, gcol}, kb.getIndexAttr(8), n,
          kb.getUnitAttr());
    }
  }
}

Value createGroup(KernelBuilder &b) {
  auto token = nvgpu::DeviceAsyncTokenType::get(b.getContext());
  return nvgpu::DeviceAsyncCreateGroupOp::create(b, b.getLoc(), token,
                                                 ValueRange{});
}

/// The first kStages - 1 tiles, one commit group each.
void MmaKernel::prologue() {
  for (int64_t st = 0; st < kStages - 1; ++st) {
    Value tile = b.index(st);
    Value in = b.cmp(CmpIPredicate::ult, tile, ntiles);
    b.ifThen(in, [&](KernelBuilder &kb) { issueTile(kb, tile, tile, {}); });
    createGroup(b);
  }
}

/// S = Q K^T (scaled, masked) of the warp's 16 tokens of stage `st`: per
/// n-block of 8 tokens, the lane's columns 2t and 2t + 1 (head row g).
SmallVector<Value> MmaKernel::scores(KernelBuilder &kb, Value st,
                                     Value tbase) {
  Value w16 = kb.mul(warp, kb.index(16));
  SmallVector<Value> x;
  for (int64_t nb = 0; nb < 2; ++nb) {
    Value kr = kb.add(kb.add(w16, kb.index(nb * 8)), l8);
    Value zfv = zf;
    Acc2 c{zfv, zfv};
    for (int64_t kp = 0; kp < D / 32; ++kp) {
      Value chunk = kb.add(kb.index(4 * kp), lm);
      Value kc = kb.mul(chunk, kb.index(8));
      Value c0 = kb.index(0);
      std::array<Value, 4> kf = ldmatrixX4(kb, kvs, {st, c0, kr, kc}, false);
      Acc2 sx = mma16816(kb, qa[2 * kp][0], qa[2 * kp][1], kf[0], kf[1], c);
      c = mma16816(kb, qa[2 * kp + 1][0], qa[2 * kp + 1][1], kf[2], kf[3], sx);
    }
    for (int64_t e = 0; e < 2; ++e) {
      Value col = kb.add(kb.add(tbase, kb.index(nb * 8 + e)), t2);
      Value in = kb.cmp(CmpIPredicate::ult, col, range.hi);
      Value sc = kb.mul(e ? c.c1 : c.c0, scale);
      x.push_back(kb.select(in, sc, ninf));
    }
  }
  return x;
}

/// The approximation's S for the warp's 16 clusters at `tbase`, in the
/// layout scores() gives (n-blocks of 8, the lane's columns 2t, 2t + 1):
/// logit + log(count) of head row g where the cluster counts, else -inf.
SmallVector<Value> MmaKernel::approxScores(KernelBuilder &kb, Value tbase) {
  SmallVector<Value> x;
  for (int64_t nb = 0; nb < 2; ++nb)
    for (int64_t e = 0; e < 2; ++e) {
      Value col = kb.add(kb.add(tbase, kb.index(nb * 8 + e)), t2);
      Value in = kb.cmp(CmpIPredicate::ult, col, range.hi);
      Value j = kb.select(in, col, range.lo);
      auto [ok, n] =
          approxCounts(kb, cnt, sel, pa, ps, bb, h, j, kb.andI(in, gval));
      Value lg = kb.load(logits, {bb, qrow, j});
      Value xl = kb.add(lg, logCountOf(kb, n));
      x.push_back(kb.select(ok, xl, ninf));
    }
  return x;
}

/// The online softmax of head row g over the 4 lanes that hold it, then
/// O = O * alpha + P V (V fragments by ldmatrix.trans). `acc` = (m, l, O
/// pairs); returns the next (m, l, O pairs).
SmallVector<Value> MmaKernel::softmaxPV(KernelBuilder &kb, Value st,
                                        ArrayRef<Value> x, ValueRange acc) {
  Value m = acc[0], l = acc[1];
  Value mx0 = kb.maximum(x[0], x[1]);
  Value mx1 = kb.maximum(x[2], x[3]);
  Value mx = kb.warpMaximum(kb.maximum(mx0, mx1), 4);
  Value mn = kb.maximum(m, mx);
  Value none = kb.cmp(CmpFPredicate::OEQ, mn, ninf);
  Value al0 = kb.exp(kb.sub(m, mn));
  Value al = kb.select(none, one, al0);
  SmallVector<Value> e;
  for (Value xi : x) {
    Value ea = kb.exp(kb.sub(xi, mn));
    e.push_back(kb.select(none, zf, ea));
  }
  Value ls0 = kb.add(e[0], e[1]);
  Value ls1 = kb.add(e[2], e[3]);
  Value ls = kb.add(ls0, ls1);
  Value ln = kb.add(kb.mul(l, al), ls);
  Value pa0 = packBf16(kb, e[0], e[1]);
  Value pa1 = packBf16(kb, e[2], e[3]);
  Value w16 = kb.mul(warp, kb.index(16));
  Value vrow = kb.add(kb.add(w16, kb.mul(lm2, kb.index(8))), l8);
  SmallVector<Value> next = {mn, ln};
  for (int64_t np = 0; np < D / 16; ++np) {
    Value chunk = kb.add(kb.index(2 * np), lmd);
    Value vc = kb.mul(chunk, kb.index(8));
    Value vs = kb.index(vSlot);
    std::array<Value, 4> vf = ldmatrixX4(kb, kvs, {st, vs, vrow, vc}, true);
    for (int64_t j = 0; j < 2; ++j) {
      int64_t n = 2 * np + j;
      Value oa = kb.mul(acc[2 + 2 * n], al);
      Value ob = kb.mul(acc[3 + 2 * n], al);
      Acc2 o = mma16816(kb, pa0, pa1, vf[2 * j], vf[2 * j + 1], {oa, ob});
      next.append({o.c0, o.c1});
    }
  }
  return next;
}

/// One tile: issue the copies of tile it + kStages - 1, wait for tile it,
/// then S, softmax and P V on it.
SmallVector<Value> MmaKernel::tileStep(KernelBuilder &kb, Value it,
                                       ValueRange acc) {
  Value cNS = kb.index(kStages);
  kb.barrier();
  Value nx = kb.add(it, kb.index(kStages - 1));
  Value nxs = kb.rem(nx, cNS);
  Value nxin = kb.cmp(CmpIPredicate::ult, nx, ntiles);
  ValueRange ids = acc.drop_front(2 + 2 * NB);
  kb.ifThen(nxin, [&](KernelBuilder &k2) { issueTile(k2, nx, nxs, ids); });
  SmallVector<Value> nextIds;
  if (sparse)
    nextIds = loadTileIds(kb, kb.add(nx, kb.index(1)));
  Value grp = createGroup(kb);
  nvgpu::DeviceAsyncWaitOp::create(kb, kb.getLoc(), grp,
                                   kb.getI32IntegerAttr(kStages - 1));
  kb.barrier();
  Value st = kb.rem(it, cNS);
  Value w16 = kb.mul(warp, kb.index(16));
  Value tbase0 = kb.mul(it, kb.index(kTile));
  Value tbase = kb.add(kb.add(range.lo, tbase0), w16);
  SmallVector<Value> x =
      approx ? approxScores(kb, tbase) : scores(kb, st, tbase);
  SmallVector<Value> next = softmaxPV(kb, st, x, acc);
  next.append(nextIds);
  return next;
}

/// Row sums over the 4 lanes of a head row; each warp's (m, l, O) of head
/// row g < G to shared memory (slot warp * G + g).
void MmaKernel::storeWarpPartials(ValueRange res) {
  Value l = res[1];
  Value lrow = b.warpSum(l, 4);
  b.ifThen(gval, [&](KernelBuilder &kb) {
    Value slot = kb.add(kb.mul(warp, kb.index(G)), g);
    Value sbase = kb.mul(slot, kb.index(D));
    Value t0 = kb.cmp(CmpIPredicate::eq, t, kb.index(0));
    kb.ifThen(t0, [&](KernelBuilder &k2) {
      k2.store(res[0], sm, {slot});
      k2.store(lrow, sl, {slot});
    });
    for (int64_t n = 0; n < NB; ++n) {
      Value col = kb.add(kb.index(n * 8), t2);
      Value i0 = kb.add(sbase, col);
      Value i1 = kb.add(i0, kb.index(1));
      kb.store(res[2 + 2 * n], sacc, {i0});
      kb.store(res[3 + 2 * n], sacc, {i1});
    }
  });
}

gpu::GPUFuncOp MmaKernel::build(gpu::GPUModuleOp module, StringRef name) {
  auto fn = signature(module, name);
  zf = b.f32(0.0);
  ninf = b.negInf();
  one = b.f32(1.0);
  split = b.blockId(gpu::Dimension::x);
  h = b.blockId(gpu::Dimension::y);
  bb = b.blockId(gpu::Dimension::z);
  tid = b.threadId(gpu::Dimension::x);
  laneIds();
  sharedViews();
  Value count = approx    ? b.load(st, {bb, h, b.index(0)})
                : sparse  ? b.load(ntok, {bb, h})
                : hasLens ? b.load(lens, {bb})
                          : b.i32(s.N);
  range = splitRange(b, count, split, s.N, splits);
  ntiles = arith::CeilDivUIOp::create(b, range.len, b.index(kTile));
  loadQuery();
  // cp.async assignment: copy i of this thread covers row i * rowsPerCopy +
  // tid / D8, chunk tid % D8 (logical columns; the swizzle comes at the end).
  Value cD8 = b.index(D8);
  crow = b.div(tid, cD8);
  Value cchk = b.rem(tid, cD8);
  gcol = b.mul(cchk, b.index(8));
  scol = gcol;
  prologue();
  SmallVector<Value> init = {ninf, zf};
  for (int64_t n = 0; n < NB; ++n)
    init.append({zf, zf});
  if (sparse)
    init.append(loadTileIds(b, b.index(kStages - 1)));
  SmallVector<Value> res = b.forLoop(
      b.index(0), ntiles, b.index(1), init,
      [&](KernelBuilder &kb, Value it, ValueRange acc) {
        return tileStep(kb, it, acc);
      });
  b.barrier();
  storeWarpPartials(res);
  b.barrier();
  storeSplitPartials(b, CtaPartials{sm, sl, sacc, kWarps}, pacc, pm, pl, tid,
                     bb, h, split, G, D, kMmaThreads);
  b.ret();
  // Every access of the K/V tiles is a cp.async write or an ldmatrix read at
  // (stage, k/v, row, column): the swizzle applies to all of them or fails.
  if (failed(nvgpu::optimizeSharedMemoryReadsAndWrites(fn, kvs))) {
    fn.emitError() << "the shared-memory swizzle (nvgpu) could not rewrite "
                      "the K/V tile accesses of @"
                   << name;
    return {};
  }
  return fn;
}

} // namespace

bool mlir::multipole::gpugen::mmaAttentionSupported(const AttnShape &s) {
  return s.elt == "bf16" && (s.D == 64 || s.D == 128) && s.H > 0 &&
         s.Hq % s.H == 0 && s.G() >= 1 && s.G() <= 8;
}

int64_t mlir::multipole::gpugen::mmaAttentionSmemBytes(const AttnShape &s,
                                                      bool approx) {
  int64_t stages = kStages * (approx ? 1 : 2) * kTile * s.D * 2;
  int64_t partials = 2 * kWarps * s.G() * 4 + 16 + kWarps * s.G() * s.D * 4;
  return approx ? std::max(stages, partials) : stages + partials;
}

bool mlir::multipole::gpugen::mmaApproxSupported(const AttnShape &s) {
  return (s.D == 64 || s.D == 128) && s.H > 0 && s.Hq % s.H == 0 &&
         s.G() >= 1 && s.G() <= 8;
}

gpu::GPUFuncOp mlir::multipole::gpugen::buildMmaApproxSplitKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const AttnShape &s, int64_t splits, bool hasParent, int64_t Cparent) {
  KernelBuilder b(loc, ob);
  return MmaKernel(b, s, splits, /*sparse=*/false, /*hasLens=*/false,
                   ApproxMode{hasParent, Cparent})
      .build(module, name);
}

gpu::GPUFuncOp mlir::multipole::gpugen::buildMmaAttentionSplitKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const AttnShape &s, int64_t splits, bool sparse, bool hasLens) {
  KernelBuilder b(loc, ob);
  return MmaKernel(b, s, splits, sparse, hasLens).build(module, name);
}
