//===- ModelConfig.cpp - a model's attention from its config.json ---------===//

#include "multipole/Driver/ModelConfig.h"

#include "multipole/Dialect/Multipole/IR/MultipoleDialect.h"
#include "multipole/Dialect/Multipole/IR/MultipoleOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringSwitch.h"

#include <cstdint>

using namespace mlir;
using namespace mlir::multipole;

namespace {

/// The model types whose attention is decode attention with RoPE and GQA as
/// the compiler implements it (q, k, v per head, softmax(q.k / sqrt(D)) v).
constexpr llvm::StringLiteral kSupported[] = {"llama", "mistral", "qwen2",
                                              "qwen3"};

/// An integer field: absent -> `dflt` (0: required), else a positive integer.
bool readInt(const llvm::json::Object &o, llvm::StringRef key, int64_t dflt,
             int64_t &out, llvm::raw_ostream &err, llvm::StringRef path) {
  const llvm::json::Value *v = o.get(key);
  if (!v || v->kind() == llvm::json::Value::Null) {
    if (dflt == 0) {
      err << path << ": missing \"" << key << "\"\n";
      return false;
    }
    out = dflt;
    return true;
  }
  std::optional<int64_t> i = v->getAsInteger();
  if (!i || *i <= 0) {
    err << path << ": \"" << key << "\" must be a positive integer\n";
    return false;
  }
  out = *i;
  return true;
}

/// torch_dtype (or transformers 5's dtype) -> our element type name.
std::string dtypeOf(const llvm::json::Object &o) {
  for (llvm::StringRef key : {"dtype", "torch_dtype"})
    if (std::optional<llvm::StringRef> s = o.getString(key))
      return llvm::StringSwitch<std::string>(*s)
          .Cases({"bfloat16", "torch.bfloat16"}, "bf16")
          .Cases({"float16", "torch.float16", "half"}, "f16")
          .Cases({"float32", "torch.float32", "float"}, "f32")
          .Default("?" + s->str());
  return "bf16"; // what these families ship in
}

} // namespace

FailureOr<ModelConfig>
mlir::multipole::parseModelConfig(llvm::StringRef text, llvm::StringRef path,
                                  llvm::raw_ostream &err) {
  llvm::Expected<llvm::json::Value> json = llvm::json::parse(text);
  if (!json) {
    err << path << ": not valid JSON: " << llvm::toString(json.takeError())
        << "\n";
    return failure();
  }
  const llvm::json::Object *o = json->getAsObject();
  if (!o) {
    err << path << ": a config.json is a JSON object\n";
    return failure();
  }
  ModelConfig c;
  std::optional<llvm::StringRef> type = o->getString("model_type");
  if (!type) {
    err << path << ": missing \"model_type\"\n";
    return failure();
  }
  c.modelType = type->str();
  if (!llvm::is_contained(kSupported, *type)) {
    err << path << ": model_type '" << *type
        << "' is not supported (supported: llama, mistral, qwen2, qwen3)\n";
    return failure();
  }
  bool ok = readInt(*o, "num_hidden_layers", 0, c.layers, err, path);
  ok &= readInt(*o, "hidden_size", 0, c.hidden, err, path);
  ok &= readInt(*o, "num_attention_heads", 0, c.heads, err, path);
  if (!ok)
    return failure();
  ok &= readInt(*o, "num_key_value_heads", c.heads, c.kvHeads, err, path);
  if (c.hidden % c.heads && !o->get("head_dim")) {
    err << path << ": hidden_size " << c.hidden
        << " is not a multiple of num_attention_heads " << c.heads
        << " and there is no head_dim\n";
    return failure();
  }
  ok &= readInt(*o, "head_dim", c.hidden / c.heads, c.headDim, err, path);
  if (o->get("max_position_embeddings"))
    ok &= readInt(*o, "max_position_embeddings", 1, c.maxPositions, err, path);
  if (!ok)
    return failure();
  if (c.heads % c.kvHeads) {
    err << path << ": num_attention_heads " << c.heads
        << " is not a multiple of num_key_value_heads " << c.kvHeads << "\n";
    return failure();
  }
  c.ropeTheta = o->getNumber("rope_theta").value_or(10000.0);
  if (c.ropeTheta <= 0) {
    err << path << ": rope_theta must be positive\n";
    return failure();
  }
  if (const llvm::json::Object *rs = o->getObject("rope_scaling")) {
    std::optional<llvm::StringRef> t = rs->getString("rope_type");
    if (!t)
      t = rs->getString("type");
    c.ropeScaling = t ? t->str() : "unknown";
  }
  c.dtype = dtypeOf(*o);
  if (c.dtype.front() == '?') {
    err << path << ": dtype '" << c.dtype.substr(1)
        << "' is not supported (bfloat16, float16 or float32)\n";
    return failure();
  }
  return c;
}

