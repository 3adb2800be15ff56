//===- KernelBuilder.h - Value-returning helpers for GPU kernels -*- C++ -*-===//
//
// The GPU kernels are built op by op with an ImplicitLocOpBuilder: every
// helper inserts at the builder's insertion point and returns the Values it
// defines, so helpers compose (a reduction's result feeds a select, a loop's
// results feed a store) without SSA names, text or parsing. Shapes are static:
// every dimension is a C++ integer, so index arithmetic folds to constants and
// loops that need a fixed instruction order are unrolled in C++.
//
// Kernels live in `gpu.module @multipole_kernels`; `createKernel` starts one.
//
//===----------------------------------------------------------------------===//
#ifndef MULTIPOLE_LIB_CONVERSION_MULTIPOLETOGPU_KERNELBUILDER_H
#define MULTIPOLE_LIB_CONVERSION_MULTIPOLETOGPU_KERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/STLFunctionalExtras.h"

#include <array>

namespace mlir {
namespace multipole {
namespace gpugen {

class KernelBuilder;

/// Body of an scf.for: gets the induction variable and the iteration
/// arguments, returns the values to yield (as many as there are iteration
/// arguments).
using LoopBody =
    llvm::function_ref<SmallVector<Value>(KernelBuilder &, Value, ValueRange)>;

/// An ImplicitLocOpBuilder with the vocabulary of the kernels: constants,
/// index and f32 arithmetic, memory, loops and warp collectives.
class KernelBuilder : public ImplicitLocOpBuilder {
public:
  using ImplicitLocOpBuilder::ImplicitLocOpBuilder;

  // -- types ----------------------------------------------------------------
  FloatType f32() { return getF32Type(); }
  /// memref<shape x elt> (default layout, global memory).
  static MemRefType memref(ArrayRef<int64_t> shape, Type elt);
  /// memref<shape x elt, strided<strides>> (offset 0); the default layout
  /// when `strides` is empty.
  static MemRefType memref(ArrayRef<int64_t> shape, Type elt,
                           ArrayRef<int64_t> strides);
  /// memref<shape x elt, #gpu.address_space<workgroup>>.
  static MemRefType workgroup(ArrayRef<int64_t> shape, Type elt);

  /// bf16, f16 or (anything else) f32, by name.
  static Type elementType(MLIRContext *ctx, StringRef name);

  // -- constants --------------------------------------------------------------
  Value index(int64_t v);
  Value intConst(Type t, int64_t v);
  Value i8(int64_t v);
  Value i32(int64_t v);
  Value i64(int64_t v);
  Value boolean(bool v);
  Value f32(double v);
  Value f64(double v);
  /// +inf (f32): the neutral element of a min.
  Value posInf();
  /// -inf (f32): the neutral element of a max.
  Value negInf();
  /// A vector of `n` f32 zeros.
  Value zeros(int64_t n);
  /// A vector of `n` f32 equal to `v`.
  Value splat(int64_t n, float v);

  // -- ids ---------------------------------------------------------------------
  Value blockId(gpu::Dimension d);
  Value threadId(gpu::Dimension d);

  // -- arithmetic (index or integer operands: arith.*i; float: arith.*f) ------
  Value add(Value a, Value b);
  Value sub(Value a, Value b);
  Value mul(Value a, Value b);
  /// Unsigned division and remainder of indices/integers; f32 division.
  Value div(Value a, Value b);
  Value rem(Value a, Value b);
  Value maximum(Value a, Value b); // arith.maximumf
  Value exp(Value a);              // math.exp
  Value select(Value cond, Value a, Value b);
  Value cmp(arith::CmpFPredicate p, Value a, Value b);
  Value cmp(arith::CmpIPredicate p, Value a, Value b);
  /// f32 -> `to` (truncf); the value itself when `to` is f32.
  Value truncTo(Type to, Value v);
  Value extF(Type to, Value v);
  Value siToFp(Type to, Value v);
  Value fpToSi(Type to, Value v);
  Value extSI64(Value v);
  Value bitcast(Type to, Value v);
  /// index_cast to `t`; to index; to an integer of `width` bits; to i32.
  Value indexCast(Type t, Value v);
  Value toIndex(Value v);
  Value toInt(Value v, unsigned width);
  Value toI32(Value v);

  // -- integer ops ----------------------------------------------------------------
  Value andI(Value a, Value b);
  Value orI(Value a, Value b);
  /// Logical not of an i1.
  Value notI(Value a);
  Value shl(Value a, Value b);
  Value shrU(Value a, Value b);
  Value minU(Value a, Value b);
  Value maxU(Value a, Value b);
  Value maxS(Value a, Value b);
  Value ceilDivU(Value a, Value b);
  Value cttz(Value a); // math.cttz
  Value ctpop(Value a); // math.ctpop

