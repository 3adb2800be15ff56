//===- CudaRuntime.cpp - CUDA runtime for compiled Multipole host code ----===//
//
// Implements the `mgpu*` functions that MLIR 22's gpu-to-llvm lowering calls,
// plus a small C API (`mp*`) for clients, on top of the CUDA driver API. The
// driver is loaded with dlopen on first use; no CUDA library is linked and no
// CUDA header is needed (see CudaDriverTypes.h). Failures are recorded in a
// per-thread error slot and never abort. Semantics are documented in
// include/multipole/Runtime/CudaRuntime.h.
//
//===----------------------------------------------------------------------===//

// Every function declared in the public header is exported; everything else
// in this library is hidden (the target is built with -fvisibility=hidden).
#pragma GCC visibility push(default)
#include "multipole/Runtime/CudaRuntime.h"
#pragma GCC visibility pop

#include "CudaDriverTypes.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <iterator>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

using namespace mpcu;

namespace {

//===----------------------------------------------------------------------===//
// Per-thread error slot
//===----------------------------------------------------------------------===//

// Trivially destructible so that it stays usable during process exit (the
// global destructors of compiled libraries call mgpuModuleUnload).
struct ErrorSlot {
  int code;
  int count;
  char message[2048];
};
thread_local ErrorSlot tlError;

bool verbose() {
  static const bool on = [] {
    const char *v = std::getenv("MULTIPOLE_CUDA_VERBOSE");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  return on;
}

__attribute__((format(printf, 2, 3))) void recordError(int code,
                                                       const char *fmt, ...) {
  if (code == MP_SUCCESS)
    code = MP_ERROR_INVALID_ARGUMENT;
  char text[sizeof(ErrorSlot::message)];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(text, sizeof(text), fmt, ap);
  va_end(ap);
  if (verbose())
    std::fprintf(stderr, "multipole-cuda: error %d: %s\n", code, text);
  ErrorSlot &slot = tlError;
  ++slot.count;
  if (slot.code != MP_SUCCESS)
    return; // Keep the first error: it is the cause.
  slot.code = code;
  std::memcpy(slot.message, text, sizeof(text));
}

//===----------------------------------------------------------------------===//
// The driver
//===----------------------------------------------------------------------===//

constexpr int kMaxDevices = 64;
constexpr int kDefaultSmemLimit = 48 * 1024;

struct DeviceState {
  std::atomic<int> state{0}; // 0: not tried, 1: usable, 2: failed
  int failCode = 0;
  char failMessage[512] = {0};
  Device device = 0;
  Context context = nullptr;
  int smCount = 0;
  int computeCapability = 0;
  int maxSmemOptin = kDefaultSmemLimit;
  bool memoryPools = false;
  char name[256] = {0};
};

struct Driver {
  void *library = nullptr;
  bool usable = false;
  int failCode = 0;
  char failMessage[1024] = {0};
  int version = 0;
  bool asyncAlloc = true; // MULTIPOLE_CUDA_ALLOC != "sync"

  // Required entry points.
  fn::Init init = nullptr;
  fn::DriverGetVersion driverGetVersion = nullptr;
  fn::DeviceGetCount deviceGetCount = nullptr;
  fn::DeviceGet deviceGet = nullptr;
  fn::DeviceGetName deviceGetName = nullptr;
  fn::DeviceGetAttribute deviceGetAttribute = nullptr;
  fn::DevicePrimaryCtxRetain devicePrimaryCtxRetain = nullptr;
  fn::CtxGetCurrent ctxGetCurrent = nullptr;
  fn::CtxSetCurrent ctxSetCurrent = nullptr;
  fn::CtxSynchronize ctxSynchronize = nullptr;
  fn::GetErrorString getErrorString = nullptr;
  fn::GetErrorString getErrorName = nullptr;
  fn::ModuleLoadDataEx moduleLoadDataEx = nullptr;
  fn::ModuleUnload moduleUnload = nullptr;
  fn::ModuleGetFunction moduleGetFunction = nullptr;
  fn::FuncSetAttribute funcSetAttribute = nullptr;
  fn::LaunchKernel launchKernel = nullptr;
  fn::StreamCreate streamCreate = nullptr;
  fn::StreamSynchronize streamSynchronize = nullptr;
  fn::StreamDestroy streamDestroy = nullptr;
  fn::StreamWaitEvent streamWaitEvent = nullptr;
  fn::MemAlloc memAlloc = nullptr;
  fn::MemFree memFree = nullptr;
  fn::Memcpy memcpySync = nullptr;
  fn::MemcpyAsync memcpyAsync = nullptr;
  fn::MemsetD32Async memsetD32Async = nullptr;
  fn::MemsetD16Async memsetD16Async = nullptr;
  fn::EventCreate eventCreate = nullptr;
  fn::EventRecord eventRecord = nullptr;
  fn::EventDestroy eventDestroy = nullptr;
  fn::EventSynchronize eventSynchronize = nullptr;
  fn::EventElapsedTime eventElapsedTime = nullptr;

  // Optional entry points (newer drivers); callers check for null.
  fn::LaunchKernelEx launchKernelEx = nullptr;
  fn::StreamIsCapturing streamIsCapturing = nullptr;
  fn::StreamBeginCapture streamBeginCapture = nullptr;
  fn::StreamEndCapture streamEndCapture = nullptr;
  fn::GraphInstantiateWithFlags graphInstantiate = nullptr;
  fn::GraphLaunch graphLaunch = nullptr;
  fn::GraphExecDestroy graphExecDestroy = nullptr;
  fn::GraphDestroy graphDestroy = nullptr;
  fn::MemAllocManaged memAllocManaged = nullptr;
  fn::MemAllocAsync memAllocAsync = nullptr;
  fn::MemFreeAsync memFreeAsync = nullptr;
  fn::DeviceGetDefaultMemPool deviceGetDefaultMemPool = nullptr;
  fn::MemPoolSetAttribute memPoolSetAttribute = nullptr;
  fn::MemHostRegister memHostRegister = nullptr;
  fn::MemHostUnregister memHostUnregister = nullptr;
  fn::TensorMapEncodeTiled tensorMapEncodeTiled = nullptr;

  std::mutex deviceMutex;
  DeviceState devices[kMaxDevices];
};

// Leaked on purpose: no destructor runs at exit.
Driver &theDriver() {
  static Driver *driver = new Driver();
  return *driver;
}

std::once_flag initOnce;

std::atomic<int> currentDevice{-1}; // -1: take MULTIPOLE_CUDA_DEVICE or 0
std::atomic<StreamSt *> defaultStream{nullptr};
std::atomic<bool> defaultStreamSync{true};

// The entry-point call in progress on this thread (mpCallBegin ..
// mpCallEnd). `active` tells the caller's legacy NULL stream (a valid stream:
// torch's default stream is handle 0) apart from "no call".
struct CallContext {
  bool active = false;
  void *stream = nullptr;
  // Launch kernels with programmatic stream serialization (the call's flags,
  // the device and the environment allow it).
  bool programmaticLaunch = false;
};
thread_local CallContext tlCall;
// True while a call runs and `s` is its stream.
bool isCallStream(void *s) { return tlCall.active && s == tlCall.stream; }

template <typename F>
bool resolve(void *library, F &slot,
             std::initializer_list<const char *> names) {
  for (const char *name : names) {
    if (void *symbol = dlsym(library, name)) {
      slot = reinterpret_cast<F>(symbol);
      return true;
    }
  }
  return false;
}

// "<description> (<CUDA_ERROR_NAME>)", with fallbacks for drivers (or the
// toolkit's stub library) that cannot describe their own errors.
struct ErrorText {
  char text[256];
};
ErrorText describe(const Driver &d, Result r) {
  const char *text = nullptr, *name = nullptr;
  if (d.getErrorString && d.getErrorString(r, &text) != kSuccess)
    text = nullptr;
  if (d.getErrorName && d.getErrorName(r, &name) != kSuccess)
    name = nullptr;
  if (!name) {
    switch (r) {
    case kErrorStubLibrary:
      name = "CUDA_ERROR_STUB_LIBRARY";
      text = text ? text : "the CUDA toolkit's stub libcuda, not a driver";
      break;
    case kErrorNoDevice:
      name = "CUDA_ERROR_NO_DEVICE";
      break;
    default:
      break;
    }
  }
  ErrorText out;
  if (text && name)
    std::snprintf(out.text, sizeof(out.text), "%s (%s)", text, name);
  else if (name)
    std::snprintf(out.text, sizeof(out.text), "%s", name);
  else if (text)
    std::snprintf(out.text, sizeof(out.text), "%s (CUDA error %d)", text, r);
  else
    std::snprintf(out.text, sizeof(out.text), "CUDA error %d", r);
  return out;
}

void initDriver(Driver &d) {
  const char *alloc = std::getenv("MULTIPOLE_CUDA_ALLOC");
  d.asyncAlloc = !(alloc && std::strcmp(alloc, "sync") == 0);

  const char *name = std::getenv("MULTIPOLE_LIBCUDA");
  if (!name || !*name)
    name = "libcuda.so.1";
  d.library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (!d.library) {
    const char *why = dlerror();
    d.failCode = MP_ERROR_NO_DRIVER;
    if (!why || std::strstr(why, "No such file"))
      std::snprintf(d.failMessage, sizeof(d.failMessage),
                    "no CUDA driver (%s not found)", name);
    else
      std::snprintf(d.failMessage, sizeof(d.failMessage),
                    "no CUDA driver (%s could not be loaded: %s)", name, why);
    return;
  }

  const char *missing = nullptr;
  auto need = [&](auto &slot, std::initializer_list<const char *> names) {
    if (!resolve(d.library, slot, names) && !missing)
      missing = *names.begin();
  };
  need(d.init, {"cuInit"});
  need(d.driverGetVersion, {"cuDriverGetVersion"});
  need(d.deviceGetCount, {"cuDeviceGetCount"});
  need(d.deviceGet, {"cuDeviceGet"});
  need(d.deviceGetName, {"cuDeviceGetName"});
  need(d.deviceGetAttribute, {"cuDeviceGetAttribute"});
  need(d.devicePrimaryCtxRetain, {"cuDevicePrimaryCtxRetain"});
  need(d.ctxGetCurrent, {"cuCtxGetCurrent"});
  need(d.ctxSetCurrent, {"cuCtxSetCurrent"});
  need(d.ctxSynchronize, {"cuCtxSynchronize"});
  need(d.getErrorString, {"cuGetErrorString"});
  need(d.getErrorName, {"cuGetErrorName"});
  need(d.moduleLoadDataEx, {"cuModuleLoadDataEx"});
  need(d.moduleUnload, {"cuModuleUnload"});
  need(d.moduleGetFunction, {"cuModuleGetFunction"});
  need(d.funcSetAttribute, {"cuFuncSetAttribute"});
  need(d.launchKernel, {"cuLaunchKernel"});
  need(d.streamCreate, {"cuStreamCreate"});
  need(d.streamSynchronize, {"cuStreamSynchronize"});
  need(d.streamDestroy, {"cuStreamDestroy_v2", "cuStreamDestroy"});
  need(d.streamWaitEvent, {"cuStreamWaitEvent"});
  need(d.memAlloc, {"cuMemAlloc_v2"});
  need(d.memFree, {"cuMemFree_v2"});
  need(d.memcpySync, {"cuMemcpy"});
  need(d.memcpyAsync, {"cuMemcpyAsync"});
  need(d.memsetD32Async, {"cuMemsetD32Async"});
  need(d.memsetD16Async, {"cuMemsetD16Async"});
  need(d.eventCreate, {"cuEventCreate"});
  need(d.eventRecord, {"cuEventRecord"});
  need(d.eventDestroy, {"cuEventDestroy_v2", "cuEventDestroy"});
  need(d.eventSynchronize, {"cuEventSynchronize"});
  need(d.eventElapsedTime, {"cuEventElapsedTime_v2", "cuEventElapsedTime"});

  resolve(d.library, d.launchKernelEx, {"cuLaunchKernelEx"});
  resolve(d.library, d.streamIsCapturing, {"cuStreamIsCapturing"});
  resolve(d.library, d.streamBeginCapture, {"cuStreamBeginCapture_v2"});
  resolve(d.library, d.streamEndCapture, {"cuStreamEndCapture"});
  resolve(d.library, d.graphInstantiate, {"cuGraphInstantiateWithFlags"});
  resolve(d.library, d.graphLaunch, {"cuGraphLaunch"});
  resolve(d.library, d.graphExecDestroy, {"cuGraphExecDestroy"});
  resolve(d.library, d.graphDestroy, {"cuGraphDestroy"});
  resolve(d.library, d.memAllocManaged, {"cuMemAllocManaged"});
  resolve(d.library, d.memAllocAsync, {"cuMemAllocAsync"});
  resolve(d.library, d.memFreeAsync, {"cuMemFreeAsync"});
  resolve(d.library, d.deviceGetDefaultMemPool, {"cuDeviceGetDefaultMemPool"});
  resolve(d.library, d.memPoolSetAttribute, {"cuMemPoolSetAttribute"});
  resolve(d.library, d.memHostRegister, {"cuMemHostRegister_v2"});
  resolve(d.library, d.memHostUnregister, {"cuMemHostUnregister"});
  resolve(d.library, d.tensorMapEncodeTiled, {"cuTensorMapEncodeTiled"});

  if (missing) {
    d.failCode = MP_ERROR_DRIVER_TOO_OLD;
    std::snprintf(d.failMessage, sizeof(d.failMessage),
                  "no usable CUDA driver (%s lacks %s)", name, missing);
    return;
  }

  Result r = d.init(0);
  if (r != kSuccess) {
    d.failCode = r;
    std::snprintf(d.failMessage, sizeof(d.failMessage),
                  "no usable CUDA driver: cuInit failed: %s",
                  describe(d, r).text);
    return;
  }
  d.driverGetVersion(&d.version);
  d.usable = true;
}

// Retains the primary context of device `ordinal` and caches its properties.
DeviceState *deviceState(Driver &d, int ordinal) {
  if (ordinal < 0 || ordinal >= kMaxDevices) {
    recordError(MP_ERROR_INVALID_ARGUMENT, "invalid CUDA device ordinal %d",
                ordinal);
    return nullptr;
  }
  DeviceState &ds = d.devices[ordinal];
  int state = ds.state.load(std::memory_order_acquire);
  if (state == 0) {
    std::lock_guard<std::mutex> lock(d.deviceMutex);
    state = ds.state.load(std::memory_order_relaxed);
    if (state == 0) {
      auto fail = [&](Result r, const char *call) {
        ds.failCode = r;
        std::snprintf(ds.failMessage, sizeof(ds.failMessage),
                      "CUDA device %d unusable: %s failed: %s", ordinal, call,
                      describe(d, r).text);
        return 2;
      };
      int count = 0;
      Result r = d.deviceGetCount(&count);
      if (r != kSuccess) {
        state = fail(r, "cuDeviceGetCount");
      } else if (ordinal >= count) {
        ds.failCode = MP_ERROR_INVALID_ARGUMENT;
        std::snprintf(ds.failMessage, sizeof(ds.failMessage),
                      "no CUDA device %d (%d device%s present)", ordinal, count,
                      count == 1 ? "" : "s");
        state = 2;
      } else if ((r = d.deviceGet(&ds.device, ordinal)) != kSuccess) {
        state = fail(r, "cuDeviceGet");
      } else if ((r = d.devicePrimaryCtxRetain(&ds.context, ds.device)) !=
                 kSuccess) {
        state = fail(r, "cuDevicePrimaryCtxRetain");
      } else {
        int v = 0;
        if (d.deviceGetAttribute(&v, kDevAttrMultiprocessorCount, ds.device) ==
            kSuccess)
          ds.smCount = v;
        int major = 0, minor = 0;
        if (d.deviceGetAttribute(&major, kDevAttrComputeCapabilityMajor,
                                 ds.device) == kSuccess &&
            d.deviceGetAttribute(&minor, kDevAttrComputeCapabilityMinor,
                                 ds.device) == kSuccess)
          ds.computeCapability = 10 * major + minor;
        if (d.deviceGetAttribute(&v, kDevAttrMaxSharedMemoryPerBlockOptin,
                                 ds.device) == kSuccess &&
            v > 0)
          ds.maxSmemOptin = v;
        if (d.deviceGetAttribute(&v, kDevAttrMemoryPoolsSupported, ds.device) ==
            kSuccess)
          ds.memoryPools = v != 0 && d.memAllocAsync && d.memFreeAsync;
        if (d.deviceGetName(ds.name, sizeof(ds.name) - 1, ds.device) !=
            kSuccess)
          ds.name[0] = 0;
        // Keep freed stream-ordered memory cached in the default pool instead
        // of returning it to the OS at every synchronization.
        if (ds.memoryPools && d.asyncAlloc && d.deviceGetDefaultMemPool &&
            d.memPoolSetAttribute) {
          MemPool pool = nullptr;
          if (d.deviceGetDefaultMemPool(&pool, ds.device) == kSuccess) {
            std::uint64_t threshold = ~std::uint64_t(0);
            d.memPoolSetAttribute(pool, kMemPoolAttrReleaseThreshold,
                                  &threshold);
          }
        }
        state = 1;
      }
      ds.state.store(state, std::memory_order_release);
    }
  }
  if (state != 1) {
    recordError(ds.failCode, "%s", ds.failMessage);
    return nullptr;
  }
  return &ds;
}

int deviceOrdinal() {
  int ordinal = currentDevice.load(std::memory_order_relaxed);
  if (ordinal >= 0)
    return ordinal;
  const char *env = std::getenv("MULTIPOLE_CUDA_DEVICE");
  ordinal = env && *env ? std::atoi(env) : 0;
  int expected = -1;
  currentDevice.compare_exchange_strong(expected, ordinal);
  return currentDevice.load(std::memory_order_relaxed);
}

// The driver, initialised, with the current device's primary context current
// on this thread; or null with the reason recorded.
Driver *ready(DeviceState **deviceOut = nullptr) {
  Driver &d = theDriver();
  std::call_once(initOnce, [&] { initDriver(d); });
  if (!d.usable) {
    recordError(d.failCode, "%s", d.failMessage);
    return nullptr;
  }
  DeviceState *ds = deviceState(d, deviceOrdinal());
  if (!ds)
    return nullptr;
  Context current = nullptr;
  if (d.ctxGetCurrent(&current) != kSuccess || current != ds->context) {
    Result r = d.ctxSetCurrent(ds->context);
    if (r != kSuccess) {
      recordError(r, "cuCtxSetCurrent failed: %s", describe(d, r).text);
      return nullptr;
    }
  }
  if (deviceOut)
    *deviceOut = ds;
  return &d;
}

bool check(const Driver &d, Result r, const char *call) {
  if (r == kSuccess)
    return true;
  recordError(r, "%s failed: %s", call, describe(d, r).text);
  return false;
}

bool requireEntry(const void *entry, const char *name) {
  if (entry)
    return true;
  recordError(MP_ERROR_DRIVER_TOO_OLD, "the CUDA driver lacks %s", name);
  return false;
}

Stream asStream(void *s) { return static_cast<Stream>(s); }
Event asEvent(void *e) { return static_cast<Event>(e); }
DevicePtr asDevicePtr(const void *p) {
  return static_cast<DevicePtr>(reinterpret_cast<std::uintptr_t>(p));
}
void *asPointer(DevicePtr p) {
  return reinterpret_cast<void *>(static_cast<std::uintptr_t>(p));
}

// True when `s` is capturing (or its capture was invalidated and not yet
// ended): then synchronizing it must not happen.
bool isCapturing(const Driver &d, Stream s) {
  if (!d.streamIsCapturing)
    return false;
  int status = kCaptureStatusNone;
  if (d.streamIsCapturing(s, &status) != kSuccess)
    return false;
  return status != kCaptureStatusNone;
}

// The stream a client call with `s == NULL` means.
Stream clientStream(void *s) {
  return s ? asStream(s) : defaultStream.load(std::memory_order_acquire);
}

//===----------------------------------------------------------------------===//
// Stream-ordered allocations (cuMemAllocAsync) must be freed with
// cuMemFreeAsync; remember which pointers they are.
//===----------------------------------------------------------------------===//

struct PoolPointers {
  std::mutex mutex;
  std::unordered_set<DevicePtr> pointers;
};
PoolPointers &poolPointers() {
  static PoolPointers *p = new PoolPointers();
  return *p;
}
void rememberPoolPointer(DevicePtr p) {
  PoolPointers &pp = poolPointers();
  std::lock_guard<std::mutex> lock(pp.mutex);
  pp.pointers.insert(p);
}
bool forgetPoolPointer(DevicePtr p) {
  PoolPointers &pp = poolPointers();
  std::lock_guard<std::mutex> lock(pp.mutex);
  return pp.pointers.erase(p) != 0;
}

//===----------------------------------------------------------------------===//
// Modules
//===----------------------------------------------------------------------===//

// What mgpuModuleLoad returns: the loaded module, or why it failed (re-reported
// by every mgpuModuleGetFunction, since the load runs in a global constructor
// on whichever thread loaded the compiled library), and a kernel cache.
struct LoadedModule {
  Module module = nullptr;
  int failCode = 0;
  std::string failMessage;
  std::mutex mutex;
  std::vector<std::pair<std::string, Function>> functions;
};

bool looksLikeBinaryImage(const void *data, size_t size) {
  const unsigned char *p = static_cast<const unsigned char *>(data);
  if (size < 4)
    return false;
  std::uint32_t word;
  std::memcpy(&word, p, 4);
  return (p[0] == 0x7f && p[1] == 'E' && p[2] == 'L' && p[3] == 'F') ||
         word == 0xBA55ED50u /* fatbin */ || word == 0x466243B1u /* wrapper */;
}

void *loadModule(const void *image, int optLevel, const char *what) {
  auto *m = new (std::nothrow) LoadedModule();
  if (!m) {
    recordError(MP_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", what);
    return nullptr;
  }
  if (!image) {
    m->failCode = MP_ERROR_INVALID_ARGUMENT;
    m->failMessage = std::string(what) + ": null image";
    recordError(m->failCode, "%s", m->failMessage.c_str());
    return m;
  }
  Driver *d = ready();
  if (!d)
    return m; // mgpuModuleGetFunction reports the driver problem again.

  char errorLog[8192] = {0};
  int options[3] = {kJitErrorLogBuffer, kJitErrorLogBufferSizeBytes,
                    kJitOptimizationLevel};
  void *values[3] = {errorLog,
                     reinterpret_cast<void *>(std::uintptr_t(sizeof(errorLog))),
                     nullptr};
  unsigned numOptions = 2;
  if (optLevel >= 0) {
    values[2] =
        reinterpret_cast<void *>(std::uintptr_t(optLevel > 4 ? 4 : optLevel));
    numOptions = 3;
  }
  Result r =
      d->moduleLoadDataEx(&m->module, image, numOptions, options, values);
  if (r != kSuccess) {
    m->module = nullptr;
    m->failCode = r;
    m->failMessage =
        std::string("cuModuleLoadDataEx failed: ") + describe(*d, r).text;
    errorLog[sizeof(errorLog) - 1] = 0;
    if (errorLog[0])
      m->failMessage += std::string("; log: ") + errorLog;
    recordError(m->failCode, "%s", m->failMessage.c_str());
  }
  return m;
}

//===----------------------------------------------------------------------===//
// Launch helpers
//===----------------------------------------------------------------------===//

bool toDims(intptr_t x, intptr_t y, intptr_t z, unsigned out[3]) {
  const intptr_t in[3] = {x, y, z};
  for (int i = 0; i < 3; ++i) {
    if (in[i] <= 0 || static_cast<std::uint64_t>(in[i]) > 0xffffffffull)
      return false;
    out[i] = static_cast<unsigned>(in[i]);
  }
  return true;
}

// Raises the function's dynamic shared memory limit when a launch asks for
// more than the default 48 KiB.
bool prepareSharedMemory(Driver &d, const DeviceState &ds, Function f,
                         int32_t smem, const char *what) {
  if (smem < 0) {
    recordError(MP_ERROR_INVALID_ARGUMENT, "%s: negative shared memory size",
                what);
    return false;
  }
  // Raise the kernel's dynamic limit whenever it uses dynamic shared memory:
  // static + dynamic may pass 48 KB even when the dynamic part alone does not.
  if (smem == 0)
    return true;
  if (smem > ds.maxSmemOptin) {
    recordError(MP_ERROR_INVALID_ARGUMENT,
                "%s: kernel needs %d bytes of dynamic shared memory, device "
                "%s allows at most %d",
                what, smem, ds.name, ds.maxSmemOptin);
    return false;
  }
  static std::mutex mutex;
  static auto *raised = new std::unordered_map<Function, int32_t>();
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = raised->find(f);
    if (it != raised->end() && it->second >= smem)
      return true;
  }
  if (!check(d, d.funcSetAttribute(f, kFuncAttrMaxDynamicSharedSizeBytes, smem),
             "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)"))
    return false;
  std::lock_guard<std::mutex> lock(mutex);
  int32_t &v = (*raised)[f];
  if (v < smem)
    v = smem;
  return true;
}

//===----------------------------------------------------------------------===//
// Graph captures begun by mpGraphCaptureBegin (to restore the default stream)
//===----------------------------------------------------------------------===//

struct Capture {
  Stream stream;
  Stream previousDefault;
};
struct Captures {
  std::mutex mutex;
  std::vector<Capture> active;
};
Captures &captures() {
  static Captures *c = new Captures();
  return *c;
}

// Blocking copy/memset on the default stream (or the legacy NULL stream).
int blockingOnClientStream(const char *what,
                           Result (*op)(Driver &, Stream, void *), void *ctx) {
  Driver *d = ready();
  if (!d)
    return tlError.code;
  Stream s = defaultStream.load(std::memory_order_acquire);
  if (s && isCapturing(*d, s)) {
    recordError(MP_ERROR_CAPTURE,
                "%s: not allowed while the default stream is capturing", what);
    return MP_ERROR_CAPTURE;
  }
  Result r = op(*d, s, ctx);
  if (!check(*d, r, what))
    return r;
  r = d->streamSynchronize(s);
  if (!check(*d, r, "cuStreamSynchronize"))
    return r;
  return MP_SUCCESS;
}

struct CopyArgs {
  void *dst;
  const void *src;
  size_t bytes;
};
struct SetArgs {
  void *dst;
  unsigned value;
  size_t count;
};

} // namespace

//===----------------------------------------------------------------------===//
// mp*: availability, errors, device
//===----------------------------------------------------------------------===//

int mpCudaAvailable(void) { return ready() ? 1 : 0; }

const char *mpGetLastError(void) {
  return tlError.code == MP_SUCCESS ? "" : tlError.message;
}

int mpGetLastErrorCode(void) { return tlError.code; }

int mpGetErrorCount(void) { return tlError.count; }

void mpClearError(void) {
  tlError.code = MP_SUCCESS;
  tlError.count = 0;
  tlError.message[0] = 0;
}

// MULTIPOLE_PROGRAMMATIC_LAUNCH=0 turns programmatic dependent launch off
// (read at each call, so that a benchmark can compare both in one process).
static bool programmaticLaunchAllowed() {
  const char *v = std::getenv("MULTIPOLE_PROGRAMMATIC_LAUNCH");
  return !(v && v[0] == '0' && v[1] == 0);
}

int mpCallBegin(void *stream) { return mpCallBeginFlags(stream, 0); }

int mpCallBeginFlags(void *stream, int flags) {
  if (tlCall.active) {
    recordError(MP_ERROR_INVALID_ARGUMENT,
                "mpCallBegin: a call is already in progress on this thread "
                "(entry points do not nest)");
    return MP_ERROR_INVALID_ARGUMENT;
  }
  mpClearError();
  if (flags & ~MP_CALL_PROGRAMMATIC_LAUNCH) {
    recordError(MP_ERROR_INVALID_ARGUMENT,
                "mpCallBeginFlags: unknown flags 0x%x (this runtime knows "
                "MP_CALL_PROGRAMMATIC_LAUNCH = 0x%x)",
                unsigned(flags), unsigned(MP_CALL_PROGRAMMATIC_LAUNCH));
    return MP_ERROR_INVALID_ARGUMENT;
  }
  DeviceState *ds = nullptr;
  Driver *d = ready(&ds);
  if (!d)
    return tlError.code;
  tlCall.active = true;
  tlCall.stream = stream;
  tlCall.programmaticLaunch = (flags & MP_CALL_PROGRAMMATIC_LAUNCH) &&
                              d->launchKernelEx && ds->computeCapability >= 90 &&
                              programmaticLaunchAllowed();
  return MP_SUCCESS;
}

int mpCallEnd(void) {
  int code = tlError.code;
  tlCall = CallContext();
  return code;
}

void *mpCallStream(void) { return tlCall.active ? tlCall.stream : nullptr; }

int mpInCall(void) { return tlCall.active ? 1 : 0; }

void mpSetDevice(int ordinal) {
  currentDevice.store(ordinal, std::memory_order_relaxed);
}

int mpDeviceName(char *buf, int len) {
  if (buf && len > 0)
    buf[0] = 0;
  DeviceState *ds = nullptr;
  if (!ready(&ds))
    return tlError.code;
  if (!buf || len <= 0) {
    recordError(MP_ERROR_INVALID_ARGUMENT, "mpDeviceName: no buffer");
    return MP_ERROR_INVALID_ARGUMENT;
  }
  std::snprintf(buf, static_cast<size_t>(len), "%s", ds->name);
  return MP_SUCCESS;
}

int mpDeviceSMCount(void) {
  DeviceState *ds = nullptr;
  return ready(&ds) ? ds->smCount : 0;
}

int mpDeviceComputeCapability(void) {
  DeviceState *ds = nullptr;
  return ready(&ds) ? ds->computeCapability : 0;
}

int mpDriverVersion(void) {
  Driver *d = ready();
  return d ? d->version : 0;
}

//===----------------------------------------------------------------------===//
// mp*: memory
//===----------------------------------------------------------------------===//

void *mpMalloc(size_t bytes) {
  if (bytes == 0)
    return nullptr;
  Driver *d = ready();
  if (!d)
    return nullptr;
  DevicePtr p = 0;
  if (!check(*d, d->memAlloc(&p, bytes), "cuMemAlloc"))
    return nullptr;
  return asPointer(p);
}

void mpFree(void *ptr) {
  if (!ptr)
    return;
  Driver *d = ready();
  if (!d)
    return;
  DevicePtr p = asDevicePtr(ptr);
  if (forgetPoolPointer(p)) {
    // Wait for every user of the block, then give it back to its pool.
    if (check(*d, d->ctxSynchronize(), "cuCtxSynchronize"))
      check(*d, d->memFreeAsync(p, nullptr), "cuMemFreeAsync");
    return;
  }
  check(*d, d->memFree(p), "cuMemFree");
}

// A copy in either direction (the driver infers it from the pointers),
// blocking, ordered after the work on the client stream.
static int copyBlocking(const char *api, const char *what, void *dst,
                        const void *src, size_t bytes) {
  if (bytes == 0)
    return MP_SUCCESS;
  if (!dst || !src) {
    recordError(MP_ERROR_INVALID_ARGUMENT,
                "%s: null pointer", api);
    return MP_ERROR_INVALID_ARGUMENT;
  }
  CopyArgs args{dst, src, bytes};
  return blockingOnClientStream(
      what,
      [](Driver &d, Stream s, void *ctx) {
        auto *a = static_cast<CopyArgs *>(ctx);
        return d.memcpyAsync(asDevicePtr(a->dst), asDevicePtr(a->src), a->bytes,
                             s);
      },
      &args);
}

int mpMemcpyHtoD(void *dst, const void *src, size_t bytes) {
  return copyBlocking("mpMemcpyHtoD", "cuMemcpyAsync(HtoD)", dst, src, bytes);
}

int mpMemcpyDtoH(void *dst, const void *src, size_t bytes) {
  return copyBlocking("mpMemcpyDtoH", "cuMemcpyAsync(DtoH)", dst, src, bytes);
}

int mpMemsetD32(void *dst, unsigned value, size_t count) {
  if (count == 0)
    return MP_SUCCESS;
  if (!dst) {
    recordError(MP_ERROR_INVALID_ARGUMENT, "mpMemsetD32: null pointer");
    return MP_ERROR_INVALID_ARGUMENT;
  }
  SetArgs args{dst, value, count};
  return blockingOnClientStream(
      "cuMemsetD32Async",
      [](Driver &d, Stream s, void *ctx) {
        auto *a = static_cast<SetArgs *>(ctx);
        return d.memsetD32Async(asDevicePtr(a->dst), a->value, a->count, s);
      },
      &args);
}

int mpSynchronize(void) {
  Driver *d = ready();
  if (!d)
    return tlError.code;
  Result r = d->ctxSynchronize();
  return check(*d, r, "cuCtxSynchronize") ? MP_SUCCESS : r;
}

//===----------------------------------------------------------------------===//
// mp*: streams
//===----------------------------------------------------------------------===//

void *mpStreamCreate(void) {
  Driver *d = ready();
  if (!d)
    return nullptr;
  Stream s = nullptr;
  if (!check(*d, d->streamCreate(&s, kStreamNonBlocking), "cuStreamCreate"))
    return nullptr;
  return s;
}

void mpStreamDestroy(void *stream) {
  if (!stream)
    return;
  StreamSt *expected = asStream(stream);
  defaultStream.compare_exchange_strong(expected, nullptr);
  Driver *d = ready();
  if (d)
    check(*d, d->streamDestroy(asStream(stream)), "cuStreamDestroy");
}

int mpStreamSynchronize(void *stream) {
  Driver *d = ready();
  if (!d)
    return tlError.code;
  Result r = d->streamSynchronize(asStream(stream));
  return check(*d, r, "cuStreamSynchronize") ? MP_SUCCESS : r;
}

void mpSetDefaultStream(void *stream) {
  defaultStream.store(asStream(stream), std::memory_order_release);
}

void *mpGetDefaultStream(void) {
  return defaultStream.load(std::memory_order_acquire);
}

void mpSetDefaultStreamSync(int enabled) {
  defaultStreamSync.store(enabled != 0, std::memory_order_relaxed);
}

//===----------------------------------------------------------------------===//
// mp*: timing
//===----------------------------------------------------------------------===//

void *mpEventCreate(void) {
  Driver *d = ready();
  if (!d)
    return nullptr;
  Event e = nullptr;
  if (!check(*d, d->eventCreate(&e, kEventDefault), "cuEventCreate"))
    return nullptr;
  return e;
}

int mpEventRecord(void *event, void *stream) {
  Driver *d = ready();
  if (!d)
    return tlError.code;
  if (!event) {
    recordError(MP_ERROR_INVALID_ARGUMENT, "mpEventRecord: null event");
    return MP_ERROR_INVALID_ARGUMENT;
  }
  Result r = d->eventRecord(asEvent(event), clientStream(stream));
  return check(*d, r, "cuEventRecord") ? MP_SUCCESS : r;
}

float mpEventElapsedMs(void *start, void *end) {
  Driver *d = ready();
  if (!d)
    return -1.0f;
  if (!start || !end) {
    recordError(MP_ERROR_INVALID_ARGUMENT, "mpEventElapsedMs: null event");
    return -1.0f;
  }
  if (!check(*d, d->eventSynchronize(asEvent(end)), "cuEventSynchronize"))
    return -1.0f;
  float ms = 0.0f;
  if (!check(*d, d->eventElapsedTime(&ms, asEvent(start), asEvent(end)),
             "cuEventElapsedTime"))
    return -1.0f;
  return ms;
}

void mpEventDestroy(void *event) {
  if (!event)
    return;
  Driver *d = ready();
  if (d)
    check(*d, d->eventDestroy(asEvent(event)), "cuEventDestroy");
}

//===----------------------------------------------------------------------===//
// mp*: CUDA graphs
//===----------------------------------------------------------------------===//

void *mpGraphCaptureBegin(void *stream) {
  Driver *d = ready();
  if (!d)
    return nullptr;
  if (!requireEntry(reinterpret_cast<void *>(d->streamBeginCapture),
                    "cuStreamBeginCapture_v2") ||
      !requireEntry(reinterpret_cast<void *>(d->streamEndCapture),
                    "cuStreamEndCapture") ||
      !requireEntry(reinterpret_cast<void *>(d->graphInstantiate),
                    "cuGraphInstantiateWithFlags"))
    return nullptr;
  Stream s = clientStream(stream);
  bool created = false;
  if (!s) {
    if (!check(*d, d->streamCreate(&s, kStreamNonBlocking), "cuStreamCreate"))
      return nullptr;
    created = true;
  }
  if (!check(*d, d->streamBeginCapture(s, kCaptureModeRelaxed),
             "cuStreamBeginCapture")) {
    if (created)
      d->streamDestroy(s);
    return nullptr;
  }
  Captures &c = captures();
  std::lock_guard<std::mutex> lock(c.mutex);
  Stream previous = defaultStream.exchange(s, std::memory_order_acq_rel);
  c.active.push_back({s, previous});
  return s;
}

int mpGraphCaptureEnd(void *stream, void **exec) {
  if (exec)
    *exec = nullptr;
  if (!stream || !exec) {
    recordError(MP_ERROR_INVALID_ARGUMENT,
                "mpGraphCaptureEnd: null stream or exec pointer");
    return MP_ERROR_INVALID_ARGUMENT;
  }
  Stream s = asStream(stream);
  {
    Captures &c = captures();
    std::lock_guard<std::mutex> lock(c.mutex);
    for (auto it = c.active.rbegin(); it != c.active.rend(); ++it) {
      if (it->stream != s)
        continue;
      StreamSt *expected = s;
      defaultStream.compare_exchange_strong(expected, it->previousDefault);
      c.active.erase(std::next(it).base());
      break;
    }
  }
  Driver *d = ready();
  if (!d)
    return tlError.code;
  if (!requireEntry(reinterpret_cast<void *>(d->streamEndCapture),
                    "cuStreamEndCapture"))
    return MP_ERROR_DRIVER_TOO_OLD;
  Graph graph = nullptr;
  Result r = d->streamEndCapture(s, &graph);
  if (!check(*d, r, "cuStreamEndCapture")) {
    if (graph && d->graphDestroy)
      d->graphDestroy(graph);
    return r;
  }
  GraphExec ge = nullptr;
  r = d->graphInstantiate(&ge, graph, kGraphInstantiateAutoFreeOnLaunch);
  if (d->graphDestroy)
    d->graphDestroy(graph);
  if (!check(*d, r, "cuGraphInstantiateWithFlags"))
    return r;
  *exec = ge;
  return MP_SUCCESS;
}

int mpGraphLaunch(void *exec, void *stream) {
  Driver *d = ready();
  if (!d)
    return tlError.code;
  if (!exec) {
    recordError(MP_ERROR_INVALID_ARGUMENT, "mpGraphLaunch: null graph");
    return MP_ERROR_INVALID_ARGUMENT;
  }
  if (!requireEntry(reinterpret_cast<void *>(d->graphLaunch), "cuGraphLaunch"))
    return MP_ERROR_DRIVER_TOO_OLD;
  Result r = d->graphLaunch(static_cast<GraphExec>(exec), clientStream(stream));
  return check(*d, r, "cuGraphLaunch") ? MP_SUCCESS : r;
}

void mpGraphDestroy(void *exec) {
  if (!exec)
    return;
  Driver *d = ready();
  if (d && requireEntry(reinterpret_cast<void *>(d->graphExecDestroy),
                        "cuGraphExecDestroy"))
    check(*d, d->graphExecDestroy(static_cast<GraphExec>(exec)),
          "cuGraphExecDestroy");
}

//===----------------------------------------------------------------------===//
// mgpu*: modules and kernels
//===----------------------------------------------------------------------===//

void *mgpuModuleLoad(void *data, size_t size) {
  // cuModuleLoadData wants PTX text NUL-terminated; cubin/fatbin are taken
  // as they are.
  if (data && size > 0 && !looksLikeBinaryImage(data, size) &&
      static_cast<const char *>(data)[size - 1] != 0) {
    std::string text(static_cast<const char *>(data), size);
    return loadModule(text.c_str(), -1, "mgpuModuleLoad");
  }
  return loadModule(data, -1, "mgpuModuleLoad");
}

void *mgpuModuleLoadJIT(void *data, int optLevel) {
  return loadModule(data, optLevel < 0 ? 0 : optLevel, "mgpuModuleLoadJIT");
}

void mgpuModuleUnload(void *module) {
  auto *m = static_cast<LoadedModule *>(module);
  if (!m)
    return;
  if (m->module) {
    // Runs from global destructors too, possibly after the driver shut down.
    Driver &d = theDriver();
    Result r = d.moduleUnload(m->module);
    if (r != kSuccess && r != kErrorDeinitialized)
      check(d, r, "cuModuleUnload");
  }
  delete m;
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  Driver *d = ready();
  if (!d)
    return nullptr;
  auto *m = static_cast<LoadedModule *>(module);
  if (!name)
    name = "";
  if (!m) {
    recordError(MP_ERROR_INVALID_ARGUMENT,
                "mgpuModuleGetFunction(%s): null module", name);
    return nullptr;
  }
  if (!m->module) {
    if (m->failCode)
      recordError(m->failCode, "kernel %s unavailable: %s", name,
                  m->failMessage.c_str());
    else
      recordError(MP_ERROR_NO_DRIVER,
                  "kernel %s unavailable: its module was not loaded (no "
                  "usable CUDA driver when the library was loaded)",
                  name);
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(m->mutex);
  for (auto &entry : m->functions)
    if (entry.first == name)
      return entry.second;
  Function f = nullptr;
  Result r = d->moduleGetFunction(&f, m->module, name);
  if (r != kSuccess) {
    recordError(r, "cuModuleGetFunction(%s) failed: %s", name,
                describe(*d, r).text);
    return nullptr;
  }
  m->functions.emplace_back(name, f);
  return f;
}

/// cuLaunchKernelEx of `f` with launch attributes; failures are recorded as
/// `what`.
static void launchWithAttributes(Driver &d, Function f, const unsigned grid[3],
                                 const unsigned block[3], int32_t smem,
                                 void *stream, void **params, void **extra,
                                 LaunchAttribute *attrs, unsigned numAttrs,
                                 const char *what) {
  LaunchConfig config;
  std::memset(&config, 0, sizeof(config));
  config.gridDimX = grid[0];
  config.gridDimY = grid[1];
  config.gridDimZ = grid[2];
  config.blockDimX = block[0];
  config.blockDimY = block[1];
  config.blockDimZ = block[2];
  config.sharedMemBytes = static_cast<unsigned>(smem);
  config.hStream = asStream(stream);
  config.attrs = attrs;
  config.numAttrs = numAttrs;
  check(d, d.launchKernelEx(&config, f, params, extra), what);
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t /*paramsCount*/) {
  DeviceState *ds = nullptr;
  Driver *d = ready(&ds);
  if (!d)
    return;
  // After a failure inside a call (an allocation that did not happen, say)
  // later kernels would read or write memory that was never given: skip them.
  if (tlCall.active && tlError.code != MP_SUCCESS) {
    ++tlError.count;
    return;
  }
  if (!function) {
    recordError(MP_ERROR_INVALID_ARGUMENT,
                "mgpuLaunchKernel: null kernel function (its module or "
                "lookup failed)");
    return;
  }
  unsigned grid[3], block[3];
  if (!toDims(gridX, gridY, gridZ, grid) ||
      !toDims(blockX, blockY, blockZ, block)) {
    recordError(MP_ERROR_INVALID_ARGUMENT,
                "mgpuLaunchKernel: invalid launch grid (%ld, %ld, %ld) block "
                "(%ld, %ld, %ld)",
                long(gridX), long(gridY), long(gridZ), long(blockX),
                long(blockY), long(blockZ));
    return;
  }
  Function f = static_cast<Function>(function);
  if (!prepareSharedMemory(*d, *ds, f, smem, "mgpuLaunchKernel"))
    return;
  if (tlCall.active && tlCall.programmaticLaunch) {
    // The kernel waits for the previous grid itself (griddepcontrol.wait at
    // its start): let the driver schedule its CTAs before that grid is done.
    LaunchAttribute attr;
    std::memset(&attr, 0, sizeof(attr));
    attr.id = kLaunchAttrProgrammaticStreamSerialization;
    attr.value.programmaticStreamSerializationAllowed = 1;
    launchWithAttributes(*d, f, grid, block, smem, stream, params, extra, &attr,
                         1, "cuLaunchKernelEx(PROGRAMMATIC_STREAM_SERIALIZATION)");
    return;
  }
  check(*d,
        d->launchKernel(f, grid[0], grid[1], grid[2], block[0], block[1],
                        block[2], static_cast<unsigned>(smem), asStream(stream),
                        params, extra),
        "cuLaunchKernel");
}

void mgpuLaunchClusterKernel(void *function, intptr_t clusterX,
                             intptr_t clusterY, intptr_t clusterZ,
                             intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                             intptr_t blockX, intptr_t blockY, intptr_t blockZ,
                             int32_t smem, void *stream, void **params,
                             void **extra) {
  DeviceState *ds = nullptr;
  Driver *d = ready(&ds);
  if (!d)
    return;
  if (!requireEntry(reinterpret_cast<void *>(d->launchKernelEx),
                    "cuLaunchKernelEx"))
    return;
  if (!function) {
    recordError(MP_ERROR_INVALID_ARGUMENT,
                "mgpuLaunchClusterKernel: null kernel function");
    return;
  }
  unsigned cluster[3], grid[3], block[3];
  if (!toDims(clusterX, clusterY, clusterZ, cluster) ||
      !toDims(gridX, gridY, gridZ, grid) ||
      !toDims(blockX, blockY, blockZ, block)) {
    recordError(MP_ERROR_INVALID_ARGUMENT,
                "mgpuLaunchClusterKernel: invalid cluster/grid/block sizes");
    return;
  }
  Function f = static_cast<Function>(function);
  if (!prepareSharedMemory(*d, *ds, f, smem, "mgpuLaunchClusterKernel"))
    return;
  // Clusters of more than 8 blocks are "non-portable" and must be allowed.
  if (std::uint64_t(cluster[0]) * cluster[1] * cluster[2] > 8 &&
      !check(*d,
             d->funcSetAttribute(f, kFuncAttrNonPortableClusterSizeAllowed, 1),
             "cuFuncSetAttribute(NON_PORTABLE_CLUSTER_SIZE_ALLOWED)"))
    return;
  LaunchAttribute attrs[2];
  std::memset(attrs, 0, sizeof(attrs));
  attrs[0].id = kLaunchAttrClusterDimension;
  attrs[0].value.clusterDim.x = cluster[0];
  attrs[0].value.clusterDim.y = cluster[1];
  attrs[0].value.clusterDim.z = cluster[2];
  attrs[1].id = kLaunchAttrClusterSchedulingPolicyPreference;
  attrs[1].value.clusterSchedulingPolicyPreference =
      kClusterSchedulingPolicySpread;
  launchWithAttributes(*d, f, grid, block, smem, stream, params, extra, attrs,
                       2, "cuLaunchKernelEx");
}

//===----------------------------------------------------------------------===//
// mgpu*: streams and events
//===----------------------------------------------------------------------===//

void *mgpuStreamCreate(void) {
  // Inside a call: the caller's stream. Otherwise the default stream when one
  // is set, else the legacy NULL stream. Never a new stream.
  if (tlCall.active)
    return tlCall.stream;
  return defaultStream.load(std::memory_order_acquire);
}

void mgpuStreamDestroy(void *stream) {
  // Streams come from mgpuStreamCreate, which never creates one: nothing is
  // destroyed here (mpStreamDestroy destroys the client's own streams).
  (void)stream;
}

void mgpuStreamSynchronize(void *stream) {
  // The caller's stream is never waited for inside a call: its work
  // completes in stream order, and faults surface at the caller's next
  // synchronization.
  if (isCallStream(stream))
    return;
  Driver *d = ready();
  if (!d)
    return;
  Stream s = asStream(stream);
  if (s && s == defaultStream.load(std::memory_order_acquire) &&
      !defaultStreamSync.load(std::memory_order_relaxed))
    return;
  if (isCapturing(*d, s))
    return;
  check(*d, d->streamSynchronize(s), "cuStreamSynchronize");
}

void mgpuStreamWaitEvent(void *stream, void *event) {
  Driver *d = ready();
  if (!d)
    return;
  if (!event) {
    recordError(MP_ERROR_INVALID_ARGUMENT, "mgpuStreamWaitEvent: null event");
    return;
  }
  check(*d, d->streamWaitEvent(asStream(stream), asEvent(event), 0),
        "cuStreamWaitEvent");
}

void *mgpuEventCreate(void) {
  Driver *d = ready();
  if (!d)
    return nullptr;
  Event e = nullptr;
  if (!check(*d, d->eventCreate(&e, kEventDisableTiming), "cuEventCreate"))
    return nullptr;
  return e;
}

void mgpuEventDestroy(void *event) {
  if (!event)
    return;
  Driver *d = ready();
  if (d)
    check(*d, d->eventDestroy(asEvent(event)), "cuEventDestroy");
}

void mgpuEventSynchronize(void *event) {
  Driver *d = ready();
  if (!d)
    return;
  if (!event) {
    recordError(MP_ERROR_INVALID_ARGUMENT, "mgpuEventSynchronize: null event");
    return;
  }
  // An event recorded during a capture cannot be waited for on the host.
  Stream s = defaultStream.load(std::memory_order_acquire);
  if (s && isCapturing(*d, s))
    return;
  check(*d, d->eventSynchronize(asEvent(event)), "cuEventSynchronize");
}

void mgpuEventRecord(void *event, void *stream) {
  Driver *d = ready();
  if (!d)
    return;
  if (!event) {
    recordError(MP_ERROR_INVALID_ARGUMENT, "mgpuEventRecord: null event");
    return;
  }
  check(*d, d->eventRecord(asEvent(event), asStream(stream)), "cuEventRecord");
}

//===----------------------------------------------------------------------===//
// mgpu*: memory
//===----------------------------------------------------------------------===//

void *mgpuMemAlloc(uint64_t bytes, void *stream, int8_t isHostShared) {
  if (bytes == 0)
    return nullptr;
  DeviceState *ds = nullptr;
  Driver *d = ready(&ds);
  if (!d)
    return nullptr;
  Stream s = asStream(stream);
  DevicePtr p = 0;
  if (static_cast<std::uint8_t>(isHostShared) != 0) {
    if (!requireEntry(reinterpret_cast<void *>(d->memAllocManaged),
                      "cuMemAllocManaged") ||
        !check(*d, d->memAllocManaged(&p, bytes, kMemAttachGlobal),
               "cuMemAllocManaged"))
      return nullptr;
    return asPointer(p);
  }
  // Inside a call: always stream-ordered on the caller's stream (the legacy
  // NULL stream included), never a synchronizing cuMemAlloc.
  if (isCallStream(stream)) {
    if (tlError.code != MP_SUCCESS)
      return nullptr;
    if (!ds->memoryPools || !d->memAllocAsync || !d->memFreeAsync) {
      recordError(MP_ERROR_DRIVER_TOO_OLD,
                  "mgpuMemAlloc: the device or driver has no stream-ordered "
                  "allocator (cuMemAllocAsync), which calls on a caller's "
                  "stream need");
      return nullptr;
    }
    if (!check(*d, d->memAllocAsync(&p, bytes, s), "cuMemAllocAsync"))
      return nullptr;
    rememberPoolPointer(p);
    return asPointer(p);
  }
  // Stream-ordered allocation when enabled, and always while capturing (it
  // becomes a graph memory node).
  bool capturing =
      s && !(ds->memoryPools && d->asyncAlloc) && isCapturing(*d, s);
  if (s && ds->memoryPools && (d->asyncAlloc || capturing)) {
    if (!check(*d, d->memAllocAsync(&p, bytes, s), "cuMemAllocAsync"))
      return nullptr;
    rememberPoolPointer(p);
    return asPointer(p);
  }
  if (capturing) {
    recordError(MP_ERROR_CAPTURE,
                "mgpuMemAlloc: cannot allocate while capturing (the device "
                "has no stream-ordered allocator)");
    return nullptr;
  }
  if (!check(*d, d->memAlloc(&p, bytes), "cuMemAlloc"))
    return nullptr;
  return asPointer(p);
}

void mgpuMemFree(void *ptr, void *stream) {
  if (!ptr)
    return;
  Driver *d = ready();
  if (!d)
    return;
  DevicePtr p = asDevicePtr(ptr);
  Stream s = asStream(stream);
  if (forgetPoolPointer(p)) {
    check(*d, d->memFreeAsync(p, s), "cuMemFreeAsync");
    return;
  }
  if (s && isCapturing(*d, s)) {
    recordError(MP_ERROR_CAPTURE,
                "mgpuMemFree: memory allocated outside a capture cannot be "
                "freed inside it (not freed)");
    return;
  }
  check(*d, d->memFree(p), "cuMemFree");
}

void mgpuMemcpy(void *dst, void *src, size_t bytes, void *stream) {
  if (bytes == 0)
    return;
  Driver *d = ready();
  if (!d)
    return;
  if (!dst || !src) {
    recordError(MP_ERROR_INVALID_ARGUMENT, "mgpuMemcpy: null pointer");
    return;
  }
  check(*d,
        d->memcpyAsync(asDevicePtr(dst), asDevicePtr(src), bytes,
                       asStream(stream)),
        "cuMemcpyAsync");
}

void mgpuMemset32(void *dst, unsigned value, size_t count, void *stream) {
  if (count == 0)
    return;
  Driver *d = ready();
  if (!d)
    return;
  if (!dst) {
    recordError(MP_ERROR_INVALID_ARGUMENT, "mgpuMemset32: null pointer");
    return;
  }
  check(*d, d->memsetD32Async(asDevicePtr(dst), value, count, asStream(stream)),
        "cuMemsetD32Async");
}

void mgpuMemset16(void *dst, unsigned short value, size_t count, void *stream) {
  if (count == 0)
    return;
  Driver *d = ready();
  if (!d)
    return;
  if (!dst) {
    recordError(MP_ERROR_INVALID_ARGUMENT, "mgpuMemset16: null pointer");
    return;
  }
  check(*d, d->memsetD16Async(asDevicePtr(dst), value, count, asStream(stream)),
        "cuMemsetD16Async");
}

void mgpuMemHostRegister(void *ptr, uint64_t bytes) {
  if (!ptr || bytes == 0)
    return;
  Driver *d = ready();
  if (!d || !requireEntry(reinterpret_cast<void *>(d->memHostRegister),
                          "cuMemHostRegister_v2"))
    return;
  check(*d, d->memHostRegister(ptr, bytes, 0), "cuMemHostRegister");
}

void mgpuMemHostUnregister(void *ptr) {
  if (!ptr)
    return;
  Driver *d = ready();
  if (!d || !requireEntry(reinterpret_cast<void *>(d->memHostUnregister),
                          "cuMemHostUnregister"))
    return;
  check(*d, d->memHostUnregister(ptr), "cuMemHostUnregister");
}

namespace {
// A ranked memref descriptor: {allocated, aligned, offset, sizes[rank],
// strides[rank]}.
struct MemRefView {
  char *data; // aligned + offset * elementBytes
  const int64_t *sizes;
  const int64_t *strides;
};
MemRefView viewMemRef(int64_t rank, void *descriptor, int64_t elementBytes) {
  auto *words = static_cast<int64_t *>(descriptor);
  char *aligned = nullptr;
  std::memcpy(&aligned, &words[1], sizeof(aligned));
  return {aligned + words[2] * elementBytes, words + 3, words + 3 + rank};
}
// Bytes spanned by the memref (from its first to one past its last element).
uint64_t spanBytes(int64_t rank, const MemRefView &v, int64_t elementBytes) {
  int64_t last = 0;
  for (int64_t i = 0; i < rank; ++i) {
    if (v.sizes[i] <= 0)
      return 0;
    last += (v.sizes[i] - 1) * v.strides[i];
  }
  return uint64_t(last + 1) * uint64_t(elementBytes);
}
} // namespace

void mgpuMemHostRegisterMemRef(int64_t rank, void *rankedDescriptor,
                               int64_t elementBytes) {
  if (!rankedDescriptor || rank < 0 || elementBytes <= 0) {
    recordError(MP_ERROR_INVALID_ARGUMENT,
                "mgpuMemHostRegisterMemRef: invalid descriptor");
    return;
  }
  MemRefView v = viewMemRef(rank, rankedDescriptor, elementBytes);
  mgpuMemHostRegister(v.data, spanBytes(rank, v, elementBytes));
}

void mgpuMemHostUnregisterMemRef(int64_t rank, void *rankedDescriptor,
                                 int64_t elementBytes) {
  if (!rankedDescriptor || rank < 0 || elementBytes <= 0)
    return;
  MemRefView v = viewMemRef(rank, rankedDescriptor, elementBytes);
  if (spanBytes(rank, v, elementBytes) != 0)
    mgpuMemHostUnregister(v.data);
}

void mgpuSetDefaultDevice(int32_t device) { mpSetDevice(device); }

void *mgpuTensorMapEncodeTiledMemref(int64_t rank, void *rankedDescriptor,
                                     int64_t dataType, int64_t interleave,
                                     int64_t swizzle, int64_t l2Promotion,
                                     int64_t oobFill, int64_t *boxDims) {
  static const int elementBytes[kTensorMapDataTypeLastWholeByte + 1] = {
      1, 2, 4, 4, 8, 8, 2, 4, 8, 2, 4, 4, 4};
  if (rank < 1 || rank > 5 || !rankedDescriptor || !boxDims || dataType < 0 ||
      dataType > kTensorMapDataTypeLastWholeByte) {
    recordError(MP_ERROR_INVALID_ARGUMENT,
                "mgpuTensorMapEncodeTiledMemref: unsupported rank %ld or data "
                "type %ld",
                long(rank), long(dataType));
    return nullptr;
  }
  Driver *d = ready();
  if (!d || !requireEntry(reinterpret_cast<void *>(d->tensorMapEncodeTiled),
                          "cuTensorMapEncodeTiled"))
    return nullptr;
  const int64_t elt = elementBytes[dataType];
  MemRefView v = viewMemRef(rank, rankedDescriptor, elt);
  // The driver numbers dimensions from the innermost one.
  std::uint64_t globalDim[5] = {1, 1, 1, 1, 1};
  std::uint64_t globalStrides[5] = {0, 0, 0, 0, 0};
  unsigned box[5] = {1, 1, 1, 1, 1};
  unsigned elementStrides[5] = {1, 1, 1, 1, 1};
  for (int64_t i = 0; i < rank; ++i) {
    globalDim[i] = std::uint64_t(v.sizes[rank - 1 - i]);
    box[i] = unsigned(boxDims[rank - 1 - i]);
  }
  for (int64_t i = 0; i + 1 < rank; ++i)
    globalStrides[i] = std::uint64_t(v.strides[rank - 2 - i] * elt);
  TensorMap map;
  std::memset(&map, 0, sizeof(map));
  if (!check(*d,
             d->tensorMapEncodeTiled(
                 &map, int(dataType), unsigned(rank), v.data, globalDim,
                 globalStrides, box, elementStrides, int(interleave),
                 int(swizzle), int(l2Promotion), int(oobFill)),
             "cuTensorMapEncodeTiled"))
    return nullptr;
  DevicePtr p = 0;
  if (!check(*d, d->memAlloc(&p, sizeof(map)), "cuMemAlloc"))
    return nullptr;
  if (!check(*d, d->memcpySync(p, asDevicePtr(&map), sizeof(map)),
             "cuMemcpy")) {
    d->memFree(p);
    return nullptr;
  }
  return asPointer(p);
}