LogicalResult mlir::multipole::checkModelShape(const ModelConfig &cfg,
                                               const ModelShape &shape,
                                               llvm::raw_ostream &err) {
  bool ok = true;
  // The batch is the z dimension of the GPU kernels' grids (at most 65535);
  // lengths are i32.
  if (shape.batch < 1 || shape.batch > 65535) {
    err << "--max-batch must be in [1, 65535], got " << shape.batch << "\n";
    ok = false;
  }
  if (shape.maxLen < 1 || shape.maxLen > INT32_MAX) {
    err << "--max-len must be in [1, " << INT32_MAX << "] (lengths are i32), got "
        << shape.maxLen << "\n";
    ok = false;
  }
  if (shape.layers < 1 || shape.layers > cfg.layers) {
    err << "--layers must be in [1, " << cfg.layers << "] (the model's "
        << "num_hidden_layers), got " << shape.layers << "\n";
    ok = false;
  }
  return success(ok);
}

std::vector<int64_t> mlir::multipole::batchBuckets(int64_t maxBatch) {
  std::vector<int64_t> buckets;
  for (int64_t b = 1; b < maxBatch; b *= 2)
    buckets.push_back(b);
  buckets.push_back(maxBatch);
  return buckets;
}

std::string mlir::multipole::bucketStep(const std::vector<int64_t> &buckets,
                                        int64_t b) {
  return buckets.size() == 1 ? "attn" : "attn_b" + std::to_string(b);
}

/// func.func @name: one decode attention of `cfg` at batch B.
static void buildAttentionFunc(OpBuilder &b, Location loc,
                               const ModelConfig &cfg, Type elt, int64_t B,
                               int64_t N, StringRef name) {
  int64_t D = cfg.headDim;
  auto qT = RankedTensorType::get({B, cfg.heads, D}, elt);
  auto kvT = RankedTensorType::get({B, cfg.kvHeads, N, D}, elt);
  auto lensT = RankedTensorType::get({B}, b.getI32Type());
  auto fn = func::FuncOp::create(b, loc, name,
                                 b.getFunctionType({qT, kvT, kvT, lensT}, {qT}));
  OpBuilder::InsertionGuard guard(b);
  Block *body = fn.addEntryBlock();
  b.setInsertionPointToStart(body);
  Value init = tensor::EmptyOp::create(b, loc, qT.getShape(), elt);
  auto att = DecodeAttentionOp::create(
      b, loc, TypeRange{qT}, body->getArgument(0), body->getArgument(1),
      body->getArgument(2), body->getArgument(3), ValueRange{init},
      /*scale=*/FloatAttr());
  func::ReturnOp::create(b, loc, att->getResults());
}

OwningOpRef<ModuleOp>
mlir::multipole::buildModelAttention(MLIRContext *ctx, const ModelConfig &cfg,
                                     const ModelShape &shape) {
  ctx->loadDialect<func::FuncDialect, tensor::TensorDialect,
                   MultipoleDialect>();
  OpBuilder b(ctx);
  Location loc = NameLoc::get(b.getStringAttr(cfg.modelType + " attention"));
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  Type elt = cfg.dtype == "bf16"  ? Type(b.getBF16Type())
             : cfg.dtype == "f16" ? Type(b.getF16Type())
                                  : Type(b.getF32Type());
  b.setInsertionPointToEnd(module->getBody());
  std::vector<int64_t> buckets = batchBuckets(shape.batch);
  for (int64_t B : buckets)
    buildAttentionFunc(b, loc, cfg, elt, B, shape.maxLen,
                       bucketStep(buckets, B));
  return module;
}

static llvm::json::Array bucketsJson(int64_t maxBatch) {
  llvm::json::Array a;
  for (int64_t b : batchBuckets(maxBatch))
    a.push_back(b);
  return a;
}

/// {"<B>": step entry point of bucket B}.
static llvm::json::Object bucketStepsJson(int64_t maxBatch) {
  std::vector<int64_t> buckets = batchBuckets(maxBatch);
  llvm::json::Object o;
  for (int64_t b : buckets)
    o[std::to_string(b)] = bucketStep(buckets, b);
  return o;
}

llvm::json::Object mlir::multipole::modelManifest(const ModelConfig &cfg,
                                                  const ModelShape &shape) {
  return llvm::json::Object{
      {"model_type", cfg.modelType},
      {"layers", shape.layers},
      {"model_layers", cfg.layers},
      {"num_attention_heads", cfg.heads},
      {"num_key_value_heads", cfg.kvHeads},
      {"head_dim", cfg.headDim},
      {"dtype", cfg.dtype},
      {"rope_theta", cfg.ropeTheta},
      {"rope_scaling", cfg.ropeScaling},
      {"max_batch", shape.batch},
      {"batch_buckets", bucketsJson(shape.batch)},
      {"bucket_steps", bucketStepsJson(shape.batch)},
      {"max_len", shape.maxLen},
      {"kv_layout", "BHND"},
      {"index", "per layer: one index per layer, from build, owned by the "
                "caller"}};
}
