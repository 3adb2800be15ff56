//===- DetectDecodeAttention.cpp - linalg decode attention -> multipole ---===//
// (work in progress: matcher to be written)
#include "multipole/Dialect/Multipole/Transforms/Passes.h"

namespace mlir {
namespace multipole {
#define GEN_PASS_DEF_MULTIPOLEDETECTDECODEATTENTION
#include "multipole/Dialect/Multipole/Transforms/Passes.h.inc"
} // namespace multipole
} // namespace mlir

using namespace mlir;

namespace {
struct DetectPass
    : public multipole::impl::MultipoleDetectDecodeAttentionBase<DetectPass> {
  void runOnOperation() override {}
};
} // namespace
