//===- KernelBuilder.cpp - Value-returning helpers for GPU kernels --------===//

#include "KernelBuilder.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::multipole::gpugen;

namespace {
bool isFloat(Value v) { return isa<FloatType, VectorType>(v.getType()); }
} // namespace

MemRefType KernelBuilder::memref(ArrayRef<int64_t> shape, Type elt) {
  return MemRefType::get(shape, elt);
}

MemRefType KernelBuilder::memref(ArrayRef<int64_t> shape, Type elt,
                                 ArrayRef<int64_t> strides) {
  if (strides.empty())
    return MemRefType::get(shape, elt);
  return MemRefType::get(
      shape, elt, StridedLayoutAttr::get(elt.getContext(), 0, strides));
}

MemRefType KernelBuilder::workgroup(ArrayRef<int64_t> shape, Type elt) {
  MLIRContext *ctx = elt.getContext();
  return MemRefType::get(
      shape, elt, MemRefLayoutAttrInterface(),
      gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
}

Type KernelBuilder::elementType(MLIRContext *ctx, StringRef name) {
  if (name == "bf16")
    return BFloat16Type::get(ctx);
  if (name == "f16")
    return Float16Type::get(ctx);
  return Float32Type::get(ctx);
}

Value KernelBuilder::intConst(Type t, int64_t v) {
  return arith::ConstantIntOp::create(*this, t, v);
}

Value KernelBuilder::i8(int64_t v) { return intConst(getI8Type(), v); }

Value KernelBuilder::i64(int64_t v) { return intConst(getI64Type(), v); }

Value KernelBuilder::boolean(bool v) { return intConst(getI1Type(), v); }

Value KernelBuilder::f64(double v) {
  return arith::ConstantFloatOp::create(*this, getF64Type(), APFloat(v));
}

Value KernelBuilder::posInf() {
  return arith::ConstantFloatOp::create(
      *this, getF32Type(), APFloat::getInf(APFloat::IEEEsingle(), false));
}

Value KernelBuilder::splat(int64_t n, float v) {
  auto t = VectorType::get({n}, getF32Type());
  return arith::ConstantOp::create(*this, t, DenseElementsAttr::get(t, v));
}

Value KernelBuilder::extF(Type to, Value v) {
  return arith::ExtFOp::create(*this, to, v);
}

Value KernelBuilder::siToFp(Type to, Value v) {
  return arith::SIToFPOp::create(*this, to, v);
}

Value KernelBuilder::fpToSi(Type to, Value v) {
  return arith::FPToSIOp::create(*this, to, v);
}

Value KernelBuilder::extSI64(Value v) {
  return arith::ExtSIOp::create(*this, getI64Type(), v);
}

Value KernelBuilder::bitcast(Type to, Value v) {
  return arith::BitcastOp::create(*this, to, v);
}

Value KernelBuilder::indexCast(Type t, Value v) {
  return arith::IndexCastOp::create(*this, t, v);
}

Value KernelBuilder::toIndex(Value v) { return indexCast(getIndexType(), v); }

Value KernelBuilder::toInt(Value v, unsigned width) {
  return indexCast(getIntegerType(width), v);
}

Value KernelBuilder::toI32(Value v) { return toInt(v, 32); }

Value KernelBuilder::andI(Value a, Value b) {
  return arith::AndIOp::create(*this, a, b);
}

Value KernelBuilder::orI(Value a, Value b) {
  return arith::OrIOp::create(*this, a, b);
}

Value KernelBuilder::notI(Value a) {
  Value t = boolean(true);
  return arith::XOrIOp::create(*this, a, t);
}

Value KernelBuilder::shl(Value a, Value b) {
  return arith::ShLIOp::create(*this, a, b);
}

Value KernelBuilder::shrU(Value a, Value b) {
  return arith::ShRUIOp::create(*this, a, b);
}

Value KernelBuilder::minU(Value a, Value b) {
  return arith::MinUIOp::create(*this, a, b);
}

Value KernelBuilder::maxU(Value a, Value b) {
  return arith::MaxUIOp::create(*this, a, b);
}

Value KernelBuilder::maxS(Value a, Value b) {
  return arith::MaxSIOp::create(*this, a, b);
}

Value KernelBuilder::ceilDivU(Value a, Value b) {
  return arith::CeilDivUIOp::create(*this, a, b);
}

Value KernelBuilder::cttz(Value a) {
  return math::CountTrailingZerosOp::create(*this, a);
}

Value KernelBuilder::ctpop(Value a) { return math::CtPopOp::create(*this, a); }

Value KernelBuilder::fma(Value a, Value x, Value c) {
  return vector::FMAOp::create(*this, a, x, c);
}

Value KernelBuilder::reduceAdd(Value v) {
  return vector::ReductionOp::create(*this, vector::CombiningKind::ADD, v);
}

Value KernelBuilder::index(int64_t v) {
  return arith::ConstantIndexOp::create(*this, v);
}

Value KernelBuilder::i32(int64_t v) {
  return arith::ConstantIntOp::create(*this, v, 32);
}

Value KernelBuilder::f32(double v) {
  return arith::ConstantFloatOp::create(*this, getF32Type(), APFloat(float(v)));
}

Value KernelBuilder::negInf() {
  return arith::ConstantFloatOp::create(
      *this, getF32Type(), APFloat::getInf(APFloat::IEEEsingle(), true));
}

Value KernelBuilder::zeros(int64_t n) {
  auto t = VectorType::get({n}, getF32Type());
  return arith::ConstantOp::create(*this, t, DenseElementsAttr::get(t, 0.0f));
}

Value KernelBuilder::blockId(gpu::Dimension d) {
  return gpu::BlockIdOp::create(*this, d);
}

Value KernelBuilder::threadId(gpu::Dimension d) {
  return gpu::ThreadIdOp::create(*this, d);
}

Value KernelBuilder::add(Value a, Value b) {
  if (isFloat(a))
    return arith::AddFOp::create(*this, a, b);
  return arith::AddIOp::create(*this, a, b);
}

Value KernelBuilder::sub(Value a, Value b) {
  if (isFloat(a))
    return arith::SubFOp::create(*this, a, b);
  return arith::SubIOp::create(*this, a, b);
}

Value KernelBuilder::mul(Value a, Value b) {
  if (isFloat(a))
    return arith::MulFOp::create(*this, a, b);
  return arith::MulIOp::create(*this, a, b);
}

Value KernelBuilder::div(Value a, Value b) {
  if (isFloat(a))
    return arith::DivFOp::create(*this, a, b);
  return arith::DivUIOp::create(*this, a, b);
}

Value KernelBuilder::rem(Value a, Value b) {
  if (isFloat(a))
    return arith::RemFOp::create(*this, a, b);
  return arith::RemUIOp::create(*this, a, b);
}

Value KernelBuilder::maximum(Value a, Value b) {
  return arith::MaximumFOp::create(*this, a, b);
}

Value KernelBuilder::exp(Value a) { return math::ExpOp::create(*this, a); }

Value KernelBuilder::select(Value cond, Value a, Value b) {
  return arith::SelectOp::create(*this, cond, a, b);
}

Value KernelBuilder::cmp(arith::CmpFPredicate p, Value a, Value b) {
  return arith::CmpFOp::create(*this, p, a, b);
}

Value KernelBuilder::cmp(arith::CmpIPredicate p, Value a, Value b) {
  return arith::CmpIOp::create(*this, p, a, b);
}

Value KernelBuilder::truncTo(Type to, Value v) {
  if (v.getType() == to)
    return v;
  return arith::TruncFOp::create(*this, to, v);
}

Value KernelBuilder::broadcast(int64_t n, Value scalar) {
  return vector::BroadcastOp::create(
      *this, VectorType::get({n}, scalar.getType()), scalar);
}

Value KernelBuilder::extract(Value vec, int64_t pos) {
  return vector::ExtractOp::create(*this, vec, ArrayRef<int64_t>{pos});
}

Value KernelBuilder::load(Value mem, ValueRange indices) {
  return memref::LoadOp::create(*this, mem, indices);
}

void KernelBuilder::store(Value v, Value mem, ValueRange indices) {
  memref::StoreOp::create(*this, v, mem, indices);
}

Value KernelBuilder::vload(int64_t n, Value mem, ValueRange indices) {
  Type elt = cast<MemRefType>(mem.getType()).getElementType();
  return vector::LoadOp::create(*this, VectorType::get({n}, elt), mem, indices);
}

void KernelBuilder::vstore(Value v, Value mem, ValueRange indices) {
  vector::StoreOp::create(*this, v, mem, indices);
}

Value KernelBuilder::vloadAligned(int64_t n, Value mem, ValueRange indices,
                                  int64_t align) {
  Type elt = cast<MemRefType>(mem.getType()).getElementType();
  return vector::LoadOp::create(*this, VectorType::get({n}, elt), mem, indices,
                                /*nontemporal=*/false, llvm::MaybeAlign(align));
}

void KernelBuilder::vstoreAligned(Value v, Value mem, ValueRange indices,
                                  int64_t align) {
  vector::StoreOp::create(*this, v, mem, indices, /*nontemporal=*/false,
                          llvm::MaybeAlign(align));
}

void KernelBuilder::atomicAdd(Value v, Value mem, ValueRange indices) {
  memref::AtomicRMWOp::create(*this, arith::AtomicRMWKind::addi, v, mem,
                              indices);
}

SmallVector<Value> KernelBuilder::forLoop(Value lb, Value ub, Value step,
                                          ValueRange init, LoopBody body) {
  auto loop = scf::ForOp::create(
      *this, lb, ub, step, init,
      [&](OpBuilder &nested, Location loc, Value iv, ValueRange args) {
        KernelBuilder kb(loc, nested);
        SmallVector<Value> yielded = body(kb, iv, args);
        scf::YieldOp::create(kb, yielded);
      });
  return SmallVector<Value>(loop.getResults().begin(), loop.getResults().end());
}

void KernelBuilder::forEach(
    Value lb, Value ub, Value step,
    llvm::function_ref<void(KernelBuilder &, Value)> body) {
  forLoop(lb, ub, step, {}, [&](KernelBuilder &kb, Value iv, ValueRange) {
    body(kb, iv);
    return SmallVector<Value>{};
  });
}

SmallVector<Value> KernelBuilder::ifElse(Value cond, Branch then,
                                         Branch otherwise) {
  auto op = scf::IfOp::create(
      *this, cond,
      [&](OpBuilder &nested, Location loc) {
        KernelBuilder kb(loc, nested);
        scf::YieldOp::create(kb, then(kb));
      },
      [&](OpBuilder &nested, Location loc) {
        KernelBuilder kb(loc, nested);
        scf::YieldOp::create(kb, otherwise(kb));
      });
  return SmallVector<Value>(op.getResults());
}

SmallVector<Value> KernelBuilder::whileLoop(
    ValueRange init, llvm::function_ref<Value(KernelBuilder &, ValueRange)> cond,
    llvm::function_ref<SmallVector<Value>(KernelBuilder &, ValueRange)> body) {
  auto op = scf::WhileOp::create(
      *this, init.getTypes(), init,
      [&](OpBuilder &nested, Location loc, ValueRange args) {
        KernelBuilder kb(loc, nested);
        Value go = cond(kb, args);
        scf::ConditionOp::create(kb, go, args);
      },
      [&](OpBuilder &nested, Location loc, ValueRange args) {
        KernelBuilder kb(loc, nested);
        scf::YieldOp::create(kb, body(kb, args));
      });
  return SmallVector<Value>(op.getResults());
}

void KernelBuilder::ifThen(Value cond,
                           llvm::function_ref<void(KernelBuilder &)> then) {
  scf::IfOp::create(*this, cond, [&](OpBuilder &nested, Location loc) {
    KernelBuilder kb(loc, nested);
    then(kb);
    scf::YieldOp::create(kb);
  });
}

void KernelBuilder::barrier() { gpu::BarrierOp::create(*this); }

void KernelBuilder::ret() { gpu::ReturnOp::create(*this); }

Value KernelBuilder::shuffleXor(Value v, int64_t offset, int64_t width) {
  Value off = i32(offset);
  Value w = i32(width);
  return gpu::ShuffleOp::create(*this, v, off, w, gpu::ShuffleMode::XOR)
      .getShuffleResult();
}

Value KernelBuilder::shuffle(gpu::ShuffleMode mode, Value v, Value offset) {
  Value width = i32(32);
  return gpu::ShuffleOp::create(*this, v, offset, width, mode)
      .getShuffleResult();
}

Value KernelBuilder::ballot(Value mask, Value pred) {
  return NVVM::VoteSyncOp::create(
      *this, getI32Type(), mask, pred,
      NVVM::VoteSyncKindAttr::get(getContext(), NVVM::VoteSyncKind::ballot));
}

Value KernelBuilder::subgroupReduce(Value v, gpu::AllReduceOperation op,
                                    int64_t lanes) {
  assert(lanes >= 1 && lanes <= 32 && llvm::isPowerOf2_64(lanes) &&
         "a warp reduction groups a power of two of lanes, up to 32");
  if (lanes == 1)
    return v;
  std::optional<uint32_t> cluster;
  if (lanes < 32)
    cluster = uint32_t(lanes);
  return gpu::SubgroupReduceOp::create(*this, v, op, /*uniform=*/true, cluster);
}

gpu::GPUFuncOp mlir::multipole::gpugen::createKernel(
    KernelBuilder &b, gpu::GPUModuleOp module, StringRef name, TypeRange args,
    TypeRange workgroup, std::array<int32_t, 3> block) {
  b.setInsertionPointToEnd(module.getBody());
  auto fn = gpu::GPUFuncOp::create(b, name, b.getFunctionType(args, {}),
                                   workgroup);
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
  fn.setKnownBlockSizeAttr(b.getDenseI32ArrayAttr(block));
  b.setInsertionPointToStart(&fn.getBody().front());
  return fn;
}
