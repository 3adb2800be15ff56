//===- multipole-run.cpp - run a compiled multipole library ---------------===//
//
//   multipole-run LIB.so [--data=clustered] [--seed=0] [--len=N] ...
//
// Loads a library made by multipole-compile, reads its manifest, feeds the
// decode step (and the index build / update entry points) with inputs from
// .npy files or seeded synthetic data, and prints the error against dense
// attention computed in f64 on the host, and the time of each call.
//
//===----------------------------------------------------------------------===//

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <dlfcn.h>
#include <elf.h>
#include <map>
#include <random>
#include <regex>
#include <string>
#include <vector>

namespace cl = llvm::cl;
using llvm::errs;
using llvm::outs;

#include <utility>

namespace {
/// Entry points take one memref descriptor pointer per argument (docs/ABI.md);
/// calls `fn` with the pointers of `a` as that many arguments.
constexpr size_t kMaxEntryArgs = 48;
template <size_t... I>
void callExactly(void *fn, const std::vector<void *> &a,
                 std::index_sequence<I...>) {
  using Fn = void (*)(decltype((void)I, static_cast<void *>(nullptr))...);
  reinterpret_cast<Fn>(fn)(a[I]...);
}
template <size_t... N>
bool callWithPointersImpl(void *fn, const std::vector<void *> &a,
                          std::index_sequence<N...>) {
  bool called = false;
  ((a.size() == N + 1 &&
    (callExactly(fn, a, std::make_index_sequence<N + 1>{}), called = true)),
   ...);
  return called;
}
/// False when `a` is empty or longer than kMaxEntryArgs.
bool callWithPointers(void *fn, const std::vector<void *> &a) {
  return callWithPointersImpl(fn, a, std::make_index_sequence<kMaxEntryArgs>{});
}
} // namespace

static cl::OptionCategory cat("multipole-run options");
static cl::opt<std::string> libPath(cl::Positional, cl::desc("<library.so>"),
                                    cl::Required, cl::cat(cat));
static cl::opt<std::string> entryName(
    "entry",
    cl::desc("Entry point to run (default empty: the decode step, or the "
             "only function)"),
    cl::cat(cat));
static cl::opt<bool> listOnly("list",
                              cl::desc("Print the manifest's entry points "
                                       "and exit (default false)"),
                              cl::cat(cat));
static cl::opt<std::string> dataKind(
    "data",
    cl::desc("Synthetic data: random | clustered (keys around 32 centres, "
             "query aimed at one) | heavy (random + 8 heavy-hitter tokens per "
             "head) | sink (random + a strong attention sink at token 0) "
             "(default clustered)"),
    cl::init("clustered"), cl::cat(cat));
static cl::opt<unsigned>
    seed("seed", cl::desc("Seed of the synthetic data (default 0)"),
         cl::init(0), cl::cat(cat));
static cl::opt<std::string> qFile("q",
                                  cl::desc("Query from an .npy file (default "
                                           "empty: synthetic, see --data)"),
                                  cl::cat(cat));
static cl::opt<std::string> kFile("k",
                                  cl::desc("Key cache from an .npy file "
                                           "(default empty: synthetic)"),
                                  cl::cat(cat));
static cl::opt<std::string> vFile("v",
                                  cl::desc("Value cache from an .npy file "
                                           "(default empty: synthetic)"),
                                  cl::cat(cat));
static cl::opt<std::string>
    lensOpt("lens",
            cl::desc("Sequence lengths: one number for all, or a comma list "
                     "(default empty: the cache capacity N)"),
            cl::cat(cat));
static cl::opt<unsigned> repeat("repeat",
                                cl::desc("Timed runs of the step, the median "
                                         "is reported (default 3)"),
                                cl::init(3), cl::cat(cat));
static cl::opt<unsigned> updates(
    "updates",
    cl::desc("After the first step: grow every length by --grow tokens, call "
             "the update entry point and run the step again, this many times "
             "(default 0)"),
    cl::init(0), cl::cat(cat));
static cl::opt<unsigned> grow("grow",
                              cl::desc("Tokens added per update (default 128)"),
                              cl::init(128), cl::cat(cat));
static cl::opt<bool> checkIndex(
    "check-index",
    cl::desc(
        "Check the cluster index after build and each update: counts sum "
        "to the clustered length, centroids are member means (default false)"),
    cl::init(false), cl::cat(cat));
static cl::opt<double> maxRelError(
    "max-rel-error",
    cl::desc("Exit with status 2 if a relative error exceeds this bound "
             "(default -1: no bound)"),
    cl::init(-1.0), cl::cat(cat));

