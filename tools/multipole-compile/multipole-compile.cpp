//===- multipole-compile.cpp - attention IR -> shared library -------------===//
//
//   multipole-compile IN.mlir --target=cpu -o OUT.so [--rewrite-options=...]
//
// Parses IN.mlir, finds dense decode attention, rewrites it into multipole
// form (unless --dense), lowers everything in-process and links a shared
// library whose entry points use MLIR's C interface (docs/ABI.md).
//
//===----------------------------------------------------------------------===//

#include "multipole/Driver/Compile.h"
#include "multipole/Pipelines/Pipelines.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory cat("multipole-compile options");
static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<input .mlir>"),
                                      cl::Required, cl::cat(cat));
static cl::opt<std::string> outputFile("o", cl::desc("Output shared library"),
                                       cl::value_desc("OUT.so"), cl::Required,
                                       cl::cat(cat));
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

  std::string err;
  auto file = openInputFile(inputFile, &err);
  if (!file) {
    llvm::errs() << "multipole-compile: " << err << "\n";
    return 1;
  }
  llvm::SourceMgr sm;
  sm.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(sm, &ctx);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sm, &ctx);
  if (!module) {
    llvm::errs() << "multipole-compile: cannot parse " << inputFile << "\n";
    return 1;
  }
  multipole::CompileOptions opts;
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
    llvm::errs() << "multipole-compile: failed to compile " << inputFile
                 << "\n";
    return 1;
  }
  if (verbose)
    llvm::errs() << "[multipole-compile] wrote " << outputFile << "\n";
  return 0;
}
