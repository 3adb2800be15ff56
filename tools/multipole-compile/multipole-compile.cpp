//===- multipole-compile.cpp - attention IR -> shared library -------------===//
//
//   multipole-compile IN.mlir --target=cpu -o OUT.so [--rewrite-options=...]
//   multipole-compile --model=config.json --max-len=N [--max-batch=B]
//                     [--layers=L] [--emit=mlir] -o OUT
//
// Parses IN.mlir (or builds a model's attention from its Hugging Face
// config.json), finds dense decode attention, rewrites it into multipole
// form (unless --dense), lowers everything in-process and links a shared
// library whose entry points use MLIR's C interface (docs/ABI.md).
//
//===----------------------------------------------------------------------===//

#include "multipole/Driver/Compile.h"
#include "multipole/Driver/ModelConfig.h"
#include "multipole/Pipelines/Pipelines.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory cat("multipole-compile options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input .mlir>"),
                                      cl::init(""), cl::cat(cat));
static cl::opt<std::string>
    outputFile("o",
               cl::desc("Output shared library (with --emit=mlir: the IR, "
                        "'-' for stdout)"),
               cl::value_desc("OUT.so"), cl::Required, cl::cat(cat));
static cl::opt<std::string> modelConfig(
    "model",
    cl::desc("Compile the decode attention of a Hugging Face model from its "
             "config.json (llama, mistral, qwen2, qwen3) instead of an input "
             "file: one library that serves every layer (default none)"),
    cl::value_desc("config.json"), cl::init(""), cl::cat(cat));
static cl::opt<int64_t>
    maxBatch("max-batch",
             cl::desc("--model: the library's batch (default 1)"),
             cl::init(1), cl::cat(cat));
static cl::opt<int64_t> maxLen(
    "max-len",
    cl::desc("--model: the KV cache length per sequence; sequence lengths "
             "are run-time values up to it (default 0: required with "
             "--model)"),
    cl::init(0), cl::cat(cat));
static cl::opt<int64_t> layers(
    "layers",
    cl::desc("--model: how many of the model's layers the library serves, "
             "recorded in the manifest (default 0: num_hidden_layers)"),
    cl::init(0), cl::cat(cat));
static cl::opt<std::string>
    emit("emit",
         cl::desc("What to write: 'so' (a shared library) or 'mlir' (the "
                  "attention IR that would be compiled, before the rewrite) "
                  "(default so)"),
         cl::init("so"), cl::cat(cat));
static cl::opt<std::string>
    target("target",
           cl::desc("Code generation target: cpu, or cuda (NVIDIA GPUs; the "
                    "library then takes device pointers) (default cpu)"),
           cl::init("cpu"), cl::cat(cat));
static cl::opt<std::string> chip("chip",
                                 cl::desc("CUDA: GPU architecture (default "
                                          "sm_90a: H100/H200)"),
                                 cl::init("sm_90a"), cl::cat(cat));
static cl::opt<std::string> gpuOptions(
    "gpu-options",
    cl::desc("CUDA: options of --convert-multipole-to-gpu, e.g. "
             "\"splits=64 threads=128\" (default empty: the pass's own "
             "defaults)"),
    cl::init(""), cl::cat(cat));
static cl::opt<bool>
    ptx("ptx",
        cl::desc("CUDA: embed PTX rather than a cubin (default "
                 "false: a cubin, or PTX when ptxas is missing)"),
        cl::init(false), cl::cat(cat));
static cl::opt<bool> dense("dense",
                           cl::desc("Do not rewrite to multipole form: compile "
                                    "dense decode attention, a baseline, or "
                                    "any module as it is (default false: "
                                    "without it, a module in which no decode "
                                    "attention is found is an error)"),
                           cl::init(false), cl::cat(cat));
static cl::opt<bool> noDetect("no-detect",
                              cl::desc("Skip detection of linalg decode "
                                       "attention (default false)"),
                              cl::init(false), cl::cat(cat));
static cl::opt<std::string> rewriteOptions(
    "rewrite-options",
    cl::desc("Options of --multipole-rewrite, e.g. "
             "\"budget-fraction=0.1 sink=16 interval=128\" (see "
             "multipole-opt --help) (default empty: the pass's own defaults)"),
    cl::init(""), cl::cat(cat));
static cl::opt<unsigned>
    optLevel("O", cl::desc("LLVM optimisation level (default 2)"), cl::init(2),
             cl::Prefix, cl::cat(cat));
static cl::opt<std::string>
    cpu("cpu",
        cl::desc("Target CPU of the object code, 'native' for this host "
                 "(default x86-64: portable)"),
        cl::init("x86-64"), cl::cat(cat));
static cl::opt<bool>
    verbose("v", cl::desc("Print each stage and its time (default false)"),
            cl::init(false), cl::cat(cat));
static cl::opt<bool>
    keep("keep-intermediates",
         cl::desc("Write OUT.so.llvm.mlir and OUT.so.ll (default false)"),
         cl::init(false), cl::cat(cat));

