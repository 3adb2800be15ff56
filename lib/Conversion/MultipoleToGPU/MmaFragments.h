//===- MmaFragments.h - bf16 mma.sync fragments for the kernels -*- C++ -*-===//
//
// What the tensor-core kernels share: bf16 pairs held in i32 registers (the
// operand format of mma.sync), loads of such pairs, ldmatrix, and the
// m16n8k16 bf16 -> f32 mma.sync itself. The fragment layout is PTX's: a lane
// is group g = lane / 4 (an A and C row; a B column) and pair t = lane % 4
// (A and B columns 2t, 2t + 1; +8 for the second register of each half).
//
//===----------------------------------------------------------------------===//
#ifndef MULTIPOLE_LIB_CONVERSION_MULTIPOLETOGPU_MMAFRAGMENTS_H
#define MULTIPOLE_LIB_CONVERSION_MULTIPOLETOGPU_MMAFRAGMENTS_H

#include "KernelBuilder.h"

#include <array>

namespace mlir {
namespace multipole {
namespace gpugen {

/// The two bf16 of `pair` (vector<2xbf16>) as one i32 register.
Value pairAsI32(KernelBuilder &b, Value pair);

/// Two consecutive bf16 of `mem` at `idx` as one i32 register.
Value loadPair(KernelBuilder &b, Value mem, ValueRange idx);

/// The eight bf16 of a 16-byte chunk (vector<8xbf16>) as four i32
/// registers: its pairs (0, 1), (2, 3), (4, 5), (6, 7).
std::array<Value, 4> chunkPairs(KernelBuilder &b, Value chunk);

/// x, y (f32) rounded to bf16 and packed into one i32 register.
Value packBf16(KernelBuilder &b, Value x, Value y);

/// ldmatrix x4 (optionally transposed) of the 8x8 bf16 tiles whose rows the
/// lanes address at `idx`: the four i32 fragments of this lane.
std::array<Value, 4> ldmatrixX4(KernelBuilder &b, Value smem, ValueRange idx,
                                bool transpose);

/// mma.sync m16n8k16, bf16 A (row-major, 4 registers) times bf16 B
/// (column-major, 2 registers) plus f32 C (4 registers): the f32 result
/// struct D (!llvm.struct of 4 f32; extract element i for register i).
Value mmaBf16(KernelBuilder &b, ValueRange a, ValueRange bf, ValueRange c);

} // namespace gpugen
} // namespace multipole
} // namespace mlir

#endif
