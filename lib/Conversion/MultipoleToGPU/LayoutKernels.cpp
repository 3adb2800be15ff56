//===- LayoutKernels.cpp - row-major copies of strided KV caches ----------===//
//
// Every GPU kernel reads a cache read in place through strides (a
// [B, N, H, D] cache, multipole-transpose-views) directly (docs/Design.md
// "KV layouts"). The one exception is the host fallback of cluster_build /
// cluster_update (a head dim the k-means kernels do not take,
// ClusterLowering.cpp): gpu.memcpy copies contiguous buffers only, so the
// cache is first copied into a row-major device buffer by this kernel: a
// thread per 16-byte vector of a row, consecutive threads along the row.
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
