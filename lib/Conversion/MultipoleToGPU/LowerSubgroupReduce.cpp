//===- LowerSubgroupReduce.cpp - gpu.subgroup_reduce to shuffles ----------===//
//
// Implements --multipole-lower-subgroup-reduce (see Passes.td): the warp
// reductions of the generated kernels, upstream gpu.subgroup_reduce ops,
// become butterfly gpu.shuffle xor sequences through upstream's patterns
// (32-lane subgroups, 32-bit shuffles), before the NVVM lowering.
//
//===----------------------------------------------------------------------===//

#include "multipole/Conversion/Passes.h"

#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir {
namespace multipole {
#define GEN_PASS_DEF_MULTIPOLELOWERSUBGROUPREDUCE
#include "multipole/Conversion/Passes.h.inc"
} // namespace multipole
} // namespace mlir

using namespace mlir;

namespace {

constexpr unsigned kWarpSize = 32;
constexpr unsigned kShuffleBits = 32;

struct LowerSubgroupReducePass
    : multipole::impl::MultipoleLowerSubgroupReduceBase<
          LowerSubgroupReducePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateGpuLowerSubgroupReduceToShufflePatterns(patterns, kWarpSize,
                                                    kShuffleBits);
    populateGpuLowerClusteredSubgroupReduceToShufflePatterns(
        patterns, kWarpSize, kShuffleBits);
    // One walk: the patterns leave shuffles and arith ops, nothing to revisit
    // (and no folding of the rest of the module).
    walkAndApplyPatterns(getOperation(), std::move(patterns));
    WalkResult left = getOperation()->walk([](gpu::SubgroupReduceOp op) {
      op.emitOpError("has no shuffle lowering (32-lane warps, 32-bit "
                     "shuffles)");
      return WalkResult::interrupt();
    });
    if (left.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
