//===- multipole-fuzz.cpp - mutation fuzzer for multipole-opt's paths ------===//
//
// Deterministic mutation fuzzing of the compiler, in process:
//
//   - seeds: the lit inputs (every `// -----` chunk of test/**/*.mlir), each
//     also printed in generic form once it parses;
//   - mutations (1-4 stacked per input, from a fixed-seed PRNG): replace a
//     number by an interesting value (0, -1, 21, 65536, INT64_MAX, NaN and
//     inf bit patterns, ...), change one dimension size consistently across
//     every shape, swap element types, delete / duplicate / swap lines, splice
//     spans of another seed, byte edits; pass options get interesting values
//     too (empty, negative, huge, nan, inf);
//   - each input runs one of the tools' paths: parse + verify; detect +
//     rewrite; the CPU pipeline (with or without the rewrite); the GPU
//     conversion after bufferization (with or without the rewrite).
//
// Every input runs in a forked child (the parent's MLIRContext, with every
// dialect loaded, is shared copy-on-write), under a time and memory limit.
// A crash is: a signal (SIGALRM = timeout), an exit status other than 0 or 1,
// a diagnostic containing "internal error", or LLVM ERROR (abort). Crashes
// inside upstream MLIR parsing code are counted separately (see
// docs/Fuzzing.md): the child's signal handler walks its own stack and calls
// a crash "upstream parser" only when it happened while parsing and no frame
// between the fault and the harness lies in this executable (our dialect's
// parse hooks are linked into it, upstream MLIR is libMLIR.so).
//
//===----------------------------------------------------------------------===//

#include "multipole/Pipelines/Pipelines.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <csignal>
#include <cstring>
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <random>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MPFUZZ_ASAN 1
#endif
#endif
#ifndef MPFUZZ_ASAN
#define MPFUZZ_ASAN 0
#endif

using namespace mlir;
namespace cl = llvm::cl;

static cl::list<std::string> seedPaths(cl::Positional,
                                       cl::desc("<seed .mlir files or dirs>"),
                                       cl::OneOrMore);
static cl::opt<uint64_t> seedOpt("seed", cl::desc("PRNG seed"), cl::init(1));
static cl::opt<uint64_t> runs("runs", cl::desc("Mutated inputs to run"),
                              cl::init(1000));
static cl::opt<double> maxTime("max-time",
                               cl::desc("Stop after this many seconds (0: no "
                                        "limit; the run is then not "
                                        "reproducible in length)"),
                               cl::init(0));
static cl::opt<unsigned> timeoutS("timeout",
                                  cl::desc("Seconds per input before it counts "
                                           "as a hang"),
                                  cl::init(20));
static cl::opt<unsigned> memMiB("mem-limit",
                                cl::desc("Address-space limit per input (MiB)"),
                                cl::init(4096));
static cl::opt<std::string> crashDir("crash-dir",
                                     cl::desc("Write crashing inputs here"),
                                     cl::init("fuzz-crashes"));
static cl::opt<bool> verbose("v", cl::desc("Print every crash's first lines"),
                             cl::init(false));
static cl::opt<bool> crashSelf(
    "crash-self",
    cl::desc("Testing the harness: every child faults in this executable "
             "while parsing (must count as a crash, not as upstream)"),
    cl::init(false), cl::Hidden);
static cl::opt<std::string> replay("replay",
                                   cl::desc("Run one saved input in process "
                                            "(no fork) and print its "
                                            "diagnostics"),
                                   cl::init(""));

