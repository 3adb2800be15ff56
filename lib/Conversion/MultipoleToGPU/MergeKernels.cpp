//===- MergeKernels.cpp - combine and merge of attention partials ---------===//
//
// A partial of attention over some tokens is (acc[D], m, l) per query head:
// acc = sum_j e^(s_j - m) v_j and l = sum_j e^(s_j - m), with l = 0 for an
// empty partial. Partials merge by log-sum-exp: m = max over non-empty ones,
// each contributes with the factor e^(m_p - m); an empty one contributes
// nothing (no NaN from e^(-inf + inf)); the output is acc / l, or 0 when every
// partial is empty.
//
// Three kernels, built with KernelBuilder:
//  - combine: the S split partials of one attention kernel ([B,Hq,S,D],
//    [B,Hq,S]) into an output (normalised) or into one partial;
//  - merge: P plain partials ([B,Hq,D], [B,Hq]) into the output;
//  - merge of splits: P inputs, each a plain partial or S_p split partials,
//    into the output in one kernel (no combine kernels in between).
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "KernelGen.h"

using namespace mlir;
using namespace mlir::multipole::gpugen;

using arith::CmpFPredicate;
using arith::CmpIPredicate;

namespace {

/// The weight of a partial (m, l) in a merge whose maximum is `M`: e^(m - M)
/// when it is non-empty (`has`), else 0.
Value partialFactor(KernelBuilder &b, Value m, Value M, Value has, Value zero) {
  return b.select(has, b.exp(b.sub(m, M)), zero);
}

/// Stores o = A / L (0 when L = 0) into out[idx], in out's element type.
void storeNormalised(KernelBuilder &b, Value A, Value L, Value zero, Value out,
                     ValueRange idx) {
  Value pos = b.cmp(CmpFPredicate::OGT, L, zero);
  Value o = b.select(pos, b.div(A, L), zero);
  b.store(b.truncTo(cast<MemRefType>(out.getType()).getElementType(), o), out,
          idx);
}

} // namespace

gpu::GPUFuncOp mlir::multipole::gpugen::buildCombineKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const AttnShape &s, int64_t splits, bool normalise) {
  KernelBuilder b(loc, ob);
  MLIRContext *ctx = ob.getContext();
  Type f32 = b.f32();
  SmallVector<Type> args = {KernelBuilder::memref({s.B, s.Hq, splits, s.D}, f32),
                            KernelBuilder::memref({s.B, s.Hq, splits}, f32),
                            KernelBuilder::memref({s.B, s.Hq, splits}, f32)};
  if (normalise) {
    args.push_back(KernelBuilder::memref({s.B, s.Hq, s.D}, KernelBuilder::elementType(ctx, s.elt)));
  } else {
    args.append({KernelBuilder::memref({s.B, s.Hq, s.D}, f32),
                 KernelBuilder::memref({s.B, s.Hq}, f32),
                 KernelBuilder::memref({s.B, s.Hq}, f32)});
  }
  auto fn = createKernel(b, module, name, args, {}, {int32_t(s.D), 1, 1});
  Value pacc = fn.getArgument(0), pm = fn.getArgument(1), pl = fn.getArgument(2);
  Value c0 = b.index(0), c1 = b.index(1), cS = b.index(splits);
  Value zero = b.f32(0.0), ninf = b.negInf();
  Value i = b.blockId(gpu::Dimension::x);
  Value bb = b.blockId(gpu::Dimension::y);
  Value d = b.threadId(gpu::Dimension::x);
  // The maximum over non-empty splits, then the weighted sums.
  Value M = b.forLoop(c0, cS, c1, {ninf},
                      [&](KernelBuilder &kb, Value sp, ValueRange it) {
                        Value m = kb.load(pm, {bb, i, sp});
                        Value l = kb.load(pl, {bb, i, sp});
                        Value has = kb.cmp(CmpFPredicate::OGT, l, zero);
                        Value mx = kb.maximum(it[0], m);
                        return SmallVector<Value>{kb.select(has, mx, it[0])};
                      })[0];
  SmallVector<Value> LA = b.forLoop(
      c0, cS, c1, {zero, zero}, [&](KernelBuilder &kb, Value sp, ValueRange it) {
        Value m = kb.load(pm, {bb, i, sp});
        Value l = kb.load(pl, {bb, i, sp});
        Value a = kb.load(pacc, {bb, i, sp, d});
        Value has = kb.cmp(CmpFPredicate::OGT, l, zero);
        Value f = partialFactor(kb, m, M, has, zero);
        Value ls = kb.add(it[0], kb.mul(l, f));
        Value as = kb.add(it[1], kb.select(has, kb.mul(a, f), zero));
        return SmallVector<Value>{ls, as};
      });
  if (normalise) {
    storeNormalised(b, LA[1], LA[0], zero, fn.getArgument(3), {bb, i, d});
  } else {
    b.store(LA[1], fn.getArgument(3), {bb, i, d});
    b.ifThen(b.cmp(CmpIPredicate::eq, d, c0), [&](KernelBuilder &kb) {
      kb.store(M, fn.getArgument(4), {bb, i});
      kb.store(LA[0], fn.getArgument(5), {bb, i});
    });
  }
  b.ret();
  return fn;
}

