//===- TransposeViews.cpp - read transposed caches in place ---------------===//
//
// Implements --multipole-transpose-views (contract: Passes.td). A KV cache
// stored as [B, N, Hkv, D] (FlashAttention, vLLM) reaches the multipole ops
// as a linalg.transpose to [B, Hkv, N, D] (written by the model, or inserted
// by detection). One-shot bufferization turns that transpose into a copy of
// the whole cache into a fresh buffer, on every call. When nothing can tell
// the copy from the source, this pass replaces the copy by a strided view of
// the source (memref.transpose), so the kernels read the cache in place.
//
// The fold applies to `linalg.transpose ins(%src) outs(%dst)` on memrefs when
//   - %dst is a `memref.alloc` of the same block (a fresh buffer, so the
//     transpose writes all of it and nothing else did before);
//   - %src is a view (collapse_shape, expand_shape, transpose, cast, subview
//     ...) of an argument of the function, and nothing in the function may
//     write through that argument or any view of it: every use is a view or
//     an op whose memory effects on it are reads only;
//   - every other use of %dst comes after the transpose in its block and is a
//     read (memory effects on that operand: read only) or a
//     memref.expand_shape / collapse_shape whose uses are such reads in turn
//     (rebuilt on the view when the strided type allows it), or a dealloc.
// Then the copy and its buffer are erased. Anything else is left as it is.
//
//===----------------------------------------------------------------------===//

#include "multipole/Dialect/Multipole/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir {
namespace multipole {
#define GEN_PASS_DEF_MULTIPOLETRANSPOSEVIEWS
#include "multipole/Dialect/Multipole/Transforms/Passes.h.inc"
} // namespace multipole
} // namespace mlir

using namespace mlir;

namespace {

/// Whether `use` only reads the memory of its value: its op declares a read
/// of this operand, and no other effect on it (or on no value at all). A use
/// without a declared read (func.return, a call, a yield) lets the buffer
/// escape: not a read.
bool onlyReads(OpOperand &use) {
  auto iface = dyn_cast<MemoryEffectOpInterface>(use.getOwner());
  if (!iface)
    return false;
  SmallVector<MemoryEffects::EffectInstance> effects;
  iface.getEffects(effects);
  bool reads = false;
  for (const MemoryEffects::EffectInstance &e : effects) {
    OpOperand *on = e.getEffectValue<OpOperand *>();
    bool mine = !on || on == &use || on->get() == use.get();
    if (!isa<MemoryEffects::Read>(e.getEffect())) {
      if (mine)
        return false;
      continue;
    }
    reads |= on == &use || (!on && e.getValue() == use.get());
  }
  return reads;
}

/// The function argument `v` is a view of, through view-like ops.
BlockArgument rootArgument(Value v, func::FuncOp f) {
  while (Operation *def = v.getDefiningOp()) {
    auto view = dyn_cast<ViewLikeOpInterface>(def);
    if (!view)
      return {};
    v = view.getViewSource();
  }
  auto ba = dyn_cast<BlockArgument>(v);
  if (!ba || ba.getOwner() != &f.getBody().front())
    return {};
  return ba;
}

/// Whether nothing can write through `v` or a view of it: every use is a
/// view-like op (checked in turn) or a read.
bool readOnly(Value v) {
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    if (auto view = dyn_cast<ViewLikeOpInterface>(user);
        view && view.getViewSource() == v) {
      for (Value r : user->getResults())
        if (!readOnly(r))
          return false;
      continue;
    }
    if (!onlyReads(use))
      return false;
  }
  return true;
}

/// A reshape of the copy, rebuilt on the view: its result type there.
FailureOr<MemRefType> reshapedType(Operation *op, MemRefType src) {
  if (auto e = dyn_cast<memref::ExpandShapeOp>(op))
    return memref::ExpandShapeOp::computeExpandedType(
        src, e.getResultType().getShape(), e.getReassociationIndices());
  if (auto c = dyn_cast<memref::CollapseShapeOp>(op)) {
    SmallVector<ReassociationIndices> r = c.getReassociationIndices();
    if (!memref::CollapseShapeOp::isGuaranteedCollapsible(src, r))
      return failure();
    return memref::CollapseShapeOp::computeCollapsedType(src, r);
  }
  return failure();
}

