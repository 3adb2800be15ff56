//===- LayoutKernels.cpp - row-major copies of strided KV caches ----------===//
//
// Every GPU kernel reads a cache read in place through strides (a
// [B, N, H, D] cache, multipole-transpose-views) directly (docs/Design.md
// "KV layouts"). The one exception is the host fallback of cluster_build /
// cluster_update (a head dim the k-means kernels do not take,
// ClusterLowering.cpp): gpu.memcpy copies contiguous buffers only, so the
// cache is first copied into a row-major device buffer by this kernel: a
// thread per 16-byte vector of a row, consecutive threads along the row.
// Also the element-type conversion of centroid arrays (f32 <-> bf16) for an
// index that stores its centroids in bf16.
//
//===----------------------------------------------------------------------===//

#include "KernelBuilder.h"
#include "KernelGen.h"

using namespace mlir;
using namespace mlir::multipole::gpugen;

int64_t mlir::multipole::gpugen::kvCopyTokensPerCta(const AttnShape &s) {
  return std::max<int64_t>(1, kKVCopyThreads / s.lanes());
}

gpu::GPUFuncOp mlir::multipole::gpugen::buildKVCopyKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    const AttnShape &s) {
  KernelBuilder b(loc, ob);
  Type e = KernelBuilder::elementType(ob.getContext(), s.elt);
  SmallVector<Type> args = {
      KernelBuilder::memref({s.B, s.H, s.N, s.D}, e, s.kvStrides),
      KernelBuilder::memref({s.B, s.H, s.N, s.D}, e)};
  auto fn = createKernel(b, module, name, args, {},
                         {int32_t(kKVCopyThreads), 1, 1});
  Value src = fn.getArgument(0), dst = fn.getArgument(1);
  int64_t lanes = s.lanes(), V = s.vec();
  Value tid = b.threadId(gpu::Dimension::x);
  Value j = b.add(b.mul(b.blockId(gpu::Dimension::x),
                        b.index(kvCopyTokensPerCta(s))),
                  b.div(tid, b.index(lanes)));
  Value d0 = b.mul(b.rem(tid, b.index(lanes)), b.index(V));
  Value h = b.blockId(gpu::Dimension::y);
  Value bb = b.blockId(gpu::Dimension::z);
  Value inside = b.andI(b.cmp(arith::CmpIPredicate::ult, j, b.index(s.N)),
                        b.cmp(arith::CmpIPredicate::ult, tid,
                              b.index(lanes * kvCopyTokensPerCta(s))));
  b.ifThen(inside, [&](KernelBuilder &kb) {
    Value x = kb.vloadAligned(V, src, {bb, h, j, d0});
    kb.vstoreAligned(x, dst, {bb, h, j, d0});
  });
  b.ret();
  return fn;
}

int64_t mlir::multipole::gpugen::centroidConvertCtas(int64_t C, int64_t D) {
  return std::max<int64_t>(1, (C * (D / 8) + kKVCopyThreads - 1) /
                                  kKVCopyThreads);
}

namespace {
/// The first cluster of the last block of state quad `q` (nc, lc, bst, bcs):
/// bcs, or 0 while nothing is clustered (lc = 0).
Value lastBlockStart(KernelBuilder &b, ArrayRef<Value> q) {
  Value empty = b.cmp(arith::CmpIPredicate::eq, q[1], b.index(0));
  return b.select(empty, b.index(0), q[3]);
}
} // namespace

SmallVector<Value> mlir::multipole::gpugen::loadStateQuad(KernelBuilder &b,
                                                          Value st, Value bb,
                                                          Value h) {
  SmallVector<Value> q;
  for (int64_t i = 0; i < 4; ++i) {
    Value vi = b.load(st, {bb, h, b.index(i)});
    q.push_back(b.toIndex(vi));
  }
  return q;
}

gpu::GPUFuncOp mlir::multipole::gpugen::buildCentroidConvertKernel(
    OpBuilder &ob, Location loc, gpu::GPUModuleOp module, StringRef name,
    ArrayRef<int64_t> shape, Type from, Type to, const ConvertRows &rows) {
  KernelBuilder b(loc, ob);
  int64_t B = shape[0], H = shape[1], C = shape[2], D = shape[3];
  MemRefType stT = KernelBuilder::memref({B, H, 4}, b.getI32Type());
  SmallVector<Type> args = {KernelBuilder::memref(shape, from),
                            KernelBuilder::memref(shape, to)};
  if (rows.kind != ConvertRows::All)
    args.push_back(stT);
  if (rows.kind == ConvertRows::Touched)
    args.push_back(stT);
  auto fn = createKernel(b, module, name, args, {},
                         {int32_t(kKVCopyThreads), 1, 1});
  Value src = fn.getArgument(0), dst = fn.getArgument(1);
  constexpr int64_t V = 8;
  Value t = b.add(b.mul(b.blockId(gpu::Dimension::x), b.index(kKVCopyThreads)),
                  b.threadId(gpu::Dimension::x));
  Value c0 = b.div(t, b.index(D / V));
  Value d0 = b.mul(b.rem(t, b.index(D / V)), b.index(V));
  Value h = b.blockId(gpu::Dimension::y);
  Value bb = b.blockId(gpu::Dimension::z);
  // Rows [lo, hi) of (bb, h), strided by the grid's rows.
  Value lo = b.index(0), hi = b.index(C), go = b.boolean(true);
  if (rows.kind == ConvertRows::OpenBlock) {
    SmallVector<Value> q = loadStateQuad(b, fn.getArgument(2), bb, h);
    lo = lastBlockStart(b, q);
    hi = b.minU(b.add(q[0], b.index(rows.extra)), b.index(C));
  } else if (rows.kind == ConvertRows::Touched) {
    SmallVector<Value> q = loadStateQuad(b, fn.getArgument(2), bb, h);
    SmallVector<Value> q0 = loadStateQuad(b, fn.getArgument(3), bb, h);
    lo = lastBlockStart(b, q0);
    hi = b.minU(q[0], b.index(C));
    go = b.boolean(false);
    for (int64_t i = 0; i < 4; ++i)
      go = b.orI(go, b.cmp(arith::CmpIPredicate::ne, q[i], q0[i]));
  }
  int64_t gridRows =
      centroidConvertCtas(rows.kind == ConvertRows::All ? C : rows.gridRows,
                          D) *
      kKVCopyThreads / (D / V);
  Value inGrid = b.cmp(arith::CmpIPredicate::ult, c0, b.index(gridRows));
  auto bytes = [](Type e) { return int64_t(e.getIntOrFloatBitWidth() / 8); };
  b.ifThen(b.andI(go, inGrid), [&](KernelBuilder &kb) {
    kb.forEach(kb.add(lo, c0), hi, kb.index(gridRows),
               [&](KernelBuilder &lb, Value c) {
                 Value x = lb.vloadAligned(
                     V, src, {bb, h, c, d0},
                     std::min<int64_t>(16, V * bytes(from)));
                 VectorType vt = VectorType::get({V}, to);
                 Value y = bytes(to) > bytes(from)
                               ? Value(arith::ExtFOp::create(lb, vt, x))
                               : Value(arith::TruncFOp::create(lb, vt, x));
                 lb.vstoreAligned(y, dst, {bb, h, c, d0},
                                  std::min<int64_t>(16, V * bytes(to)));
               });
  });
  b.ret();
  return fn;
}