gpu::GPUFuncOp mlir::multipole::gpugen::buildMergeKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const AttnShape &s, int64_t P) {
  KernelBuilder b(loc, ob);
  Type f32 = b.f32();
  SmallVector<Type> args;
  for (int64_t p = 0; p < P; ++p)
    args.append({KernelBuilder::memref({s.B, s.Hq, s.D}, f32),
                 KernelBuilder::memref({s.B, s.Hq}, f32),
                 KernelBuilder::memref({s.B, s.Hq}, f32)});
  args.push_back(KernelBuilder::memref({s.B, s.Hq, s.D},
                                       KernelBuilder::elementType(ob.getContext(), s.elt)));
  auto fn = createKernel(b, module, name, args, {}, {int32_t(s.D), 1, 1});
  Value zero = b.f32(0.0), ninf = b.negInf();
  Value i = b.blockId(gpu::Dimension::x);
  Value bb = b.blockId(gpu::Dimension::y);
  Value d = b.threadId(gpu::Dimension::x);
  SmallVector<Value> m(P), l(P), has(P);
  Value M = ninf;
  for (int64_t p = 0; p < P; ++p) {
    m[p] = b.load(fn.getArgument(3 * p + 1), {bb, i});
    l[p] = b.load(fn.getArgument(3 * p + 2), {bb, i});
    has[p] = b.cmp(CmpFPredicate::OGT, l[p], zero);
    M = b.select(has[p], b.maximum(M, m[p]), M);
  }
  Value L = zero, A = zero;
  for (int64_t p = 0; p < P; ++p) {
    Value f = partialFactor(b, m[p], M, has[p], zero);
    Value a = b.load(fn.getArgument(3 * p), {bb, i, d});
    L = b.add(L, b.mul(l[p], f));
    A = b.add(A, b.select(has[p], b.mul(a, f), zero));
  }
  storeNormalised(b, A, L, zero, fn.getArgument(3 * P), {bb, i, d});
  b.ret();
  return fn;
}