/// --model: reads and checks config.json, and builds the model's attention;
/// records the manifest's model object in `opts`. Null (after a message) on
/// bad input.
static OwningOpRef<ModuleOp> loadModel(MLIRContext &ctx,
                                       multipole::CompileOptions &opts) {
  auto buf = llvm::MemoryBuffer::getFile(modelConfig);
  if (!buf) {
    llvm::errs() << "multipole-compile: cannot read " << modelConfig << ": "
                 << buf.getError().message() << "\n";
    return nullptr;
  }
  std::string msgs;
  llvm::raw_string_ostream os(msgs);
  FailureOr<multipole::ModelConfig> cfg =
      multipole::parseModelConfig((*buf)->getBuffer(), modelConfig, os);
  if (failed(cfg)) {
    llvm::errs() << "multipole-compile: error: " << msgs;
    return nullptr;
  }
  if (maxLen == 0) {
    llvm::errs() << "multipole-compile: error: --model needs --max-len (the "
                    "KV cache length per sequence)\n";
    return nullptr;
  }
  multipole::ModelShape shape{maxBatch, maxLen, layers ? layers : cfg->layers};
  if (failed(multipole::checkModelShape(*cfg, shape, os))) {
    llvm::errs() << "multipole-compile: error: " << msgs;
    return nullptr;
  }
  if (!cfg->ropeScaling.empty()) {
    if (llvm::StringRef(rewriteOptions).contains("rope-theta")) {
      llvm::errs() << "multipole-compile: error: " << modelConfig
                   << " scales RoPE (rope_scaling '" << cfg->ropeScaling
                   << "'), and windowed RoPE (rope-theta) implements only the "
                      "unscaled rotation: drop rope-theta\n";
      return nullptr;
    }
    llvm::errs() << "multipole-compile: note: rope_scaling '"
                 << cfg->ropeScaling
                 << "': windowed RoPE stays off for this model (it needs the "
                    "model's exact rotation)\n";
  }
  if (cfg->maxPositions && maxLen > cfg->maxPositions)
    llvm::errs() << "multipole-compile: note: --max-len " << maxLen
                 << " is beyond the model's max_position_embeddings "
                 << cfg->maxPositions << "\n";
  opts.model = multipole::modelManifest(*cfg, shape);
  if (verbose)
    llvm::errs() << "[multipole-compile] " << cfg->modelType << ": "
                 << cfg->heads << " query heads, " << cfg->kvHeads
                 << " KV heads, head_dim " << cfg->headDim << ", " << cfg->dtype
                 << "; library for " << shape.layers << " layers, batch "
                 << shape.batch << ", " << shape.maxLen << " tokens\n";
  return multipole::buildModelAttention(&ctx, *cfg, shape);
}

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  cl::HideUnrelatedOptions(cat);
  cl::ParseCommandLineOptions(
      argc, argv,
      "multipole-compile: compile attention IR to a shared library\n\n"
      "Runs --multipole-detect-decode-attention, --multipole-rewrite and the "
      "CPU (--target=cpu) or GPU (--target=cuda) pipeline in-process, then "
      "links OUT.so. The library exports\n"
      "_mlir_ciface_<f> for every public function (the decode step <f>, and\n"
      "<f>_mp_build / <f>_mp_update for the cluster index) and a JSON manifest\n"
      "__multipole_manifest that multipole-run and the Python package read.\n");

  DialectRegistry registry;
  multipole::registerAllMultipoleDialects(registry);
  multipole::registerAllMultipolePasses();
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();

  if (emit != "so" && emit != "mlir") {
    llvm::errs() << "multipole-compile: --emit must be 'so' or 'mlir', got '"
                 << emit << "'\n";
    return 1;
  }
  if (modelConfig.empty() == inputFile.empty()) {
    llvm::errs() << "multipole-compile: give an input .mlir file or "
                    "--model=config.json (exactly one of the two)\n";
    return 1;
  }
  multipole::CompileOptions opts;
  llvm::SourceMgr sm;
  SourceMgrDiagnosticHandler handler(sm, &ctx);
  OwningOpRef<ModuleOp> module;
  std::string source = inputFile;
  if (!modelConfig.empty()) {
    source = modelConfig;
    module = loadModel(ctx, opts);
    if (!module)
      return 1;
  } else {
    std::string err;
    auto file = openInputFile(inputFile, &err);
    if (!file) {
      llvm::errs() << "multipole-compile: " << err << "\n";
      return 1;
    }
    sm.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    module = parseSourceFile<ModuleOp>(sm, &ctx);
    if (!module) {
      llvm::errs() << "multipole-compile: cannot parse " << inputFile << "\n";
      return 1;
    }
  }
  if (emit == "mlir") {
    std::string err;
    auto out = openOutputFile(outputFile, &err);
    if (!out) {
      llvm::errs() << "multipole-compile: " << err << "\n";
      return 1;
    }
    module->print(out->os());
    out->keep();
    return 0;
  }
  opts.target = target;
  opts.chip = chip;
  opts.gpuOptions = gpuOptions;
  opts.ptx = ptx;
  opts.detect = !noDetect;
  opts.rewrite = !dense;
  opts.rewriteOptions = rewriteOptions;
  opts.optLevel = optLevel;
  opts.cpu = cpu;
  opts.verbose = verbose;
  opts.keepIntermediates = keep;
  if (failed(multipole::compileToSharedLibrary(*module, opts, outputFile,
                                               llvm::errs()))) {
    llvm::errs() << "multipole-compile: failed to compile " << source
                 << "\n";
    return 1;
  }
  if (verbose)
    llvm::errs() << "[multipole-compile] wrote " << outputFile << "\n";
  return 0;
}