namespace {

[[noreturn]] void fail(const llvm::Twine &msg) {
  errs() << "multipole-run: error: " << msg << "\n";
  std::exit(1);
}

//===----------------------------------------------------------------------===//
// Element types
//===----------------------------------------------------------------------===//

size_t dtypeSize(llvm::StringRef d) {
  if (d == "f32" || d == "i32")
    return 4;
  if (d == "bf16" || d == "f16")
    return 2;
  if (d == "f64" || d == "i64")
    return 8;
  if (d == "i8")
    return 1;
  fail("unsupported element type '" + d + "' in the manifest");
}

uint16_t toBF16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return 0x7fc0;
  u += 0x7fffu + ((u >> 16) & 1u);
  return uint16_t(u >> 16);
}
float fromBF16(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

//===----------------------------------------------------------------------===//
// Buffers and memref descriptors
//===----------------------------------------------------------------------===//

struct Buffer {
  std::string role, dtype, io;
  std::string layout; // k / v: "BHND" or "BNHD" (manifest; "" before it)
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
  std::vector<int64_t> desc; // {alloc, aligned, offset, sizes..., strides...}
  void *dev = nullptr;        // device copy (CUDA libraries)

  int64_t numel() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  void allocate() {
    bytes.assign(size_t(numel()) * dtypeSize(dtype) + 64, 0);
    desc.clear();
    auto *p = reinterpret_cast<int64_t>(bytes.data()) ? bytes.data() : nullptr;
    desc.push_back(reinterpret_cast<int64_t>(p));
    desc.push_back(reinterpret_cast<int64_t>(p));
    desc.push_back(0);
    for (int64_t d : shape)
      desc.push_back(d);
    int64_t stride = 1;
    std::vector<int64_t> strides(shape.size());
    for (int i = int(shape.size()) - 1; i >= 0; --i) {
      strides[i] = stride;
      stride *= shape[i];
    }
    for (int64_t s : strides)
      desc.push_back(s);
  }
  float getF(int64_t i) const {
    const uint8_t *p = bytes.data() + i * dtypeSize(dtype);
    if (dtype == "f32") {
      float f;
      std::memcpy(&f, p, 4);
      return f;
    }
    if (dtype == "bf16") {
      uint16_t h;
      std::memcpy(&h, p, 2);
      return fromBF16(h);
    }
    if (dtype == "f16") {
      _Float16 h;
      std::memcpy(&h, p, 2);
      return float(h);
    }
    if (dtype == "f64") {
      double d;
      std::memcpy(&d, p, 8);
      return float(d);
    }
    fail("buffer '" + role + "' is not floating point");
  }
  void setF(int64_t i, float f) {
    uint8_t *p = bytes.data() + i * dtypeSize(dtype);
    if (dtype == "f32")
      std::memcpy(p, &f, 4);
    else if (dtype == "bf16") {
      uint16_t h = toBF16(f);
      std::memcpy(p, &h, 2);
    } else if (dtype == "f16") {
      _Float16 h = _Float16(f);
      std::memcpy(p, &h, 2);
    } else if (dtype == "f64") {
      double d = f;
      std::memcpy(p, &d, 8);
    } else
      fail("buffer '" + role + "' is not floating point");
  }
  int32_t getI(int64_t i) const {
    int32_t v;
    std::memcpy(&v, bytes.data() + i * 4, 4);
    return v;
  }
  void setI(int64_t i, int32_t v) { std::memcpy(bytes.data() + i * 4, &v, 4); }
};

std::string shapeStr(const std::vector<int64_t> &s) {
  std::string r = "(";
  for (size_t i = 0; i < s.size(); ++i)
    r += (i ? ", " : "") + std::to_string(s[i]);
  return r + ")";
}

//===----------------------------------------------------------------------===//
// CUDA runtime (libmultipole_cuda_runtime.so, loaded next to the tools)
//===----------------------------------------------------------------------===//

struct Cuda {
  void *handle = nullptr;
  int (*available)() = nullptr;
  const char *(*lastError)() = nullptr;
  void *(*malloc_)(size_t) = nullptr;
  void (*free_)(void *) = nullptr;
  int (*htod)(void *, const void *, size_t) = nullptr;
  int (*dtoh)(void *, const void *, size_t) = nullptr;
  int (*sync)() = nullptr;
  void *(*eventCreate)() = nullptr;
  int (*eventRecord)(void *, void *) = nullptr;
  float (*elapsed)(void *, void *) = nullptr;
  void *(*captureBegin)(void *) = nullptr;
  int (*captureEnd)(void *, void **) = nullptr;
  int (*graphLaunch)(void *, void *) = nullptr;
  int (*deviceName)(char *, int) = nullptr;

  /// Loads the runtime (global, so compiled libraries bind to it).
  void preload(const char *argv0) {
    std::string path;
    if (const char *env = std::getenv("MULTIPOLE_CUDA_RUNTIME"))
      path = env;
    else {
      std::string exe = llvm::sys::fs::getMainExecutable(argv0, (void *)&fail);
      llvm::SmallString<256> p(llvm::sys::path::parent_path(
          llvm::sys::path::parent_path(exe)));
      llvm::sys::path::append(p, "lib", "libmultipole_cuda_runtime.so");
      path = std::string(p);
    }
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!handle)
      return;
    auto sym = [&](auto &f, const char *n) {
      f = reinterpret_cast<std::decay_t<decltype(f)>>(dlsym(handle, n));
    };
    sym(available, "mpCudaAvailable");
    sym(lastError, "mpGetLastError");
    sym(malloc_, "mpMalloc");
    sym(free_, "mpFree");
    sym(htod, "mpMemcpyHtoD");
    sym(dtoh, "mpMemcpyDtoH");
    sym(sync, "mpSynchronize");
    sym(eventCreate, "mpEventCreate");
    sym(eventRecord, "mpEventRecord");
    sym(elapsed, "mpEventElapsedMs");
    sym(captureBegin, "mpGraphCaptureBegin");
    sym(captureEnd, "mpGraphCaptureEnd");
    sym(graphLaunch, "mpGraphLaunch");
    sym(deviceName, "mpDeviceName");
  }
  void require() {
    if (!handle || !available)
      fail("this library runs on CUDA GPUs but libmultipole_cuda_runtime.so "
           "was not found (set MULTIPOLE_CUDA_RUNTIME)");
    if (!available())
      fail(llvm::Twine("no usable CUDA GPU: ") + lastError());
  }
  void check(int rc, const char *what) {
    if (rc != 0)
      fail(llvm::Twine(what) + " failed: " + lastError());
  }
};
Cuda cuda;
bool onGpu = false;

//===----------------------------------------------------------------------===//
// Library and manifest
//===----------------------------------------------------------------------===//

struct Entry {
  std::string name, symbol, kind, step;
  std::vector<Buffer> args; // templates: role, dtype, shape, io
  void *fn = nullptr;
};