namespace mpfuzz {

//===----------------------------------------------------------------------===//
// Child-side crash classification
//===----------------------------------------------------------------------===//

enum Stage : int { kIdle = 0, kParse = 1, kPasses = 2 };
struct Shared {
  volatile int stage;
  volatile int upstreamParser; // set by the signal handler
  volatile int signal;
};
Shared *shared = nullptr;
void *selfBase = nullptr; // load address of this executable
void *libMLIR = nullptr;  // dlopen handle of the loaded libMLIR (no new load)
void *frames[1 << 16];
int harnessDepth = 0; // frames from runInput to the bottom of the stack

/// Whether `addr` lies in this executable (our code) rather than a shared
/// library (libMLIR, libLLVM, libc).
bool inSelf(void *addr) {
  Dl_info info;
  if (!dladdr(addr, &info))
    return false;
  return info.dli_fbase == selfBase;
}

/// The already-loaded libMLIR (found from one of its functions), or null.
void *findLibMLIR() {
  Dl_info info;
  auto *fn = reinterpret_cast<void *>(
      static_cast<llvm::LogicalResult (*)(
          llvm::StringRef, mlir::Block *, const mlir::ParserConfig &,
          llvm::StringRef, mlir::LocationAttr *)>(&mlir::parseSourceString));
  if (!dladdr(fn, &info) || !info.dli_fname || info.dli_fbase == selfBase)
    return nullptr;
  return dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
}

/// Whether `addr` lies in a copy, in this executable, of a function libMLIR
/// also defines: a template instantiation (mlir::detail::walk, say) that the
/// executable exports because libMLIR refers to it, so that libMLIR's own
/// calls bind to the executable's copy. Such a frame runs upstream code.
bool interposedFromLibMLIR(void *addr) {
  Dl_info info;
  if (!libMLIR || !dladdr(addr, &info) || !info.dli_sname ||
      info.dli_fbase != selfBase)
    return false;
  return dlsym(libMLIR, info.dli_sname) != nullptr;
}

/// Whether `addr` is an entry point of the sanitizer runtime linked into this
/// executable (an interceptor such as realloc, or an __asan_/__ubsan_ hook).
bool sanitizerEntry(void *addr) {
  Dl_info info;
  if (!dladdr(addr, &info) || !info.dli_sname)
    return false;
  llvm::StringRef name(info.dli_sname);
  return name.starts_with("__interceptor_") ||
         name.starts_with("___interceptor_") || name.starts_with("__asan_") ||
         name.starts_with("__ubsan_handle") || name.starts_with("__sanitizer_");
}

/// Whether `addr` lies in libc (abort, raise).
bool inLibc(void *addr) {
  Dl_info info;
  return dladdr(addr, &info) && info.dli_fname &&
         llvm::StringRef(info.dli_fname).contains("libc.so");
}

/// The first frame at or after `i` that can be blamed: past the sanitizer
/// runtime when the fault happened inside it. Under ASan an impossible
/// allocation (e.g. the parser sizing a vector from a result number of
/// 2^31) aborts inside the runtime, which is linked into this executable:
/// libc's abort, the runtime's own (unnamed) frames, then the interceptor
/// that was called (realloc). Those frames say nothing about whose code
/// failed; the interceptor's caller does.
int pastSanitizerRuntime(int i, int top) {
  for (int k = i; k < top; ++k) {
    if (inSelf(frames[k])) {
      if (sanitizerEntry(frames[k]))
        return k + 1;
      continue;
    }
    if (!inLibc(frames[k]))
      break; // library code (libMLIR, libLLVM) before any runtime entry
  }
  return i;
}

extern "C" void crashHandler(int sig) {
  shared->signal = sig;
  if (shared->stage == kParse) {
    int n = backtrace(frames, sizeof(frames) / sizeof(frames[0]));
    // frames[0..]: this handler (self), the signal trampoline (libc), then
    // the faulting frame. Upstream parser crash: after the trampoline, a run
    // of library frames down to the harness, then only self frames.
    // MULTIPOLE_FUZZ_DEBUG=FILE: append the frames (developers).
    if (const char *dbg = std::getenv("MULTIPOLE_FUZZ_DEBUG"))
      if (FILE *f = fopen(dbg, "a")) {
        fprintf(f, "signal %d, %d frames, harness depth %d\n", sig, n,
                harnessDepth);
        for (int j = 0; j < n && j < 40; ++j) {
          Dl_info info;
          dladdr(frames[j], &info);
          fprintf(f, "frame %d %p %s self=%d\n", j, frames[j],
                  info.dli_fname ? info.dli_fname : "?",
                  int(inSelf(frames[j])));
        }
        fclose(f);
      }
    // frames: this handler (self), the signal trampoline (libc), the
    // faulting frames ..., runInput (at harnessDepth from the bottom: the
    // frames below it are those it recorded before parsing). Upstream: every
    // frame between the trampoline and runInput is in a shared library.
    int i = 0;
    while (i < n && inSelf(frames[i]))
      ++i; // the handler
    if (i < n)
      ++i; // the trampoline
    int top = n - harnessDepth; // runInput's frame
    bool upstream = harnessDepth > 0 && top > i &&
                    n < int(sizeof(frames) / sizeof(frames[0]));
    for (int j = pastSanitizerRuntime(i, top); upstream && j < top; ++j)
      if (inSelf(frames[j]) && !interposedFromLibMLIR(frames[j]))
        upstream = false;
    shared->upstreamParser = upstream;
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

//===----------------------------------------------------------------------===//
// Inputs
//===----------------------------------------------------------------------===//

struct Input {
  std::string text;
  int path = 0; // see kPaths
  std::string rewriteOpts, gpuOpts;
};

enum Path : int {
  kParseVerify,
  kRewrite,
  kCPU,
  kRewriteCPU,
  kGPU,
  kRewriteGPU,
  kNumPaths
};
const char *pathNames[] = {"parse+verify", "detect+rewrite", "cpu-pipeline",
                           "rewrite+cpu-pipeline", "gpu-conversion",
                           "rewrite+gpu-conversion"};

std::string pipelineFor(const Input &in) {
  std::string rw = "func.func(multipole-detect-decode-attention),"
                   "multipole-rewrite{" +
                   in.rewriteOpts + "}";
  std::string buf = multipole::kBufferizePipeline;
  std::string gpu = buf +
                    ",buffer-results-to-out-params{hoist-static-allocs "
                    "modify-public-functions},buffer-deallocation-pipeline,"
                    "multipole-gpu-plan,convert-multipole-to-gpu{" +
                    in.gpuOpts + "},multipole-gpu-programmatic-launch{" +
                    in.gpuOpts + "}";
  std::string cpu = buf + "," + multipole::kLowerToLLVMPipeline;
  switch (in.path) {
  case kRewrite:
    return rw;
  case kCPU:
    return cpu;
  case kRewriteCPU:
    return rw + "," + cpu;
  case kGPU:
    return gpu;
  case kRewriteGPU:
    return rw + "," + gpu;
  default:
    return "";
  }
}

/// Runs one input in this process. Returns 0 (accepted), 1 (diagnosed), 3
/// (an "internal error" diagnostic).
__attribute__((noinline)) int runInput(MLIRContext &ctx, const Input &in,
                                       bool printDiags) {
  bool internal = false;
  ScopedDiagnosticHandler h(&ctx, [&](Diagnostic &d) {
    std::string msg = d.str();
    if (msg.find("internal error") != std::string::npos)
      internal = true;
    if (printDiags)
      llvm::errs() << d.getLocation() << ": " << msg << "\n";
    return success();
  });
  ParserConfig cfg(&ctx);
  if (shared) {
    void *own[256];
    harnessDepth = backtrace(own, 256);
    shared->stage = kParse;
    if (crashSelf) {
      volatile int *null = nullptr;
      *null = 1;
    }
  }
  // The non-template parser entry (in libMLIR), so that no frame of this
  // executable lies between runInput and upstream parsing code.
  Block block;
  LogicalResult parsed = parseSourceString(in.text, &block, cfg, "fuzz");
  if (shared)
    shared->stage = kPasses;
  if (failed(parsed))
    return internal ? 3 : 1;
  OwningOpRef<ModuleOp> m;
  if (llvm::hasSingleElement(block) && isa<ModuleOp>(block.front())) {
    ModuleOp mod = cast<ModuleOp>(block.front());
    mod->remove();
    m = mod;
  } else {
    m = ModuleOp::create(UnknownLoc::get(&ctx));
    m->getBody()->getOperations().splice(m->getBody()->begin(),
                                         block.getOperations());
  }
  std::string p = pipelineFor(in);
  if (!p.empty()) {
    PassManager pm(&ctx);
    std::string err;
    llvm::raw_string_ostream es(err);
    if (failed(parsePassPipeline(p, pm, es))) {
      if (printDiags)
        llvm::errs() << "pipeline: " << err << "\n";
      return 1;
    }
    if (failed(pm.run(*m)))
      return internal ? 3 : 1;
  }
  return internal ? 3 : 0;
}

//===----------------------------------------------------------------------===//
// Mutations
//===----------------------------------------------------------------------===//

struct Rng {
  std::mt19937_64 g;
  explicit Rng(uint64_t s) : g(s) {}
  uint64_t below(uint64_t n) { return n ? g() % n : 0; }
  bool coin(unsigned oneIn) { return below(oneIn) == 0; }
  template <typename T> const T &pick(const std::vector<T> &v) {
    return v[below(v.size())];
  }
};

const std::vector<std::string> kInts = {
    "0", "1", "-1", "2", "3", "4", "7", "8", "15", "16", "17", "20", "21",
    "31", "32", "33", "63", "64", "65", "127", "128", "129", "255", "256",
    "1023", "1024", "1025", "4096", "65535", "65536", "65537", "2147483647",
    "2147483648", "4294967295", "4294967296", "4611686018427387904",
    "9223372036854775807", "-9223372036854775808", "-2", "-65536"};
const std::vector<std::string> kFloats = {
    "0.0", "-0.0", "1.0", "-1.0", "0.5", "1.5", "1.0e-30", "1.0e30",
    "1.0e308", "0x7FC00000", "0x7F800000", "0xFF800000", "0x00000001",
    "0x7FF8000000000000", "0x7FF0000000000000", "0xFFF0000000000000",
    "nan", "inf"};
const std::vector<std::string> kOptVals = {
    "",    "0",   "1",   "-1",  "2",   "3",   "4",   "8",   "12",  "16",
    "21",  "32",  "33",  "48",  "64",  "100", "1024", "65535", "65536",
    "65537", "2147483648", "4611686018427387904", "9223372036854775807",
    "-9223372036854775808", "0.0", "0.5", "0.999", "1.0", "1.5", "-0.5",
    "1e-300", "1e309", "nan", "inf", "-inf", "true", "false", "abc", "bf16",
    "f32"};
const std::vector<std::string> kRewriteOpts = {
    "fraction", "budget-tokens", "budget-fraction", "coarse-fraction",
    "coarse-budget-tokens", "coarse-budget-fraction", "sink", "interval",
    "block-size", "build-iters", "update-iters", "score-position",
    "rope-theta", "replacement", "centroid-type"};
const std::vector<std::string> kGpuOpts = {
    "splits", "threads", "num-sms", "score-splits", "approx-splits",
    "score-lane-floats", "approx-lane-floats", "mma", "kmeans-split",
    "programmatic-launch", "mma-logits", "mma-approx"};
const std::vector<std::string> kElts = {"bf16", "f16", "f32", "f64", "i32",
                                        "i8"};

bool isDigit(char c) { return c >= '0' && c <= '9'; }

/// Spans [b, e) of the number literals of `t`: an optional '-', then hex
/// (0x...) or decimal digits with an optional fraction and exponent.
std::vector<std::pair<size_t, size_t>> numbers(const std::string &t) {
  std::vector<std::pair<size_t, size_t>> r;
  size_t i = 0, n = t.size();
  while (i < n) {
    if (!isDigit(t[i]) || (i > 0 && (std::isalnum(t[i - 1]) || t[i - 1] == '_'))) {
      ++i;
      continue;
    }
    size_t b = i > 0 && t[i - 1] == '-' ? i - 1 : i;
    if (t.compare(i, 2, "0x") == 0 && i + 2 < n && std::isxdigit(t[i + 2])) {
      i += 2;
      while (i < n && std::isxdigit(t[i]))
        ++i;
    } else {
      while (i < n && isDigit(t[i]))
        ++i;
      if (i + 1 < n && t[i] == '.' && isDigit(t[i + 1]))
        for (++i; i < n && isDigit(t[i]); ++i)
          ;
      if (i + 1 < n && (t[i] == 'e' || t[i] == 'E') &&
          (isDigit(t[i + 1]) || t[i + 1] == '-' || t[i + 1] == '+'))
        for (i += 2; i < n && isDigit(t[i]); ++i)
          ;
    }
    r.push_back({b, i});
  }
  return r;
}

/// Dimension sizes in shaped types: digit runs between '<' or 'x' and 'x'.
std::vector<std::pair<size_t, size_t>> dims(const std::string &t) {
  std::vector<std::pair<size_t, size_t>> r;
  for (size_t i = 1; i < t.size(); ++i) {
    if (!isDigit(t[i]) || isDigit(t[i - 1]))
      continue;
    if (t[i - 1] != '<' && t[i - 1] != 'x')
      continue;
    size_t e = i;
    while (e < t.size() && isDigit(t[e]))
      ++e;
    if (e < t.size() && t[e] == 'x')
      r.push_back({i, e});
  }
  return r;
}

void mutateText(std::string &t, Rng &rng, const std::vector<std::string> &pool) {
  if (t.empty())
    return;
  switch (rng.below(10)) {
  case 0:
  case 1: { // one number
    auto ns = numbers(t);
    if (ns.empty())
      break;
    auto [b, e] = ns[rng.below(ns.size())];
    bool isFloat = t.substr(b, e - b).find_first_of(".e") != std::string::npos ||
                   t.compare(b, 2, "0x") == 0;
    t.replace(b, e - b, isFloat && !rng.coin(4) ? rng.pick(kFloats)
                                                : rng.pick(kInts));
    break;
  }
  case 2:
  case 3: { // one dimension size, everywhere it occurs in a shape
    auto ds = dims(t);
    if (ds.empty())
      break;
    auto [b, e] = ds[rng.below(ds.size())];
    std::string from = t.substr(b, e - b);
    std::string to = rng.coin(3) ? rng.pick(kInts)
                                 : std::to_string(rng.below(3) == 0
                                                      ? 0
                                                      : 1 + rng.below(70));
    if (to[0] == '-')
      to = "0";
    unsigned which = rng.below(3); // all, or only leading / inner dims
    auto all = dims(t);
    for (auto it = all.rbegin(); it != all.rend(); ++it)
      if (t.compare(it->first, it->second - it->first, from) == 0 &&
          (which == 0 || (which == 1) == (t[it->first - 1] == '<')))
        t.replace(it->first, it->second - it->first, to);
    break;
  }
  case 4: { // element types
    std::string from = rng.pick(kElts), to = rng.pick(kElts);
    bool all = rng.coin(2);
    size_t pos = 0;
    while ((pos = t.find("x" + from, pos)) != std::string::npos) {
      t.replace(pos + 1, from.size(), to);
      pos += to.size() + 1;
      if (!all)
        break;
    }
    break;
  }
  case 5: { // lines: delete, duplicate, swap
    llvm::SmallVector<llvm::StringRef> lines;
    llvm::StringRef(t).split(lines, '\n');
    std::vector<std::string> ls(lines.begin(), lines.end());
    size_t a = rng.below(ls.size()), b = rng.below(ls.size());
    switch (rng.below(3)) {
    case 0:
      ls.erase(ls.begin() + a);
      break;
    case 1:
      ls.insert(ls.begin() + a, ls[b]);
      break;
    default:
      std::swap(ls[a], ls[b]);
    }
    t = llvm::join(ls, "\n");
    break;
  }
  case 6: { // splice a span of another seed
    const std::string &o = rng.pick(pool);
    if (o.empty())
      break;
    size_t ob = rng.below(o.size()), ol = 1 + rng.below(std::min<size_t>(200, o.size() - ob));
    size_t at = rng.below(t.size());
    if (rng.coin(2))
      t.replace(at, std::min<size_t>(ol, t.size() - at), o.substr(ob, ol));
    else
      t.insert(at, o.substr(ob, ol));
    break;
  }
  case 7: { // delete a span
    size_t at = rng.below(t.size());
    t.erase(at, 1 + rng.below(std::min<size_t>(40, t.size() - at)));
    break;
  }
  case 8: { // insert / overwrite a byte
    static const char chars[] = "<>x0123456789{}[](),:=%@#!-. \n?\"";
    size_t at = rng.below(t.size());
    char c = chars[rng.below(sizeof(chars) - 1)];
    if (rng.coin(2))
      t[at] = c;
    else
      t.insert(t.begin() + at, c);
    break;
  }
  default: { // scale attribute, a knob of the configuration
    size_t pos = t.find("outs(");
    if (pos == std::string::npos)
      break;
    size_t close = t.find(')', pos);
    if (close == std::string::npos)
      break;
    if (t.compare(close + 1, 2, " {") == 0)
      break;
    t.insert(close + 1, " {scale = " + rng.pick(kFloats) + " : f32}");
  }
  }
}

std::string mutateOpts(const std::vector<std::string> &names, Rng &rng) {
  std::string r;
  unsigned n = rng.below(4);
  for (unsigned i = 0; i < n; ++i) {
    if (!r.empty())
      r += " ";
    r += rng.pick(names) + "=" + rng.pick(kOptVals);
  }
  return r;
}

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

void collect(const std::string &path, std::vector<std::string> &files) {
  if (llvm::sys::fs::is_directory(path)) {
    std::error_code ec;
    for (llvm::sys::fs::recursive_directory_iterator it(path, ec), e;
         it != e && !ec; it.increment(ec))
      if (llvm::StringRef rel = llvm::StringRef(it->path()).drop_front(path.size());
          rel.ends_with(".mlir") && !rel.contains("/Device/") &&
          !rel.contains("/upstream-crashes/"))
        files.push_back(it->path());
  } else {
    files.push_back(path);
  }
}

std::string serialize(const Input &in) {
  std::string s = "// multipole-fuzz path: " + std::string(pathNames[in.path]) +
                  "\n// rewrite-options: " + in.rewriteOpts +
                  "\n// gpu-options: " + in.gpuOpts + "\n";
  std::string p = pipelineFor(in);
  if (!p.empty())
    s += "// reproduce: multipole-opt --pass-pipeline='builtin.module(" + p +
         ")' FILE\n";
  return s + in.text;
}

Input deserialize(llvm::StringRef s) {
  Input in;
  auto field = [&](llvm::StringRef key) {
    size_t p = s.find(key);
    if (p == llvm::StringRef::npos)
      return llvm::StringRef();
    llvm::StringRef rest = s.substr(p + key.size());
    return rest.substr(0, rest.find('\n'));
  };
  llvm::StringRef path = field("// multipole-fuzz path: ");
  for (int i = 0; i < kNumPaths; ++i)
    if (path == pathNames[i])
      in.path = i;
  in.rewriteOpts = field("// rewrite-options: ").str();
  in.gpuOpts = field("// gpu-options: ").str();
  in.text = s.str();
  return in;
}

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(
      argc, argv,
      "multipole-fuzz: deterministic mutation fuzzing of multipole-opt's "
      "paths (parse + verify, detect + rewrite, CPU pipeline, GPU "
      "conversion). Prints the inputs tried and the crashes found; exits 1 "
      "when there are crashes.\n");
  multipole::registerAllMultipolePasses();
  DialectRegistry registry;
  multipole::registerAllMultipoleDialects(registry);
  MLIRContext ctx(registry, MLIRContext::Threading::DISABLED);
  ctx.loadAllAvailableDialects();
  ctx.printOpOnDiagnostic(false);
  ctx.printStackTraceOnDiagnostic(false);

  if (!replay.empty()) {
    auto mb = llvm::MemoryBuffer::getFile(replay);
    if (!mb) {
      llvm::errs() << "cannot read " << replay << "\n";
      return 2;
    }
    Input in = deserialize((*mb)->getBuffer());
    static Shared local;
    shared = &local;
    Dl_info self;
    if (dladdr(reinterpret_cast<void *>(&runInput), &self))
      selfBase = self.dli_fbase;
    libMLIR = findLibMLIR();
    struct sigaction sa = {};
    sa.sa_handler = crashHandler;
    for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP})
      sigaction(s, &sa, nullptr);
    int rc = runInput(ctx, in, true);
    llvm::outs() << "path " << pathNames[in.path] << ": status " << rc << "\n";
    return rc;
  }