  // -- vectors ---------------------------------------------------------------------
  /// vector.fma a * x + c.
  Value fma(Value a, Value x, Value c);
  /// The sum of the elements of `v` (vector.reduction add).
  Value reduceAdd(Value v);
  Value broadcast(int64_t n, Value scalar);
  Value extract(Value vec, int64_t pos);

  // -- memory -------------------------------------------------------------------
  Value load(Value mem, ValueRange indices);
  void store(Value v, Value mem, ValueRange indices);
  /// vector.load of `n` elements.
  Value vload(int64_t n, Value mem, ValueRange indices);
  void vstore(Value v, Value mem, ValueRange indices);
  /// vector.load of `n` elements with an alignment in bytes (16 for the
  /// 16-byte loads of rows).
  Value vloadAligned(int64_t n, Value mem, ValueRange indices,
                     int64_t align = 16);
  /// vector.store with an alignment in bytes.
  void vstoreAligned(Value v, Value mem, ValueRange indices,
                     int64_t align = 16);
  /// memref.atomic_rmw addi of `v` into mem[indices] (result unused).
  void atomicAdd(Value v, Value mem, ValueRange indices);

  // -- control --------------------------------------------------------------------
  /// scf.for %iv = lb to ub step step iter_args(init); returns its results.
  SmallVector<Value> forLoop(Value lb, Value ub, Value step, ValueRange init,
                             LoopBody body);
  /// scf.for without iteration arguments.
  void forEach(Value lb, Value ub, Value step,
               llvm::function_ref<void(KernelBuilder &, Value)> body);
  /// scf.if cond { then() } (no results).
  void ifThen(Value cond, llvm::function_ref<void(KernelBuilder &)> then);
  using Branch = llvm::function_ref<SmallVector<Value>(KernelBuilder &)>;
  /// scf.if cond { then() } else { otherwise() }; the result types are those
  /// the branches yield.
  SmallVector<Value> ifElse(Value cond, Branch then, Branch otherwise);
  /// scf.while: `cond(args)` decides, with the arguments forwarded to the
  /// body unchanged; `body(args)` returns the next arguments. Returns the
  /// final ones.
  SmallVector<Value>
  whileLoop(ValueRange init,
            llvm::function_ref<Value(KernelBuilder &, ValueRange)> cond,
            llvm::function_ref<SmallVector<Value>(KernelBuilder &, ValueRange)>
                body);
  void barrier();
  void ret();

  // -- warp collectives ---------------------------------------------------------------
  /// gpu.shuffle xor over the full warp; returns the shuffled value.
  Value shuffleXor(Value v, int64_t offset, int64_t width = 32);
  /// gpu.shuffle of `mode` over the full warp with an i32 `offset` value
  /// (the source lane for idx, the distance for up/down/xor).
  Value shuffle(gpu::ShuffleMode mode, Value v, Value offset);
  Value shuffleIdx(Value v, Value srcLane) {
    return shuffle(gpu::ShuffleMode::IDX, v, srcLane);
  }
  /// The lanes of `mask` whose i1 `pred` holds (nvvm.vote.sync ballot, i32).
  Value ballot(Value mask, Value pred);
  /// Upstream `gpu.subgroup_reduce` of `v` with `op` over groups of `lanes`
  /// consecutive lanes (a power of two up to 32; `cluster_size` when below
  /// 32): every lane of a group gets the result. `uniform`: the whole warp
  /// executes it, as the shuffles it lowers to require
  /// (multipole-lower-subgroup-reduce: a butterfly, offsets 1, 2, ...).
  Value subgroupReduce(Value v, gpu::AllReduceOperation op, int64_t lanes);
  Value warpSum(Value v, int64_t lanes = 32) {
    return subgroupReduce(v, gpu::AllReduceOperation::ADD, lanes);
  }
  /// arith.maximumf semantics (NaN wins).
  Value warpMaximum(Value v, int64_t lanes = 32) {
    return subgroupReduce(v, gpu::AllReduceOperation::MAXIMUMF, lanes);
  }
};

/// Starts `@name` (a `gpu.func ... kernel`) at the end of `module`: argument
/// types `args`, workgroup buffers `workgroup` and `known_block_size`
/// `block`. Returns the kernel; `b` is set to the start of its body, whose
/// workgroup buffers are `kernel.getWorkgroupAttributions()`.
gpu::GPUFuncOp createKernel(KernelBuilder &b, gpu::GPUModuleOp module,
                            StringRef name, TypeRange args,
                            TypeRange workgroup,
                            std::array<int32_t, 3> block);

} // namespace gpugen
} // namespace multipole
} // namespace mlir

#endif