/// dlopen maps a truncated or damaged ELF file and can die of SIGBUS; check
/// that the headers and every loadable segment lie inside the file first.
void validateElf(const std::string &path) {
  auto mb = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                        /*RequiresNullTerminator=*/false);
  if (!mb)
    fail("cannot load '" + path + "': " + mb.getError().message());
  llvm::StringRef s = (*mb)->getBuffer();
  auto bad = [&](const char *why) {
    fail("cannot load '" + path + "': not a valid shared library (" + why + ")");
  };
  if (s.size() < sizeof(Elf64_Ehdr) || !s.starts_with("\x7f" "ELF"))
    bad("no ELF header");
  Elf64_Ehdr eh;
  std::memcpy(&eh, s.data(), sizeof(eh));
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_type != ET_DYN)
    bad("not a 64-bit ELF shared object");
  uint64_t size = s.size();
  if (eh.e_phentsize != sizeof(Elf64_Phdr) ||
      eh.e_phoff + uint64_t(eh.e_phnum) * sizeof(Elf64_Phdr) > size)
    bad("program headers outside the file");
  if (eh.e_shoff + uint64_t(eh.e_shnum) * eh.e_shentsize > size)
    bad("section headers outside the file: truncated?");
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    std::memcpy(&ph, s.data() + eh.e_phoff + i * sizeof(Elf64_Phdr), sizeof(ph));
    if (ph.p_type == PT_LOAD && ph.p_offset + ph.p_filesz > size)
      bad("a loadable segment lies outside the file: truncated?");
  }
}

struct Library {
  void *handle = nullptr;
  std::string target, config;
  std::vector<Entry> entries;

  void load(const std::string &given) {
    // dlopen searches the system library path for a name without '/': load
    // the file that was named (and checked) by its absolute path.
    llvm::SmallString<256> real;
    if (std::error_code ec = llvm::sys::fs::real_path(given, real))
      fail("cannot load '" + given + "': " + ec.message());
    std::string path(real);
    validateElf(path);
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle)
      fail("cannot load '" + path + "': " + dlerror());
    auto *m = static_cast<const char *>(dlsym(handle, "__multipole_manifest"));
    if (!m)
      fail("'" + path +
           "' has no __multipole_manifest: it was not made by multipole-compile");
    auto parsed = llvm::json::parse(m);
    if (!parsed)
      fail("corrupt manifest in '" + path + "': " +
           llvm::toString(parsed.takeError()));
    auto *obj = parsed->getAsObject();
    if (!obj || !obj->getArray("entries"))
      fail("corrupt manifest in '" + path + "': no entry list");
    if (auto t = obj->getString("target"))
      target = t->str();
    if (auto c = obj->getString("config"))
      config = c->str();
    for (auto &ev : *obj->getArray("entries")) {
      auto *e = ev.getAsObject();
      if (!e)
        fail("corrupt manifest: entry is not an object");
      Entry en;
      en.name = e->getString("name").value_or("").str();
      en.symbol = e->getString("symbol").value_or("").str();
      en.kind = e->getString("kind").value_or("function").str();
      en.step = e->getString("step").value_or("").str();
      auto *args = e->getArray("args");
      if (!args)
        fail("corrupt manifest: entry '" + en.name + "' has no args");
      for (auto &av : *args) {
        auto *a = av.getAsObject();
        if (!a || !a->getArray("shape"))
          fail("corrupt manifest: bad argument of '" + en.name + "'");
        Buffer b;
        b.role = a->getString("role").value_or("").str();
        b.dtype = a->getString("dtype").value_or("").str();
        b.io = a->getString("io").value_or("in").str();
        b.layout = a->getString("layout").value_or("").str();
        for (auto &d : *a->getArray("shape"))
          b.shape.push_back(d.getAsInteger().value_or(-1));
        // Every size must be positive and the buffer addressable: a damaged
        // or hand-made manifest must not reach the arithmetic below.
        size_t es = dtypeSize(b.dtype);
        uint64_t bytes = es;
        for (int64_t d : b.shape) {
          if (d < 1 || d > (int64_t(1) << 40))
            fail("corrupt manifest: argument '" + b.role + "' of '" + en.name +
                 "' has shape " + shapeStr(b.shape) +
                 ": every dimension must be in [1, 2^40]");
          if (bytes > (uint64_t(1) << 40) / uint64_t(d))
            fail("corrupt manifest: argument '" + b.role + "' of '" + en.name +
                 "' has shape " + shapeStr(b.shape) +
                 ": more than 2^40 bytes");
          bytes *= uint64_t(d);
        }
        en.args.push_back(b);
      }
      en.fn = dlsym(handle, en.symbol.c_str());
      if (!en.fn)
        fail("entry point '" + en.symbol + "' listed in the manifest is missing "
             "from '" + path + "'");
      entries.push_back(std::move(en));
    }
  }
  Entry *find(llvm::StringRef name) {
    for (auto &e : entries)
      if (e.name == name)
        return &e;
    return nullptr;
  }
  Entry *findKind(llvm::StringRef kind, llvm::StringRef step) {
    for (auto &e : entries)
      if (e.kind == kind && e.step == step)
        return &e;
    return nullptr;
  }
};

