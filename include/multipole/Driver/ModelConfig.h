//===- ModelConfig.h - a model's attention from its config.json -*- C++ -*-===//
//
// `multipole-compile --model=config.json`: reads a Hugging Face config.json
// (Llama, Mistral, Qwen2/2.5, Qwen3), checks it, and builds the decode
// attention that every layer of the model runs, as IR (one function @attn,
// multipole.decode_attention of the model's heads, head_dim and dtype at the
// library's batch and cache length). The kernels of one library serve every
// layer; each layer keeps its own cluster index (the caller owns the index
// tensors, docs/ABI.md), so the library is compiled once per model.
//
//===----------------------------------------------------------------------===//
#ifndef MULTIPOLE_DRIVER_MODELCONFIG_H
#define MULTIPOLE_DRIVER_MODELCONFIG_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace mlir {
namespace multipole {

/// What the compiler uses of a model's config.json.
struct ModelConfig {
  std::string modelType;    // model_type
  int64_t layers = 0;       // num_hidden_layers
  int64_t hidden = 0;       // hidden_size
  int64_t heads = 0;        // num_attention_heads
  int64_t kvHeads = 0;      // num_key_value_heads (default: heads)
  int64_t headDim = 0;      // head_dim (default: hidden / heads)
  int64_t maxPositions = 0; // max_position_embeddings (0: absent)
  double ropeTheta = 0;     // rope_theta (default 10000)
  std::string ropeScaling;  // rope_scaling.rope_type / type ("" if none)
  std::string dtype;        // bf16, f16 or f32 (torch_dtype / dtype)
};

/// Parses and checks `text` (the contents of `path`). On bad input writes one
/// message per problem to `err` and fails.
FailureOr<ModelConfig> parseModelConfig(llvm::StringRef text,
                                        llvm::StringRef path,
                                        llvm::raw_ostream &err);

/// The library's shape: batch and cache length (both at least 1), and how
/// many of the model's layers it serves (1 .. layers).
struct ModelShape {
  int64_t batch = 1, maxLen = 0, layers = 0;
};

/// The batch sizes the library is compiled for: the powers of two below
/// `maxBatch`, and `maxBatch`. A call with B sequences uses the smallest
/// bucket >= B (the caller's cache has that many rows; rows past B have
/// length 0), so a step for B = 3 of a max-batch 8 library costs a B = 4 step.
std::vector<int64_t> batchBuckets(int64_t maxBatch);

/// The step entry point of bucket `b` ("attn" when there is one bucket,
/// "attn_b<b>" otherwise).
std::string bucketStep(const std::vector<int64_t> &buckets, int64_t b);

/// Checks `shape` against `cfg`; writes the problems to `err`.
LogicalResult checkModelShape(const ModelConfig &cfg, const ModelShape &shape,
                              llvm::raw_ostream &err);

/// Per batch bucket B (batchBuckets): func.func @attn[_b<B>](q [B, Hq, D],
/// k [B, Hkv, N, D], v [B, Hkv, N, D], lens [B] x i32) -> [B, Hq, D], one
/// multipole.decode_attention each, built with OpBuilder.
OwningOpRef<ModuleOp> buildModelAttention(MLIRContext *ctx,
                                          const ModelConfig &cfg,
                                          const ModelShape &shape);

/// The manifest's "model" object (docs/ABI.md): the model's attention, the
/// layers the library serves and the KV layout it reads.
llvm::json::Object modelManifest(const ModelConfig &cfg,
                                 const ModelShape &shape);

} // namespace multipole
} // namespace mlir

#endif
