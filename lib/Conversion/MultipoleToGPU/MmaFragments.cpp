//===- MmaFragments.cpp - bf16 mma.sync fragments for the kernels ---------===//

#include "MmaFragments.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::multipole::gpugen;

Value mlir::multipole::gpugen::pairAsI32(KernelBuilder &b, Value pair) {
  auto t = VectorType::get({1}, b.getI32Type());
  Value w = vector::BitCastOp::create(b, t, pair);
  return b.extract(w, 0);
}

Value mlir::multipole::gpugen::loadPair(KernelBuilder &b, Value mem,
                                        ValueRange idx) {
  Value v = b.vload(2, mem, idx);
  return pairAsI32(b, v);
}

std::array<Value, 4> mlir::multipole::gpugen::chunkPairs(KernelBuilder &b,
                                                         Value chunk) {
  Value w = vector::BitCastOp::create(b, VectorType::get({4}, b.getI32Type()),
                                      chunk);
  return {b.extract(w, 0), b.extract(w, 1), b.extract(w, 2), b.extract(w, 3)};
}

Value mlir::multipole::gpugen::packBf16(KernelBuilder &b, Value x, Value y) {
  Value v = vector::FromElementsOp::create(
      b, VectorType::get({2}, b.f32()), ValueRange{x, y});
  Value h = arith::TruncFOp::create(
      b, VectorType::get({2}, b.getBF16Type()), v);
  return pairAsI32(b, h);
}

std::array<Value, 4> mlir::multipole::gpugen::ldmatrixX4(KernelBuilder &b,
                                                         Value smem,
                                                         ValueRange idx,
                                                         bool transpose) {
  auto t = VectorType::get({4, 2}, b.getBF16Type());
  Value m = nvgpu::LdMatrixOp::create(b, t, smem, idx, transpose,
                                      /*numTiles=*/4);
  std::array<Value, 4> frag;
  for (int64_t i = 0; i < 4; ++i) {
    Value pair = b.extract(m, i);
    frag[i] = pairAsI32(b, pair);
  }
  return frag;
}

Value mlir::multipole::gpugen::mmaBf16(KernelBuilder &b, ValueRange a,
                                       ValueRange bf, ValueRange c) {
  Type f32 = b.f32();
  auto res = LLVM::LLVMStructType::getLiteral(b.getContext(),
                                              {f32, f32, f32, f32});
  return NVVM::MmaOp::create(
      b, res, a, bf, c, ArrayRef<int64_t>{16, 8, 16}, std::nullopt,
      std::nullopt,
      std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16,
                                    NVVM::MMATypes::bf16},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
}