/// Binds buffers by role and calls the entry point.
double call(Entry &e, std::map<std::string, Buffer> &bufs) {
  std::vector<void *> ptrs;
  for (Buffer &t : e.args) {
    auto it = bufs.find(t.role);
    if (it == bufs.end()) {
      Buffer b = t;
      b.allocate();
      it = bufs.emplace(t.role, std::move(b)).first;
    }
    Buffer &b = it->second;
    if (b.shape != t.shape || b.dtype != t.dtype)
      fail("'" + t.role + "' of " + e.name + " expects " + t.dtype + " " +
           shapeStr(t.shape) + ", got " + b.dtype + " " + shapeStr(b.shape));
    if (onGpu) {
      size_t bytes = size_t(b.numel()) * dtypeSize(b.dtype);
      if (!b.dev) {
        b.dev = cuda.malloc_(std::max<size_t>(bytes, 1));
        if (!b.dev)
          fail("cannot allocate " + llvm::Twine(bytes) + " bytes on the GPU for '" +
               b.role + "': " + cuda.lastError());
      }
      if (t.io != "out")
        cuda.check(cuda.htod(b.dev, b.bytes.data(), bytes), "copy to the GPU");
      b.desc[0] = b.desc[1] = reinterpret_cast<int64_t>(b.dev);
    }
    ptrs.push_back(b.desc.data());
  }
  auto t0 = std::chrono::steady_clock::now();
  if (!callWithPointers(e.fn, ptrs))
    fail("entry point '" + e.name + "' has too many arguments (" +
         llvm::Twine(ptrs.size()) + ")");
  if (onGpu) {
    cuda.check(cuda.sync(), e.name.c_str());
    if (cuda.lastError()[0])
      fail("'" + e.name + "' failed on the GPU: " + cuda.lastError());
  }
  double ms = std::chrono::duration<double, std::milli>(
                  std::chrono::steady_clock::now() - t0)
                  .count();
  if (onGpu)
    for (Buffer &t : e.args)
      if (t.io != "in") {
        Buffer &b = bufs.at(t.role);
        cuda.check(cuda.dtoh(b.bytes.data(), b.dev,
                             size_t(b.numel()) * dtypeSize(b.dtype)),
                   "copy from the GPU");
      }
  return ms;
}

/// GPU: median time of the entry point replayed as a CUDA graph (inputs
/// already on the device), in ms; -1 when capture is not possible.
double graphTime(Entry &e, std::map<std::string, Buffer> &bufs, unsigned reps) {
  std::vector<void *> ptrs;
  for (Buffer &t : e.args)
    ptrs.push_back(bufs.at(t.role).desc.data());
  void *stream = cuda.captureBegin(nullptr);
  if (!stream)
    return -1;
  callWithPointers(e.fn, ptrs);
  void *exec = nullptr;
  if (cuda.captureEnd(stream, &exec) != 0 || !exec)
    return -1;
  std::vector<double> times;
  void *a = cuda.eventCreate(), *b = cuda.eventCreate();
  for (unsigned r = 0; r < reps + 3; ++r) {
    cuda.eventRecord(a, stream);
    cuda.graphLaunch(exec, stream);
    cuda.eventRecord(b, stream);
    float ms = cuda.elapsed(a, b);
    if (r >= 3)
      times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

//===----------------------------------------------------------------------===//
// Inputs
//===----------------------------------------------------------------------===//

/// Reads a little-endian .npy (f32, f64, f16, i32) into `b` (shape checked).
void loadNpy(const std::string &path, Buffer &b) {
  auto mb = llvm::MemoryBuffer::getFile(path);
  if (!mb)
    fail("cannot read '" + path + "': " + mb.getError().message());
  llvm::StringRef s = (*mb)->getBuffer();
  if (s.size() < 10 || !s.starts_with("\x93NUMPY"))
    fail("'" + path + "' is not an .npy file");
  unsigned major = uint8_t(s[6]), minor = uint8_t(s[7]);
  // Versions 1.0 and 2.0 (latin-1 header); 3.0 (UTF-8 header, only written
  // for structured dtypes with non-latin-1 names) and others are refused.
  if ((major != 1 && major != 2) || minor != 0)
    fail("'" + path + "': .npy format version " + llvm::Twine(major) + "." +
         llvm::Twine(minor) + " is not supported (1.0 or 2.0)");
  size_t hlen, hoff;
  if (major == 1) {
    hlen = uint8_t(s[8]) | (uint8_t(s[9]) << 8);
    hoff = 10;
  } else {
    if (s.size() < 12)
      fail("'" + path + "' is truncated");
    hlen = uint8_t(s[8]) | (uint8_t(s[9]) << 8) | (uint8_t(s[10]) << 16) |
           (size_t(uint8_t(s[11])) << 24);
    hoff = 12;
  }
  if (hoff + hlen > s.size())
    fail("'" + path + "' is truncated");
  std::string header = s.substr(hoff, hlen).str();
  std::smatch m;
  if (!std::regex_search(header, m, std::regex("'descr':\\s*'([<|=]?)([a-z])(\\d+)'")))
    fail("'" + path + "': cannot read the dtype");
  std::string kind = m[2].str() + m[3].str();
  if (m[1].str() == ">")
    fail("'" + path + "': big-endian arrays are not supported");
  if (std::regex_search(header, std::regex("'fortran_order':\\s*True")))
    fail("'" + path + "': Fortran-ordered arrays are not supported");
  std::vector<int64_t> shape;
  if (!std::regex_search(header, m, std::regex("'shape':\\s*\\(([^)]*)\\)")))
    fail("'" + path + "': cannot read the shape");
  llvm::SmallVector<llvm::StringRef> parts;
  llvm::StringRef(m[1].str()).split(parts, ',', -1, false);
  std::string shp = m[1].str();
  for (llvm::StringRef p : llvm::split(llvm::StringRef(shp), ',')) {
    p = p.trim();
    if (p.empty())
      continue;
    int64_t d;
    if (p.getAsInteger(10, d))
      fail("'" + path + "': bad shape");
    shape.push_back(d);
  }
  if (shape != b.shape)
    fail("'" + path + "' has shape " + shapeStr(shape) + " but '" + b.role +
         "' must be " + shapeStr(b.shape));
  size_t es = kind == "f4" || kind == "i4" ? 4 : kind == "f8" ? 8 : kind == "f2" ? 2 : 0;
  if (!es)
    fail("'" + path + "': dtype " + kind + " is not supported (use f4, f8, f2 or i4)");
  const char *data = s.data() + hoff + hlen;
  if (size_t(s.end() - data) < size_t(b.numel()) * es)
    fail("'" + path + "' is truncated: " + llvm::Twine(b.numel()) + " elements expected");
  if (size_t(s.end() - data) > size_t(b.numel()) * es)
    fail("'" + path + "' has " +
         llvm::Twine(uint64_t(size_t(s.end() - data) - size_t(b.numel()) * es)) +
         " bytes after its " + llvm::Twine(b.numel()) + " elements");
  for (int64_t i = 0; i < b.numel(); ++i) {
    double v;
    if (kind == "f4") {
      float f;
      std::memcpy(&f, data + i * 4, 4);
      v = f;
    } else if (kind == "f8") {
      std::memcpy(&v, data + i * 8, 8);
    } else if (kind == "f2") {
      _Float16 h;
      std::memcpy(&h, data + i * 2, 2);
      v = float(h);
    } else {
      int32_t x;
      std::memcpy(&x, data + i * 4, 4);
      v = x;
    }
    if (b.dtype == "i32")
      b.setI(i, int32_t(v));
    else
      b.setF(i, float(v));
  }
}

/// Synthetic q, k, v (docs in --help).
void synthesize(Buffer &q, Buffer &k, Buffer &v, const std::string &kind,
                unsigned sd) {
  int64_t B = k.shape[0], H = k.shape[1], N = k.shape[2], D = k.shape[3],
          Hq = q.numel() / (B * D), G = Hq / H;
  std::mt19937_64 rng(sd);
  std::normal_distribution<float> nd(0.f, 1.f);
  auto K = [&](int64_t b, int64_t h, int64_t j, int64_t d) {
    return ((b * H + h) * N + j) * D + d;
  };
  auto Q = [&](int64_t b, int64_t i, int64_t d) { return (b * Hq + i) * D + d; };
  for (int64_t i = 0; i < v.numel(); ++i)
    v.setF(i, nd(rng));
  if (kind == "random" || kind == "heavy" || kind == "sink") {
    for (int64_t i = 0; i < k.numel(); ++i)
      k.setF(i, nd(rng));
    for (int64_t i = 0; i < q.numel(); ++i)
      q.setF(i, nd(rng));
    if (kind == "random")
      return;
    std::uniform_int_distribution<int64_t> pos(1, std::max<int64_t>(1, N - 1));
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h) {
        // The group's mean query direction.
        std::vector<float> dir(D, 0.f);
        for (int64_t g = 0; g < G; ++g)
          for (int64_t d = 0; d < D; ++d)
            dir[d] += q.getF(Q(b, h * G + g, d)) / float(G);
        int count = kind == "heavy" ? 8 : 1;
        for (int t = 0; t < count; ++t) {
          int64_t j = kind == "sink" ? 0 : pos(rng);
          for (int64_t d = 0; d < D; ++d)
            k.setF(K(b, h, j, d), 3.0f * dir[d] + 0.1f * nd(rng));
        }
      }
    return;
  }
  if (kind != "clustered")
    fail("unknown --data kind '" + kind +
         "' (use random, clustered, heavy or sink)");
  const int C = 32;
  std::uniform_int_distribution<int> pick(0, C - 1);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      std::vector<float> centres(C * D);
      for (float &c : centres)
        c = nd(rng);
      for (int64_t j = 0; j < N; ++j) {
        int c = pick(rng);
        for (int64_t d = 0; d < D; ++d)
          k.setF(K(b, h, j, d), centres[c * D + d] + 0.5f * nd(rng));
      }
      int c0 = pick(rng), c1 = pick(rng);
      for (int64_t g = 0; g < G; ++g)
        for (int64_t d = 0; d < D; ++d)
          q.setF(Q(b, h * G + g, d), 0.8f * centres[c0 * D + d] +
                                         0.4f * centres[c1 * D + d] +
                                         0.3f * nd(rng));
    }
}

