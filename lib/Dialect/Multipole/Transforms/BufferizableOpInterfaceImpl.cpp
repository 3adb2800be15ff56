//===- BufferizableOpInterfaceImpl.cpp - bufferization of multipole ops ---===//
//
// Every multipole op is in destination-passing style, so one model serves all:
// the `outs` operands alias the results (equivalent buffers), inputs are only
// read, and bufferizing means re-creating the op on the operands' buffers with
// no results. Only `cluster_update` reads its `outs` (read-modify-write).
//
//===----------------------------------------------------------------------===//

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "multipole/Dialect/Multipole/IR/MultipoleOps.h"

using namespace mlir;
using namespace mlir::bufferization;

namespace {
template <typename OpTy, bool ReadsInits>
struct MultipoleOpInterface
    : public DstBufferizableOpInterfaceExternalModel<
          MultipoleOpInterface<OpTy, ReadsInits>, OpTy> {
  bool bufferizesToMemoryRead(Operation *op, OpOperand &operand,
                              const AnalysisState &) const {
    auto dps = cast<DestinationStyleOpInterface>(op);
    return ReadsInits || !dps.isDpsInit(&operand);
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto dps = cast<DestinationStyleOpInterface>(op);
    SmallVector<Value> operands, initBuffers;
    for (OpOperand &o : op->getOpOperands()) {
      Value v = o.get();
      if (isa<TensorType>(v.getType())) {
        FailureOr<Value> buf = getBuffer(rewriter, v, options, state);
        if (failed(buf))
          return failure();
        v = *buf;
      }
      operands.push_back(v);
      if (dps.isDpsInit(&o))
        initBuffers.push_back(v);
    }
    rewriter.setInsertionPoint(op);
    OperationState st(op->getLoc(), op->getName(), operands, TypeRange{},
                      op->getAttrs());
    rewriter.create(st);
    replaceOpWithBufferizedValues(rewriter, op, initBuffers);
    return success();
  }
};
} // namespace

void mlir::multipole::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, MultipoleDialect *) {
    DecodeAttentionOp::attachInterface<
        MultipoleOpInterface<DecodeAttentionOp, false>>(*ctx);
    ClusterBuildOp::attachInterface<MultipoleOpInterface<ClusterBuildOp, false>>(
        *ctx);
    ClusterUpdateOp::attachInterface<
        MultipoleOpInterface<ClusterUpdateOp, true>>(*ctx);
    ClusterCoarsenOp::attachInterface<
        MultipoleOpInterface<ClusterCoarsenOp, false>>(*ctx);
    CentroidScoreOp::attachInterface<
        MultipoleOpInterface<CentroidScoreOp, false>>(*ctx);
    SelectClustersOp::attachInterface<
        MultipoleOpInterface<SelectClustersOp, false>>(*ctx);
    SparseAttentionOp::attachInterface<
        MultipoleOpInterface<SparseAttentionOp, false>>(*ctx);
    CentroidApproxOp::attachInterface<
        MultipoleOpInterface<CentroidApproxOp, false>>(*ctx);
    MergeOp::attachInterface<MultipoleOpInterface<MergeOp, false>>(*ctx);
  });
}