  Dl_info self;
  if (dladdr(reinterpret_cast<void *>(&runInput), &self))
    selfBase = self.dli_fbase;
  libMLIR = findLibMLIR();

  // Seeds, in a fixed order; each parseable one also in generic form.
  std::vector<std::string> files;
  for (auto &p : seedPaths)
    collect(p, files);
  std::sort(files.begin(), files.end());
  std::vector<std::string> pool;
  for (auto &f : files) {
    auto mb = llvm::MemoryBuffer::getFile(f);
    if (!mb)
      continue;
    llvm::SmallVector<llvm::StringRef> chunks;
    (*mb)->getBuffer().split(chunks, "// -----");
    for (llvm::StringRef c : chunks)
      pool.push_back(c.str());
  }
  size_t custom = pool.size();
  std::vector<size_t> valid; // seeds that parse and verify
  // Generic forms come from forked children too: a seed may crash the
  // parser (docs/Fuzzing.md lists two upstream ones).
  for (size_t i = 0; i < custom; ++i) {
    int fds[2];
    if (pipe(fds))
      break;
    llvm::outs().flush();
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 2);
      alarm(timeoutS);
      ScopedDiagnosticHandler quiet(&ctx, [](Diagnostic &) { return success(); });
      ParserConfig cfg(&ctx);
      OwningOpRef<ModuleOp> m = parseSourceString<ModuleOp>(pool[i], cfg);
      if (!m)
        _exit(1);
      std::string g;
      llvm::raw_string_ostream os(g);
      m->print(os, OpPrintingFlags().printGenericOpForm());
      for (size_t off = 0; off < g.size();) {
        ssize_t w = write(fds[1], g.data() + off, g.size() - off);
        if (w <= 0)
          _exit(1);
        off += size_t(w);
      }
      _exit(0);
    }
    close(fds[1]);
    std::string g;
    char buf[65536];
    for (ssize_t r; (r = read(fds[0], buf, sizeof(buf))) > 0;)
      g.append(buf, size_t(r));
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      continue;
    valid.push_back(i);
    valid.push_back(pool.size());
    pool.push_back(g);
  }
  if (pool.empty()) {
    llvm::errs() << "multipole-fuzz: error: no seed inputs (.mlir) found\n";
    return 2;
  }
  llvm::outs() << "multipole-fuzz: seed " << seedOpt << ", " << pool.size()
               << " seed inputs (" << custom << " chunks of " << files.size()
               << " files, " << pool.size() - custom << " in generic form)\n";
  llvm::outs().flush();

  shared = static_cast<Shared *>(mmap(nullptr, sizeof(Shared),
                                      PROT_READ | PROT_WRITE,
                                      MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  llvm::sys::fs::create_directories(crashDir);
  Rng rng(seedOpt);
  uint64_t tried = 0, crashes = 0, upstream = 0, timeouts = 0;
  uint64_t byPath[kNumPaths] = {0}, accepted = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (; tried < runs; ++tried) {
    if (maxTime > 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
                .count() > maxTime)
      break;
    Input in;
    // First every seed as is, then mutants (3 in 4 of a seed that parses).
    bool plain = tried < pool.size();
    if (plain)
      in.text = pool[tried];
    else if (!valid.empty() && !rng.coin(4))
      in.text = pool[valid[rng.below(valid.size())]];
    else
      in.text = pool[rng.below(pool.size())];
    unsigned nm = plain ? 0 : 1 + rng.below(4);
    for (unsigned i = 0; i < nm; ++i)
      mutateText(in.text, rng, pool);
    // Half the inputs only parse and verify (fast); the rest run a path.
    in.path = rng.coin(2) ? kParseVerify : 1 + rng.below(kNumPaths - 1);
    if (!rng.coin(3))
      in.rewriteOpts = mutateOpts(kRewriteOpts, rng);
    if (!rng.coin(3))
      in.gpuOpts = mutateOpts(kGpuOpts, rng);
    ++byPath[in.path];

    shared->stage = kIdle;
    shared->upstreamParser = 0;
    shared->signal = 0;
    llvm::outs().flush();
    llvm::errs().flush();
    pid_t pid = fork();
    if (pid == 0) {
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      dup2(devnull, 2);
#if !MPFUZZ_ASAN // ASan reserves terabytes of shadow address space
      struct rlimit rl = {rlim_t(memMiB) << 20, rlim_t(memMiB) << 20};
      setrlimit(RLIMIT_AS, &rl);
#endif
      static char altstack[1 << 16];
      stack_t ss = {};
      ss.ss_sp = altstack;
      ss.ss_size = sizeof(altstack);
      sigaltstack(&ss, nullptr);
      struct sigaction sa = {};
      sa.sa_handler = crashHandler;
      sa.sa_flags = SA_ONSTACK;
      for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP})
        sigaction(s, &sa, nullptr);
      alarm(timeoutS);
      _exit(runInput(ctx, in, false));
    }
    int status = 0;
    waitpid(pid, &status, 0);
    std::string what;
    if (WIFSIGNALED(status)) {
      int sig = WTERMSIG(status);
      if (sig == SIGALRM || sig == SIGKILL) {
        what = "timeout";
        ++timeouts;
      } else if (shared->upstreamParser) {
        what = "upstream-parser";
      } else {
        what = std::string("signal ") + strsignal(sig);
      }
    } else if (WIFEXITED(status)) {
      int rc = WEXITSTATUS(status);
      if (rc == 0)
        ++accepted;
      else if (rc == 3)
        what = "internal error";
      else if (rc != 1)
        what = "exit status " + std::to_string(rc);
    }
    if (what.empty())
      continue;
    bool isUpstream = what == "upstream-parser";
    (isUpstream ? upstream : crashes) += 1;
    std::string name = crashDir + "/" + (isUpstream ? "upstream-" : "crash-") +
                       std::to_string(seedOpt) + "-" + std::to_string(tried) +
                       ".mlir";
    std::error_code ec;
    llvm::raw_fd_ostream os(name, ec);
    if (!ec)
      os << "// " << what << "\n" << serialize(in);
    if (!isUpstream || verbose)
      llvm::outs() << "input " << tried << " (" << pathNames[in.path]
                   << "): " << what << " -> " << name << "\n";
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  llvm::outs() << "multipole-fuzz: " << tried << " inputs tried in "
               << llvm::format("%.1f", secs) << " s ("
               << llvm::format("%.0f", tried / std::max(secs, 1e-9))
               << "/s), seed " << seedOpt << "; by path:";
  for (int i = 0; i < kNumPaths; ++i)
    llvm::outs() << " " << pathNames[i] << " " << byPath[i];
  llvm::outs() << "; accepted " << accepted << "\n";
  llvm::outs() << "multipole-fuzz: crashes found: " << crashes
               << " (timeouts " << timeouts
               << "); upstream parser crashes (not counted): " << upstream
               << "\n";
  return crashes ? 1 : 0;
}

} // namespace mpfuzz

// Under -DMULTIPOLE_SANITIZE=ON: sanitizer reports abort (a signal, so a
// crash; their default exit status 1 would read as "diagnosed"), our signal
// handler still sees faults, and manual poisoning is off (BumpPtrAllocator
// slabs are poisoned by our instrumented code and carved by the
// uninstrumented libMLIR: false reports).
extern "C" const char *__asan_default_options() {
  return "abort_on_error=1:allow_user_segv_handler=1:handle_segv=1:"
         "allow_user_poisoning=0";
}
extern "C" const char *__ubsan_default_options() {
  return "print_stacktrace=1:halt_on_error=1:abort_on_error=1";
}

int main(int argc, char **argv) { return mpfuzz::main(argc, argv); }