void checkFinite(const Buffer &b) {
  for (int64_t i = 0; i < b.numel(); ++i)
    if (!std::isfinite(b.getF(i)))
      fail("'" + b.role + "' contains NaN or Inf at flat index " +
           llvm::Twine(i) + ": refusing to run");
}

/// Dense decode attention in f64 (the reference). The inputs are widened once:
/// every K/V element is read by all G query heads of its group.
std::vector<double> denseReference(const Buffer &qb, const Buffer &kb,
                                   const Buffer &vb, const Buffer *lens,
                                   double scale) {
  int64_t B = kb.shape[0], H = kb.shape[1], N = kb.shape[2], D = kb.shape[3],
          Hq = qb.numel() / (B * D), G = Hq / H;
  auto widen = [](const Buffer &b) {
    std::vector<double> r(b.numel());
    for (int64_t i = 0; i < b.numel(); ++i)
      r[i] = b.getF(i);
    return r;
  };
  std::vector<double> q = widen(qb), k = widen(kb), v = widen(vb);
  std::vector<double> out(B * Hq * D, 0.0), x(N);
  for (int64_t b = 0; b < B; ++b) {
    int64_t n = lens ? std::clamp<int64_t>(lens->getI(b), 0, N) : N;
    for (int64_t i = 0; i < Hq; ++i) {
      int64_t h = i / G;
      const double *qi = &q[(b * Hq + i) * D];
      const double *kh = &k[(b * H + h) * N * D], *vh = &v[(b * H + h) * N * D];
      double mx = -INFINITY;
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t d = 0; d < D; ++d)
          s += qi[d] * kh[j * D + d];
        x[j] = s * scale;
        mx = std::max(mx, x[j]);
      }
      double l = 0;
      double *o = &out[(b * Hq + i) * D];
      for (int64_t j = 0; j < n; ++j) {
        double p = std::exp(x[j] - mx);
        l += p;
        for (int64_t d = 0; d < D; ++d)
          o[d] += p * vh[j * D + d];
      }
      for (int64_t d = 0; d < D && l > 0; ++d)
        o[d] /= l;
    }
  }
  return out;
}

double configNumber(const std::string &cfg, const std::string &key, double dflt) {
  std::smatch m;
  if (std::regex_search(cfg, m, std::regex(key + " = ([-+0-9.eE]+)")))
    return std::stod(m[1].str());
  return dflt;
}