/// The uses of `v` (the copy, or a reshape of it) that the view can take:
/// reads after `after`, reshapes whose uses are such reads, deallocs.
bool usesFit(Value v, MemRefType viewType, Operation *after,
             SmallVectorImpl<Operation *> &deallocs) {
  Block *block = after->getBlock();
  for (OpOperand &use : v.getUses()) {
    Operation *user = use.getOwner();
    if (user == after)
      continue;
    Operation *anc = block->findAncestorOpInBlock(*user);
    if (!anc || !after->isBeforeInBlock(anc))
      return false;
    if (isa<memref::DeallocOp>(user)) {
      deallocs.push_back(user);
      continue;
    }
    if (isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(user)) {
      FailureOr<MemRefType> t = reshapedType(user, viewType);
      if (failed(t) || !usesFit(user->getResult(0), *t, after, deallocs))
        return false;
      continue;
    }
    if (!onlyReads(use))
      return false;
  }
  return true;
}

/// Replaces the uses of `old` by `view` (rebuilding reshapes on it).
void replaceUses(Value old, Value view, OpBuilder &b) {
  for (OpOperand &use : llvm::make_early_inc_range(old.getUses())) {
    Operation *user = use.getOwner();
    if (isa<memref::ExpandShapeOp, memref::CollapseShapeOp>(user)) {
      auto t = *reshapedType(user, cast<MemRefType>(view.getType()));
      b.setInsertionPoint(user);
      Value r;
      if (auto e = dyn_cast<memref::ExpandShapeOp>(user))
        r = memref::ExpandShapeOp::create(b, user->getLoc(), t, view,
                                          e.getReassociationIndices(),
                                          e.getMixedOutputShape());
      else
        r = memref::CollapseShapeOp::create(
            b, user->getLoc(), t, view,
            cast<memref::CollapseShapeOp>(user).getReassociationIndices());
      replaceUses(user->getResult(0), r, b);
      user->erase();
      continue;
    }
    use.set(view);
  }
}

/// Folds `t` into a view of its input when the conditions above hold.
bool foldTranspose(linalg::TransposeOp t, func::FuncOp f) {
  if (!t.hasPureBufferSemantics())
    return false;
  Value src = t.getInput(), dst = t.getInit();
  auto alloc = dst.getDefiningOp<memref::AllocOp>();
  if (!alloc || alloc->getBlock() != t->getBlock() ||
      !alloc.getDynamicSizes().empty())
    return false;
  BlockArgument arg = rootArgument(src, f);
  if (!arg || !readOnly(arg))
    return false;
  AffineMap perm = AffineMap::getPermutationMap(t.getPermutation(),
                                                t.getContext());
  // The view (memref.transpose infers its type: the shape permuted, the
  // source's strides), dropped again unless every use of the copy takes it.
  OpBuilder b(t);
  auto view = memref::TransposeOp::create(b, t.getLoc(), src,
                                          AffineMapAttr::get(perm));
  MemRefType viewType = view.getType();
  SmallVector<Operation *> deallocs;
  if (viewType.getShape() != cast<MemRefType>(dst.getType()).getShape() ||
      !usesFit(dst, viewType, t, deallocs)) {
    view->erase();
    return false;
  }
  for (Operation *d : deallocs)
    d->erase();
  t->erase();
  replaceUses(dst, view, b);
  alloc->erase();
  return true;
}

struct TransposeViewsPass
    : public multipole::impl::MultipoleTransposeViewsBase<TransposeViewsPass> {
  void runOnOperation() override {
    for (auto f : getOperation().getOps<func::FuncOp>()) {
      if (f.isExternal())
        continue;
      SmallVector<linalg::TransposeOp> ts;
      f.walk([&](linalg::TransposeOp t) { ts.push_back(t); });
      for (linalg::TransposeOp t : ts)
        foldTranspose(t, f);
    }
  }
};

} // namespace