gpu::GPUFuncOp mlir::multipole::gpugen::buildMergeSplitsKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const AttnShape &s, ArrayRef<int64_t> splits) {
  constexpr int64_t kThreads = 256, kWarps = kThreads / 32;
  KernelBuilder b(loc, ob);
  Type f32 = b.f32();
  int64_t stot = 0;
  for (int64_t S : splits)
    stot += std::max<int64_t>(S, 1);
  const int64_t vpl = s.D / 32; // elements of a row per lane
  SmallVector<Type> args;
  for (int64_t S : splits) {
    if (S)
      args.append({KernelBuilder::memref({s.B, s.Hq, S, s.D}, f32),
                   KernelBuilder::memref({s.B, s.Hq, S}, f32),
                   KernelBuilder::memref({s.B, s.Hq, S}, f32)});
    else
      args.append({KernelBuilder::memref({s.B, s.Hq, s.D}, f32),
                   KernelBuilder::memref({s.B, s.Hq}, f32),
                   KernelBuilder::memref({s.B, s.Hq}, f32)});
  }
  args.push_back(KernelBuilder::memref({s.B, s.Hq, s.D},
                                       KernelBuilder::elementType(ob.getContext(), s.elt)));
  // Workgroup buffers are declared 4-byte aligned but LLVM vectorises their
  // accesses: keep every buffer a multiple of 16 bytes, largest first.
  SmallVector<Type> wg = {KernelBuilder::workgroup({2 * kWarps}, f32),
                          KernelBuilder::workgroup({kWarps, s.D}, f32),
                          KernelBuilder::workgroup({(stot + 3) / 4 * 4}, f32)};
  auto fn = createKernel(b, module, name, args, wg, {int32_t(kThreads), 1, 1});
  Value red = fn.getWorkgroupAttributions()[0];
  Value wacc = fn.getWorkgroupAttributions()[1];
  Value fs = fn.getWorkgroupAttributions()[2];
  Value out = fn.getArgument(3 * splits.size());

  Value c0 = b.index(0), c1 = b.index(1), c8 = b.index(kWarps);
  Value c32 = b.index(32), cT = b.index(kThreads), cD = b.index(s.D);
  Value cV = b.index(vpl);
  Value zero = b.f32(0.0), ninf = b.negInf(), zv = b.zeros(vpl);
  Value i = b.blockId(gpu::Dimension::x);
  Value bb = b.blockId(gpu::Dimension::y);
  Value tid = b.threadId(gpu::Dimension::x);
  Value lane = b.rem(tid, c32), warp = b.div(tid, c32);
  Value lane0 = b.cmp(CmpIPredicate::eq, lane, c0);

  // (m, l) of split `sp` of input p (a plain partial has one "split").
  auto loadML = [&](KernelBuilder &kb, size_t p, Value sp) {
    Value mm = fn.getArgument(3 * p + 1), ll = fn.getArgument(3 * p + 2);
    SmallVector<Value, 3> idx = {bb, i};
    if (splits[p])
      idx.push_back(sp);
    Value m = kb.load(mm, idx); // (m before l: one op order for every kernel)
    Value l = kb.load(ll, idx);
    return std::make_pair(m, l);
  };
  // The block-wide combination of one value per thread: a warp reduction,
  // then lane 0 of each warp writes red[slot + warp] and, after a barrier,
  // every thread folds the kWarps values.
  auto blockReduce = [&](Value v, int64_t slot, bool isMax) {
    Value w = isMax ? b.warpMaximum(v) : b.warpSum(v);
    b.ifThen(lane0, [&](KernelBuilder &kb) {
      kb.store(w, red, {slot ? kb.add(warp, c8) : warp});
    });
    b.barrier();
    return b.forLoop(c0, c8, c1, {isMax ? ninf : zero},
                     [&](KernelBuilder &kb, Value wi, ValueRange it) {
                       Value x = kb.load(red, {slot ? kb.add(wi, c8) : wi});
                       return SmallVector<Value>{isMax ? kb.maximum(it[0], x)
                                                       : kb.add(it[0], x)};
                     })[0];
  };

  // Phase 1: the maximum over every non-empty split.
  SmallVector<Value> cS;
  Value cur = ninf;
  for (size_t p = 0; p < splits.size(); ++p) {
    cS.push_back(b.index(std::max<int64_t>(splits[p], 1)));
    cur = b.forLoop(tid, cS[p], cT, {cur},
                    [&](KernelBuilder &kb, Value sp, ValueRange it) {
                      auto [m, l] = loadML(kb, p, sp);
                      Value has = kb.cmp(CmpFPredicate::OGT, l, zero);
                      return SmallVector<Value>{
                          kb.select(has, kb.maximum(it[0], m), it[0])};
                    })[0];
  }
  Value M = blockReduce(cur, 0, /*isMax=*/true);

  // Phase 2: per-split factors (kept in shared memory) and the total l.
  SmallVector<Value> fo;
  cur = zero;
  int64_t off = 0;
  for (size_t p = 0; p < splits.size(); ++p) {
    fo.push_back(b.index(off));
    cur = b.forLoop(tid, cS[p], cT, {cur},
                    [&](KernelBuilder &kb, Value sp, ValueRange it) {
                      auto [m, l] = loadML(kb, p, sp);
                      Value has = kb.cmp(CmpFPredicate::OGT, l, zero);
                      Value f = partialFactor(kb, m, M, has, zero);
                      kb.store(f, fs, {kb.add(fo[p], sp)});
                      return SmallVector<Value>{kb.add(it[0], kb.mul(l, f))};
                    })[0];
    off += std::max<int64_t>(splits[p], 1);
  }
  Value L = blockReduce(cur, kWarps, /*isMax=*/false);

  // Phase 3: warp w sums splits w, w + kWarps, ... (lanes over dimensions).
  Value d0 = b.mul(lane, cV);
  cur = zv;
  for (size_t p = 0; p < splits.size(); ++p) {
    Value acc = fn.getArgument(3 * p);
    cur = b.forLoop(warp, cS[p], c8, {cur},
                    [&](KernelBuilder &kb, Value sp, ValueRange it) {
                      Value f = kb.load(fs, {kb.add(fo[p], sp)});
                      Value av = splits[p] ? kb.vload(vpl, acc, {bb, i, sp, d0})
                                           : kb.vload(vpl, acc, {bb, i, d0});
                      Value pr = kb.mul(av, kb.broadcast(vpl, f));
                      Value on = kb.cmp(CmpFPredicate::OGT, f, zero);
                      return SmallVector<Value>{
                          kb.add(it[0], kb.select(on, pr, zv))};
                    })[0];
  }
  // Scalar stores: workgroup buffers are only 4-byte aligned.
  for (int64_t e = 0; e < vpl; ++e) {
    Value x = b.extract(cur, e);
    b.store(x, wacc, {warp, b.add(d0, b.index(e))});
  }
  b.barrier();
  b.ifThen(b.cmp(CmpIPredicate::ult, tid, cD), [&](KernelBuilder &kb) {
    Value A = kb.forLoop(c0, c8, c1, {zero},
                         [&](KernelBuilder &k2, Value wi, ValueRange it) {
                           return SmallVector<Value>{
                               k2.add(it[0], k2.load(wacc, {wi, tid}))};
                         })[0];
    storeNormalised(kb, A, L, zero, out, {bb, i, tid});
  });
  b.ret();
  return fn;
}