/// The [B, Hkv, N, D] copy of the cache `role` (k or v): the library's own
/// buffer, or the canonical copy kept beside a [B, N, Hkv, D] one.
Buffer &canonical(std::map<std::string, Buffer> &bufs, const std::string &role) {
  auto it = bufs.find(role + "@bhnd");
  return it != bufs.end() ? it->second : bufs.at(role);
}

/// dst = src with axes 1 and 2 swapped (both allocated, 4-d, same element
/// type; dst.shape is src.shape with dims 1 and 2 exchanged). Element bytes
/// are copied as they are.
void swapAxes12(const Buffer &src, Buffer &dst) {
  int64_t A = src.shape[0], X = src.shape[1], Y = src.shape[2],
          Z = src.shape[3];
  size_t e = dtypeSize(src.dtype);
  for (int64_t a = 0; a < A; ++a)
    for (int64_t x = 0; x < X; ++x)
      for (int64_t y = 0; y < Y; ++y)
        std::memcpy(dst.bytes.data() + (((a * Y + y) * X + x) * Z) * e,
                    src.bytes.data() + (((a * X + x) * Y + y) * Z) * e, Z * e);
}

/// Host-side check of level 0: counts sum to Lc, centroids are the means of
/// their members' pre-RoPE keys, value centroids of their values.
bool checkLevel0(std::map<std::string, Buffer> &bufs, const std::string &cfg,
                 std::string &why) {
  Buffer &k = canonical(bufs, "k"), &v = canonical(bufs, "v");
  Buffer &cent = bufs.at("L0.centroids"), &vc = bufs.at("L0.vcentroids"),
         &cnt = bufs.at("L0.counts"), &asg = bufs.at("L0.assign"),
         &st = bufs.at("L0.state");
  int64_t B = k.shape[0], H = k.shape[1], N = k.shape[2], D = k.shape[3],
          C = cent.shape[2];
  const bool bf16 = cent.dtype == "bf16";
  double theta = configNumber(cfg, "rope_theta", 0.0);
  int64_t S = int64_t(configNumber(cfg, "sink", 16));
  double worst = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      int64_t bh = b * H + h;
      int64_t nc = st.getI(bh * 4), lc = st.getI(bh * 4 + 1);
      int64_t sum = 0;
      for (int64_t c = 0; c < nc; ++c)
        sum += cnt.getI(bh * C + c);
      if (sum != lc) {
        why = "counts of (b=" + std::to_string(b) + ", h=" + std::to_string(h) +
              ") sum to " + std::to_string(sum) + ", clustered length is " +
              std::to_string(lc);
        return false;
      }
      std::vector<double> ksum(nc * D, 0.0), vsum(nc * D, 0.0);
      std::vector<int64_t> members(nc, 0);
      for (int64_t j = S; j < S + lc && j < N; ++j) {
        int64_t c = asg.getI(bh * N + j);
        if (c < 0 || c >= nc) {
          why = "token " + std::to_string(j) + " has no valid cluster";
          return false;
        }
        ++members[c];
        std::vector<double> x(D);
        for (int64_t d = 0; d < D; ++d)
          x[d] = k.getF((bh * N + j) * D + d);
        if (theta > 0) {
          for (int64_t i = 0; i < D / 2; ++i) {
            double w = std::pow(theta, -2.0 * double(i) / double(D));
            double a = -double(j) * w, cs = std::cos(a), sn = std::sin(a);
            double x1 = x[i], x2 = x[i + D / 2];
            x[i] = x1 * cs - x2 * sn;
            x[i + D / 2] = x2 * cs + x1 * sn;
          }
        }
        for (int64_t d = 0; d < D; ++d) {
          ksum[c * D + d] += x[d];
          vsum[c * D + d] += v.getF((bh * N + j) * D + d);
        }
      }
      for (int64_t c = 0; c < nc; ++c) {
        if (members[c] != cnt.getI(bh * C + c)) {
          why = "cluster " + std::to_string(c) + " counts " +
                std::to_string(cnt.getI(bh * C + c)) + " but has " +
                std::to_string(members[c]) + " members";
          return false;
        }
        if (!members[c])
          continue;
        // bf16 centroids hold the mean rounded to 8 mantissa bits: the
        // difference is measured in units of the rounding (2^-8 of |mean|).
        for (int64_t d = 0; d < D; ++d) {
          double mk = ksum[c * D + d] / members[c], mv = vsum[c * D + d] / members[c];
          double ek = std::abs(mk - cent.getF((bh * C + c) * D + d)),
                 ev = std::abs(mv - vc.getF((bh * C + c) * D + d));
          if (bf16) {
            ek = std::max(0.0, ek - std::abs(mk) * 0x1p-8);
            ev = std::max(0.0, ev - std::abs(mv) * 0x1p-8);
          }
          worst = std::max({worst, ek, ev});
        }
      }
    }
  if (worst > 1e-3) {
    why = "a centroid differs from its members' mean by " + std::to_string(worst) +
          (bf16 ? " beyond the bf16 rounding" : "");
    return false;
  }
  why = "max |centroid - mean of members| = " + llvm::formatv("{0:e2}", worst).str() +
        (bf16 ? " beyond the bf16 rounding (2^-8 |mean|)" : "");
  return true;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

} // namespace

int main(int argc, char **argv) {
  cl::HideUnrelatedOptions(cat);
  cl::ParseCommandLineOptions(
      argc, argv,
      "multipole-run: run a library made by multipole-compile\n\n"
      "Builds the cluster index (if the library has one), runs the decode step\n"
      "and prints its relative error against dense attention computed in f64\n"
      "and the median time. Exit status: 0 ok, 1 error, 2 error bound missed.\n");
  if (maxRelError.getNumOccurrences() && !(maxRelError >= 0.0))
    fail("--max-rel-error must be a number >= 0, got " +
         std::to_string(double(maxRelError)));
  cuda.preload(argv[0]);
  Library lib;
  lib.load(libPath);
  if (lib.target == "cuda" && !listOnly) {
    cuda.require();
    onGpu = true;
    char name[256] = {0};
    if (cuda.deviceName)
      cuda.deviceName(name, sizeof(name));
    outs() << "device: " << name << "\n";
  }
  if (listOnly) {
    outs() << "target: " << lib.target << "\n";
    if (!lib.config.empty())
      outs() << "config: " << lib.config << "\n";
    for (auto &e : lib.entries) {
      outs() << e.kind << " " << e.name << " (" << e.symbol << ")\n";
      for (auto &a : e.args)
        outs() << "    " << a.io << " " << a.role << ": " << a.dtype << " "
               << shapeStr(a.shape) << "\n";
    }
    return 0;
  }
  Entry *step = nullptr;
  if (!entryName.empty()) {
    step = lib.find(entryName);
    if (!step) {
      std::string names;
      for (auto &e : lib.entries)
        names += " " + e.name;
      fail("no entry point '" + entryName + "' in '" + libPath +
           "'; it has:" + names);
    }
  } else {
    for (auto &e : lib.entries)
      if (e.kind == "step")
        step = &e;
    if (!step && lib.entries.size() == 1)
      step = &lib.entries.front();
    if (!step)
      fail("several entry points and none is a decode step: pick one with "
           "--entry (see --list)");
  }
  Entry *build = lib.findKind("build", step->name);
  Entry *update = lib.findKind("update", step->name);
  if (checkIndex && !build)
    fail("--check-index: entry point '" + step->name +
         "' has no cluster index (no build entry point: a dense library?)");

  // Inputs by role.
  std::map<std::string, Buffer> bufs;
  const Buffer *qT = nullptr, *kT = nullptr, *vT = nullptr, *lT = nullptr,
               *oT = nullptr;
  for (auto &a : step->args) {
    if (a.role == "q" || a.role == "arg0") qT = &a;
    else if (a.role == "k" || a.role == "arg1") kT = &a;
    else if (a.role == "v" || a.role == "arg2") vT = &a;
    else if (a.role == "lens") lT = &a;
    else if (a.io == "out") oT = &a;
  }
  if (!qT || !kT || !vT || !oT || kT->shape.size() != 4)
    fail("entry point '" + step->name +
         "' does not look like decode attention (q [B,Hq,D], k/v [B,Hkv,N,D], "
         "one output); roles are missing from the manifest");
  // k / v in the caller's [B, N, Hkv, D] layout (manifest "BNHD"): data are
  // synthesised and checked as [B, Hkv, N, D] (the canonical copies
  // "k@bhnd" / "v@bhnd") and handed to the library transposed.
  const bool kBNHD = kT->layout == "BNHD", vBNHD = vT->layout == "BNHD";
  if (kBNHD != vBNHD || (!kT->layout.empty() && kT->layout != "BHND" && !kBNHD) ||
      (!vT->layout.empty() && vT->layout != "BHND" && !vBNHD))
    fail("entry point '" + step->name + "': k / v layouts \"" + kT->layout +
         "\" / \"" + vT->layout + "\" (manifest); multipole-run takes both "
         "\"BHND\" or both \"BNHD\"");
  if (vT->shape != kT->shape)
    fail("entry point '" + step->name + "': k " + shapeStr(kT->shape) +
         " and v " + shapeStr(vT->shape) + " differ");
  // q and the output may carry unit dims (e.g. [B,Hq,1,D] from an importer):
  // their row-major data is that of [B,Hq,D].
  {
    int64_t Bk = kT->shape[0], Dk = kT->shape[3];
    if (qT->numel() % (Bk * Dk) || oT->numel() != qT->numel() ||
        qT->shape.front() != Bk || qT->shape.back() != Dk)
      fail("entry point '" + step->name + "': q " + shapeStr(qT->shape) +
           " and output " + shapeStr(oT->shape) +
           " do not match the key cache " + shapeStr(kT->shape));
  }
  Buffer q = *qT, k = *kT, v = *vT; // k, v: canonical [B, Hkv, N, D]
  q.role = "q";
  k.role = "k";
  v.role = "v";
  if (kBNHD) {
    std::swap(k.shape[1], k.shape[2]);
    std::swap(v.shape[1], v.shape[2]);
    k.layout = v.layout = "BHND";
  }
  q.allocate();
  k.allocate();
  v.allocate();
  synthesize(q, k, v, dataKind, seed);
  if (!qFile.empty()) loadNpy(qFile, q);
  // --k / --v files are in the library's layout.
  Buffer kL = *kT, vL = *vT;
  kL.role = "k";
  vL.role = "v";
  kL.allocate();
  vL.allocate();
  for (auto [file, canon, lib] : {std::tuple(&kFile, &k, &kL),
                                  std::tuple(&vFile, &v, &vL)}) {
    if (!kBNHD) {
      if (!file->empty())
        loadNpy(*file, *canon);
      continue;
    }
    if (!file->empty()) {
      loadNpy(*file, *lib);
      swapAxes12(*lib, *canon);
    } else {
      swapAxes12(*canon, *lib);
    }
  }
  checkFinite(q);
  checkFinite(k);
  checkFinite(v);
  int64_t B = k.shape[0], N = k.shape[2], D = k.shape[3];
  std::vector<int64_t> lens(B, N);
  if (!lensOpt.empty()) {
    llvm::SmallVector<llvm::StringRef> parts;
    llvm::StringRef(lensOpt).split(parts, ',');
    if (parts.size() != 1 && int64_t(parts.size()) != B)
      fail("--lens has " + llvm::Twine(parts.size()) + " values, batch is " +
           llvm::Twine(B));
    for (int64_t b = 0; b < B; ++b) {
      int64_t x;
      if (parts[parts.size() == 1 ? 0 : b].trim().getAsInteger(10, x) || x < 0 || x > N)
        fail("--lens: '" + parts[parts.size() == 1 ? 0 : b] +
             "' is not a length in [0, " + llvm::Twine(N) + "]");
      lens[b] = x;
    }
  }
  Buffer lensBuf;
  lensBuf.role = "lens";
  lensBuf.dtype = "i32";
  lensBuf.shape = {B};
  lensBuf.allocate();
  auto setLens = [&]() {
    for (int64_t b = 0; b < B; ++b)
      lensBuf.setI(b, int32_t(lens[b]));
    bufs["lens"] = lensBuf;
    bufs["lens"].allocate();
    for (int64_t b = 0; b < B; ++b)
      bufs["lens"].setI(b, int32_t(lens[b]));
  };
  if (!lT && !lensOpt.empty())
    fail("entry point '" + step->name + "' takes no lengths; drop --lens");
  bufs["q"] = q;
  bufs["q"].allocate();
  std::memcpy(bufs["q"].bytes.data(), q.bytes.data(), q.bytes.size());
  for (auto *src : kBNHD ? std::initializer_list<Buffer *>{&kL, &vL}
                         : std::initializer_list<Buffer *>{&k, &v}) {
    Buffer &dst = bufs[src->role];
    dst = *src;
    dst.allocate();
    std::memcpy(dst.bytes.data(), src->bytes.data(), src->bytes.size());
  }
  if (kBNHD) { // the canonical copies, for the reference and the index check
    bufs["k@bhnd"] = k;
    bufs["v@bhnd"] = v;
  }
  setLens();
  // Positional roles (functions compiled without the rewrite).
  for (auto &a : step->args)
    if (a.role.rfind("arg", 0) == 0 && a.io == "in") {
      const char *r = a.role == "arg0" ? "q" : a.role == "arg1" ? "k" : a.role == "arg2" ? "v" : nullptr;
      if (r) {
        bufs[a.role] = bufs[r];
        bufs[a.role].allocate();
        std::memcpy(bufs[a.role].bytes.data(), bufs[r].bytes.data(), bufs[r].bytes.size());
      }
    }

  double scale = 1.0 / std::sqrt(double(D));
  outs() << "library: " << libPath << " (target " << lib.target << ")\n";
  outs() << "entry: " << step->name << "  B=" << B << " Hq=" << q.numel() / (B * D)
         << " Hkv=" << k.shape[1] << " N=" << N << " D=" << D
         << " dtype=" << q.dtype << "  data=" << dataKind << " seed=" << seed
         << "\n";
  int status = 0;
  auto runStep = [&](const char *label) {
    std::vector<double> times;
    for (unsigned r = 0; r < std::max(1u, unsigned(repeat)); ++r)
      times.push_back(call(*step, bufs));
    const Buffer &o = bufs.at(oT->role);
    auto ref = denseReference(bufs["q"], canonical(bufs, "k"), canonical(bufs, "v"),
                              lT ? &bufs["lens"] : nullptr, scale);
    double num = 0, den = 0, maxAbs = 0;
    for (int64_t i = 0; i < o.numel(); ++i) {
      double x = o.getF(i);
      if (!std::isfinite(x))
        fail(llvm::Twine(label) + ": the output has NaN or Inf at flat index " +
             llvm::Twine(i));
      num += (x - ref[i]) * (x - ref[i]);
      den += ref[i] * ref[i];
      maxAbs = std::max(maxAbs, std::abs(x - ref[i]));
    }
    double rel = std::sqrt(num / std::max(den, 1e-300));
    std::string ls;
    for (int64_t b = 0; b < B; ++b)
      ls += (b ? "," : "") + std::to_string(lens[b]);
    outs() << llvm::format("%-8s lens=[%s]  time %.3f ms (median of %u)  "
                           "rel error vs dense f64 %.3e  max abs %.3e\n",
                           label, ls.c_str(), median(times),
                           std::max(1u, unsigned(repeat)), rel, maxAbs);
    if (onGpu) {
      double g = graphTime(*step, bufs, std::max(5u, unsigned(repeat)));
      if (g >= 0)
        outs() << llvm::format("%-8s GPU time as a CUDA graph: %.4f ms (median)\n",
                               label, g);
    }
    if (maxRelError >= 0 && rel > maxRelError) {
      errs() << "multipole-run: " << label << ": relative error " << rel
             << " exceeds --max-rel-error=" << maxRelError << "\n";
      status = 2;
    }
  };
  auto maybeCheck = [&](const char *when) {
    if (!checkIndex)
      return;
    if (!bufs.count("L0.state"))
      fail("--check-index: the library has no cluster index");
    std::string why;
    bool ok = checkLevel0(bufs, lib.config, why);
    outs() << "index after " << when << ": " << (ok ? "OK" : "FAILED") << " ("
           << why << ")\n";
    if (!ok)
      status = 2;
  };
  if (build) {
    double t = call(*build, bufs);
    int64_t nc = 0, lc = 0;
    auto &st = bufs.at("L0.state");
    for (int64_t i = 0; i < st.numel() / 4; ++i) {
      nc += st.getI(i * 4);
      lc += st.getI(i * 4 + 1);
    }
    int64_t heads = st.numel() / 4;
    outs() << llvm::format("build    %s: %.1f ms, %.1f clusters and %.1f "
                           "clustered tokens per (sequence, KV head)\n",
                           build->name.c_str(), t, double(nc) / heads,
                           double(lc) / heads);
    maybeCheck("build");
  }
  runStep("step");
  for (unsigned u = 0; u < updates; ++u) {
    if (!update)
      fail("--updates: the library has no update entry point");
    for (auto &l : lens)
      l = std::min<int64_t>(N, l + grow);
    setLens();
    double t = call(*update, bufs);
    outs() << llvm::format("update   %s: %.1f ms\n", update->name.c_str(), t);
    maybeCheck("update");
    runStep("step");
  }
  return status;
}
