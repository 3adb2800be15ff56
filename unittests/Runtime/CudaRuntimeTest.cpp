//===- CudaRuntimeTest.cpp - Tests of libmultipole_cuda_runtime -----------===//
//
// Two modes:
//  - default (CI, no GPU): MULTIPOLE_LIBCUDA is pointed at a file that does
//    not exist (unless the environment already sets it), and the NoDriver
//    tests check that every entry point fails benignly and says why;
//  - MULTIPOLE_TEST_GPU=1: the real driver is used and, when a GPU is
//    present, the Gpu tests JIT-load TestKernels.ptx (and load the cubin
//    built next to this binary when its architecture matches), launch
//    kernels through the mgpu* ABI, use >48 KiB of dynamic shared memory,
//    allocate inside a graph capture and replay it.
// Tests of the other mode are skipped.
//
//===----------------------------------------------------------------------===//

#include "multipole/Runtime/CudaRuntime.h"

#include "CudaDriverTypes.h"

#if MP_HAVE_CUDA_H
#include <cstddef>
#include <cuda.h>
#endif

#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

namespace {

const char *const kMissingDriver = "/nonexistent/multipole-test/libcuda.so.1";

const char kTestKernelsPtx[] =
#include "TestKernels.ptx.inc"
    ;

bool gpuMode() {
  const char *v = std::getenv("MULTIPOLE_TEST_GPU");
  return v && *v && std::strcmp(v, "0") != 0;
}

std::string lastError() { return mpGetLastError(); }

std::string exeDir() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return ".";
  buf[n] = 0;
  std::string path(buf);
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

//===----------------------------------------------------------------------===//
// Layout of the types the runtime declares itself, against <cuda.h>
//===----------------------------------------------------------------------===//

#if MP_HAVE_CUDA_H
static_assert(sizeof(CUresult) == sizeof(mpcu::Result), "CUresult");
static_assert(sizeof(CUdevice) == sizeof(mpcu::Device), "CUdevice");
static_assert(sizeof(CUdeviceptr) == sizeof(mpcu::DevicePtr), "CUdeviceptr");
static_assert(sizeof(CUlaunchAttribute) == sizeof(mpcu::LaunchAttribute),
              "CUlaunchAttribute size");
static_assert(offsetof(CUlaunchAttribute, value) ==
                  offsetof(mpcu::LaunchAttribute, value),
              "CUlaunchAttribute::value");
static_assert(sizeof(CUlaunchConfig) == sizeof(mpcu::LaunchConfig),
              "CUlaunchConfig size");
static_assert(offsetof(CUlaunchConfig, sharedMemBytes) ==
                  offsetof(mpcu::LaunchConfig, sharedMemBytes),
              "CUlaunchConfig::sharedMemBytes");
static_assert(offsetof(CUlaunchConfig, hStream) ==
                  offsetof(mpcu::LaunchConfig, hStream),
              "CUlaunchConfig::hStream");
static_assert(offsetof(CUlaunchConfig, attrs) ==
                  offsetof(mpcu::LaunchConfig, attrs),
              "CUlaunchConfig::attrs");
static_assert(offsetof(CUlaunchConfig, numAttrs) ==
                  offsetof(mpcu::LaunchConfig, numAttrs),
              "CUlaunchConfig::numAttrs");
static_assert(sizeof(CUtensorMap) == sizeof(mpcu::TensorMap), "CUtensorMap");
static_assert(alignof(CUtensorMap) <= alignof(mpcu::TensorMap), "CUtensorMap");

static_assert(mpcu::kSuccess == CUDA_SUCCESS, "");
static_assert(mpcu::kErrorInvalidValue == CUDA_ERROR_INVALID_VALUE, "");
static_assert(mpcu::kErrorNotInitialized == CUDA_ERROR_NOT_INITIALIZED, "");
static_assert(mpcu::kErrorDeinitialized == CUDA_ERROR_DEINITIALIZED, "");
static_assert(mpcu::kErrorStubLibrary == CUDA_ERROR_STUB_LIBRARY, "");
static_assert(mpcu::kErrorNoDevice == CUDA_ERROR_NO_DEVICE, "");
static_assert(mpcu::kErrorNotReady == CUDA_ERROR_NOT_READY, "");
static_assert(mpcu::kJitInfoLogBuffer == CU_JIT_INFO_LOG_BUFFER, "");
static_assert(mpcu::kJitInfoLogBufferSizeBytes ==
                  CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES,
              "");
static_assert(mpcu::kJitErrorLogBuffer == CU_JIT_ERROR_LOG_BUFFER, "");
static_assert(mpcu::kJitErrorLogBufferSizeBytes ==
                  CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
              "");
static_assert(mpcu::kJitOptimizationLevel == CU_JIT_OPTIMIZATION_LEVEL, "");
static_assert(mpcu::kDevAttrMultiprocessorCount ==
                  CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
              "");
static_assert(mpcu::kDevAttrComputeCapabilityMajor ==
                  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
              "");
static_assert(mpcu::kDevAttrComputeCapabilityMinor ==
                  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
              "");
static_assert(mpcu::kDevAttrMaxSharedMemoryPerBlockOptin ==
                  CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
              "");
static_assert(mpcu::kDevAttrMemoryPoolsSupported ==
                  CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED,
              "");
static_assert(mpcu::kFuncAttrMaxDynamicSharedSizeBytes ==
                  CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
              "");
static_assert(mpcu::kFuncAttrNonPortableClusterSizeAllowed ==
                  CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED,
              "");
static_assert(mpcu::kStreamNonBlocking == CU_STREAM_NON_BLOCKING, "");
static_assert(mpcu::kEventDefault == CU_EVENT_DEFAULT, "");
static_assert(mpcu::kEventDisableTiming == CU_EVENT_DISABLE_TIMING, "");
static_assert(mpcu::kMemAttachGlobal == CU_MEM_ATTACH_GLOBAL, "");
static_assert(mpcu::kGraphInstantiateAutoFreeOnLaunch ==
                  CUDA_GRAPH_INSTANTIATE_FLAG_AUTO_FREE_ON_LAUNCH,
              "");
static_assert(mpcu::kCaptureModeGlobal == CU_STREAM_CAPTURE_MODE_GLOBAL, "");
static_assert(mpcu::kCaptureModeThreadLocal ==
                  CU_STREAM_CAPTURE_MODE_THREAD_LOCAL,
              "");
static_assert(mpcu::kCaptureModeRelaxed == CU_STREAM_CAPTURE_MODE_RELAXED, "");
static_assert(mpcu::kCaptureStatusNone == CU_STREAM_CAPTURE_STATUS_NONE, "");
static_assert(mpcu::kCaptureStatusActive == CU_STREAM_CAPTURE_STATUS_ACTIVE,
              "");
static_assert(mpcu::kCaptureStatusInvalidated ==
                  CU_STREAM_CAPTURE_STATUS_INVALIDATED,
              "");
static_assert(mpcu::kMemPoolAttrReleaseThreshold ==
                  CU_MEMPOOL_ATTR_RELEASE_THRESHOLD,
              "");
static_assert(mpcu::kLaunchAttrClusterDimension ==
                  CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION,
              "");
static_assert(mpcu::kLaunchAttrProgrammaticStreamSerialization ==
                  CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION,
              "");
static_assert(offsetof(CUlaunchAttributeValue,
                       programmaticStreamSerializationAllowed) ==
                  offsetof(mpcu::LaunchAttributeValue,
                           programmaticStreamSerializationAllowed),
              "");
static_assert(mpcu::kLaunchAttrClusterSchedulingPolicyPreference ==
                  CU_LAUNCH_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE,
              "");
static_assert(mpcu::kClusterSchedulingPolicySpread ==
                  CU_CLUSTER_SCHEDULING_POLICY_SPREAD,
              "");
static_assert(mpcu::kTensorMapDataTypeLastWholeByte ==
                  CU_TENSOR_MAP_DATA_TYPE_TFLOAT32_FTZ,
              "");
#endif

TEST(CudaRuntimeLayout, DriverTypesMatchCudaHeader) {
#if MP_HAVE_CUDA_H
  SUCCEED() << "checked at compile time against <cuda.h> " << CUDA_VERSION;
#else
  GTEST_SKIP() << "no <cuda.h> at build time";
#endif
}

//===----------------------------------------------------------------------===//
// No driver (the default mode; what CI runs)
//===----------------------------------------------------------------------===//

class NoDriver : public ::testing::Test {
protected:
  void SetUp() override {
    if (gpuMode())
      GTEST_SKIP() << "MULTIPOLE_TEST_GPU is set";
    mpClearError();
  }
  void TearDown() override { mpClearError(); }
};

TEST_F(NoDriver, NotAvailableAndSaysWhy) {
  EXPECT_EQ(mpCudaAvailable(), 0);
  std::string message = lastError();
  const char *name = std::getenv("MULTIPOLE_LIBCUDA");
  ASSERT_NE(name, nullptr);
  if (std::strcmp(name, kMissingDriver) != 0)
    GTEST_SKIP() << "MULTIPOLE_LIBCUDA=" << name << ": " << message;
  EXPECT_EQ(mpGetLastErrorCode(), MP_ERROR_NO_DRIVER);
  EXPECT_NE(message.find("no CUDA driver"), std::string::npos) << message;
  EXPECT_NE(message.find(name), std::string::npos) << message;
  EXPECT_NE(message.find("not found"), std::string::npos) << message;
  // Asking again gives the same answer.
  mpClearError();
  EXPECT_EQ(mpCudaAvailable(), 0);
  EXPECT_EQ(lastError(), message);
}

TEST_F(NoDriver, MemAllocReturnsNull) {
  EXPECT_EQ(mgpuMemAlloc(1 << 20, nullptr, 0), nullptr);
  EXPECT_EQ(mpGetLastErrorCode(), MP_ERROR_NO_DRIVER);
  EXPECT_NE(lastError().find("no CUDA driver"), std::string::npos);
  EXPECT_EQ(mgpuMemAlloc(1 << 20, nullptr, 1), nullptr);
  EXPECT_EQ(mpMalloc(4096), nullptr);
  EXPECT_EQ(mpGetErrorCount(), 3);
  // Freeing what failed to allocate is harmless.
  mgpuMemFree(nullptr, nullptr);
  mpFree(nullptr);
}

TEST_F(NoDriver, StreamCreateNeverCreatesAStream) {
  // Compiled host code asks for a stream: it gets the legacy NULL stream
  // (no call, no default stream), without a driver call.
  void *stream = mgpuStreamCreate();
  EXPECT_EQ(stream, nullptr);
  EXPECT_EQ(mpGetLastErrorCode(), MP_SUCCESS);
  // What compiled host code does next must not crash either.
  mgpuStreamSynchronize(stream);
  EXPECT_EQ(mpGetLastErrorCode(), MP_ERROR_NO_DRIVER);
  mgpuStreamDestroy(stream);
  EXPECT_EQ(mpStreamCreate(), nullptr);
  EXPECT_NE(mpStreamSynchronize(nullptr), 0);
}

TEST_F(NoDriver, CallBeginReportsTheMissingDriver) {
  void *fake = reinterpret_cast<void *>(std::uintptr_t(0x2000));
  EXPECT_EQ(mpCallBegin(fake), MP_ERROR_NO_DRIVER);
  EXPECT_EQ(mpInCall(), 0);
  EXPECT_NE(lastError().find("no CUDA driver"), std::string::npos);
  // No call was started: mgpuStreamCreate does not return `fake`.
  EXPECT_EQ(mgpuStreamCreate(), nullptr);
  EXPECT_EQ(mpCallEnd(), MP_ERROR_NO_DRIVER);
}

TEST_F(NoDriver, CallBeginFlagsRejectsUnknownFlags) {
  EXPECT_EQ(mpCallBeginFlags(nullptr, 0x40), MP_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mpGetLastError()).find("unknown flags 0x40"),
            std::string::npos)
      << mpGetLastError();
  EXPECT_EQ(mpInCall(), 0);
  // Known flags get as far as the driver check, like mpCallBegin.
  EXPECT_NE(mpCallBeginFlags(nullptr, MP_CALL_PROGRAMMATIC_LAUNCH), MP_SUCCESS);
  EXPECT_EQ(mpInCall(), 0);
}

TEST_F(NoDriver, LaunchWithNullFunctionRecordsError) {
  mgpuLaunchKernel(nullptr, 1, 1, 1, 32, 1, 1, 0, nullptr, nullptr, nullptr, 0);
  EXPECT_NE(mpGetLastErrorCode(), MP_SUCCESS);
  EXPECT_NE(lastError(), "");
  EXPECT_EQ(mpGetErrorCount(), 1);
  mgpuLaunchKernel(nullptr, 1, 1, 1, 1, 1, 1, 200 * 1024, nullptr, nullptr,
                   nullptr, 0);
  mgpuLaunchClusterKernel(nullptr, 2, 1, 1, 2, 1, 1, 1, 1, 1, 0, nullptr,
                          nullptr, nullptr);
  EXPECT_EQ(mpGetErrorCount(), 3);
}

TEST_F(NoDriver, ModuleLoadFailsLater) {
  // A global constructor of a compiled library calls this at dlopen time.
  void *module = mgpuModuleLoadJIT(const_cast<char *>(kTestKernelsPtx), 2);
  EXPECT_NE(mpGetLastErrorCode(), MP_SUCCESS);
  mpClearError();
  EXPECT_EQ(mgpuModuleGetFunction(module, "axpy"), nullptr);
  EXPECT_NE(lastError().find("no CUDA driver"), std::string::npos);
  mgpuModuleUnload(module);
  void *binary = mgpuModuleLoad(const_cast<char *>(kTestKernelsPtx),
                                sizeof(kTestKernelsPtx));
  mgpuModuleUnload(binary);
  mgpuModuleUnload(nullptr);
}

TEST_F(NoDriver, OtherEntryPointsAreBenign) {
  void *event = mgpuEventCreate();
  EXPECT_EQ(event, nullptr);
  mgpuEventRecord(event, nullptr);
  mgpuStreamWaitEvent(nullptr, event);
  mgpuEventSynchronize(event);
  mgpuEventDestroy(event);
  int dummy[4] = {0, 0, 0, 0};
  mgpuMemcpy(dummy, dummy + 2, 8, nullptr);
  mgpuMemset32(dummy, 7, 2, nullptr);
  mgpuMemset16(dummy, 7, 2, nullptr);
  mgpuMemHostRegister(dummy, sizeof(dummy));
  mgpuMemHostUnregister(dummy);
  int64_t descriptor[5] = {0, 0, 0, 4, 1};
  int *data = dummy;
  std::memcpy(&descriptor[0], &data, sizeof(data));
  std::memcpy(&descriptor[1], &data, sizeof(data));
  mgpuMemHostRegisterMemRef(1, descriptor, 4);
  mgpuMemHostUnregisterMemRef(1, descriptor, 4);
  int64_t box[1] = {4};
  EXPECT_EQ(mgpuTensorMapEncodeTiledMemref(1, descriptor, 7, 0, 0, 0, 0, box),
            nullptr);
  EXPECT_EQ(mpGetLastErrorCode(), MP_ERROR_NO_DRIVER);

  char name[64] = "unchanged";
  EXPECT_NE(mpDeviceName(name, sizeof(name)), 0);
  EXPECT_STREQ(name, "");
  EXPECT_EQ(mpDeviceSMCount(), 0);
  EXPECT_EQ(mpDeviceComputeCapability(), 0);
  EXPECT_EQ(mpDriverVersion(), 0);
  EXPECT_NE(mpSynchronize(), 0);
  EXPECT_NE(mpMemcpyHtoD(dummy, dummy, 4), 0);
  EXPECT_NE(mpMemcpyDtoH(dummy, dummy, 4), 0);
  EXPECT_NE(mpMemsetD32(dummy, 1, 1), 0);
  EXPECT_EQ(mpEventCreate(), nullptr);
  EXPECT_NE(mpEventRecord(nullptr, nullptr), 0);
  EXPECT_EQ(mpEventElapsedMs(nullptr, nullptr), -1.0f);
  mpEventDestroy(nullptr);
  EXPECT_EQ(mpGraphCaptureBegin(nullptr), nullptr);
  void *exec = &exec;
  EXPECT_NE(mpGraphCaptureEnd(nullptr, &exec), 0);
  EXPECT_EQ(exec, nullptr);
  EXPECT_NE(mpGraphLaunch(nullptr, nullptr), 0);
  mpGraphDestroy(nullptr);
  EXPECT_EQ(mpGetLastErrorCode(), MP_ERROR_NO_DRIVER);
}

TEST_F(NoDriver, ZeroSizedOperationsAreNoOps) {
  EXPECT_EQ(mgpuMemAlloc(0, nullptr, 0), nullptr);
  mgpuMemcpy(nullptr, nullptr, 0, nullptr);
  mgpuMemset32(nullptr, 0, 0, nullptr);
  EXPECT_EQ(mpMalloc(0), nullptr);
  EXPECT_EQ(mpMemcpyHtoD(nullptr, nullptr, 0), 0);
  EXPECT_EQ(mpGetLastErrorCode(), MP_SUCCESS);
  EXPECT_EQ(mpGetErrorCount(), 0);
}

TEST_F(NoDriver, FirstErrorIsKeptUntilCleared) {
  EXPECT_STREQ(mpGetLastError(), "");
  mgpuMemcpy(nullptr, nullptr, 0, nullptr); // no-op, no error
  EXPECT_EQ(mpGetErrorCount(), 0);
  mpMemcpyHtoD(nullptr, nullptr, 16); // null pointer: invalid argument
  EXPECT_EQ(mpGetLastErrorCode(), MP_ERROR_INVALID_ARGUMENT);
  std::string first = lastError();
  EXPECT_NE(first.find("null pointer"), std::string::npos) << first;
  EXPECT_EQ(mpStreamCreate(), nullptr); // no driver: counted, not kept
  EXPECT_EQ(mpGetLastErrorCode(), MP_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), first);
  EXPECT_EQ(mpGetErrorCount(), 2);
  mpClearError();
  EXPECT_EQ(mpGetLastErrorCode(), MP_SUCCESS);
  EXPECT_STREQ(mpGetLastError(), "");
  EXPECT_EQ(mpGetErrorCount(), 0);
}

TEST_F(NoDriver, ErrorsArePerThread) {
  int otherCode = 0;
  std::thread([&] {
    EXPECT_EQ(mpStreamCreate(), nullptr);
    otherCode = mpGetLastErrorCode();
  }).join();
  EXPECT_EQ(otherCode, MP_ERROR_NO_DRIVER);
  EXPECT_EQ(mpGetLastErrorCode(), MP_SUCCESS);
}

TEST_F(NoDriver, DefaultStreamOverridesStreamCreation) {
  void *fake = reinterpret_cast<void *>(std::uintptr_t(0x1000));
  EXPECT_EQ(mpGetDefaultStream(), nullptr);
  mpSetDefaultStream(fake);
  EXPECT_EQ(mpGetDefaultStream(), fake);
  EXPECT_EQ(mgpuStreamCreate(), fake); // no driver call, no error
  EXPECT_EQ(mpGetLastErrorCode(), MP_SUCCESS);
  mgpuStreamDestroy(fake); // the default stream is never destroyed
  EXPECT_EQ(mpGetLastErrorCode(), MP_SUCCESS);
  mpSetDefaultStream(nullptr);
  EXPECT_EQ(mpGetDefaultStream(), nullptr);
  EXPECT_EQ(mgpuStreamCreate(), nullptr); // the legacy NULL stream
  EXPECT_EQ(mpGetLastErrorCode(), MP_SUCCESS);
}

//===----------------------------------------------------------------------===//
// With a GPU (MULTIPOLE_TEST_GPU=1)
//===----------------------------------------------------------------------===//

class Gpu : public ::testing::Test {
protected:
  void SetUp() override {
    if (!gpuMode())
      GTEST_SKIP() << "set MULTIPOLE_TEST_GPU=1 to run on a GPU";
    mpClearError();
    if (!mpCudaAvailable())
      GTEST_SKIP() << "no usable GPU: " << mpGetLastError();
    module = mgpuModuleLoadJIT(const_cast<char *>(kTestKernelsPtx), 3);
    ASSERT_EQ(mpGetLastErrorCode(), MP_SUCCESS) << mpGetLastError();
    axpy = mgpuModuleGetFunction(module, "axpy");
    roundtrip = mgpuModuleGetFunction(module, "smem_roundtrip");
    ASSERT_NE(axpy, nullptr) << mpGetLastError();
    ASSERT_NE(roundtrip, nullptr) << mpGetLastError();
  }
  void TearDown() override {
    if (!module)
      return; // skipped
    mpSetDefaultStream(nullptr);
    mpSetDefaultStreamSync(1);
    mgpuModuleUnload(module);
    EXPECT_EQ(mpGetLastErrorCode(), MP_SUCCESS) << mpGetLastError();
    mpClearError();
  }

  // What gpu-to-llvm emits for one launch: params is an array of pointers to
  // the argument values.
  void launchAxpy(void *stream, void *x, void *y, float a, unsigned n) {
    void *params[] = {&x, &y, &a, &n};
    mgpuLaunchKernel(axpy, (n + 127) / 128, 1, 1, 128, 1, 1, 0, stream, params,
                     nullptr, 4);
  }

  void *module = nullptr;
  void *axpy = nullptr;
  void *roundtrip = nullptr;
};

TEST_F(Gpu, DeviceProperties) {
  char name[256];
  EXPECT_EQ(mpDeviceName(name, sizeof(name)), 0);
  EXPECT_GT(std::strlen(name), 0u);
  EXPECT_GT(mpDeviceSMCount(), 0);
  EXPECT_GT(mpDeviceComputeCapability(), 0);
  EXPECT_GT(mpDriverVersion(), 0);
  std::printf("[ device   ] %s, %d SMs, sm_%d, driver %d\n", name,
              mpDeviceSMCount(), mpDeviceComputeCapability(),
              mpDriverVersion());
}

// The call sequence of a compiled host function: stream, alloc, copies,
// launch, copy back, free, synchronize, destroy.
TEST_F(Gpu, HostFunctionSequence) {
  const unsigned n = 1000;
  std::vector<float> x(n), y(n), out(n, 0.0f);
  for (unsigned i = 0; i < n; ++i) {
    x[i] = float(i);
    y[i] = 1.0f;
  }
  void *own = mpStreamCreate();
  ASSERT_NE(own, nullptr) << mpGetLastError();
  ASSERT_EQ(mpCallBegin(own), MP_SUCCESS) << mpGetLastError();
  void *s = mgpuStreamCreate();
  ASSERT_EQ(s, own); // the call's stream, not a new one
  void *dx = mgpuMemAlloc(n * 4, s, 0);
  void *dy = mgpuMemAlloc(n * 4, s, 0);
  ASSERT_NE(dx, nullptr);
  ASSERT_NE(dy, nullptr);
  mgpuMemcpy(dx, x.data(), n * 4, s);
  mgpuMemcpy(dy, y.data(), n * 4, s);
  launchAxpy(s, dx, dy, 2.0f, n);
  mgpuMemcpy(out.data(), dy, n * 4, s);
  mgpuMemFree(dx, s);
  mgpuMemFree(dy, s);
  mgpuStreamSynchronize(s); // no-op inside a call
  mgpuStreamDestroy(s);     // never destroys the caller's stream
  ASSERT_EQ(mpCallEnd(), MP_SUCCESS) << mpGetLastError();
  ASSERT_EQ(mpInCall(), 0);
  ASSERT_EQ(mpStreamSynchronize(own), MP_SUCCESS) << mpGetLastError();
  mpStreamDestroy(own);
  for (unsigned i = 0; i < n; ++i)
    ASSERT_EQ(out[i], 2.0f * float(i) + 1.0f) << i;
}

// After a failure inside a call, later kernels of the call are not launched
// (they would run on memory that was never allocated).
TEST_F(Gpu, CallSkipsLaunchesAfterAFailure) {
  const unsigned n = 256;
  std::vector<float> x(n, 1.0f), y(n, 5.0f), out(n, 0.0f);
  void *own = mpStreamCreate();
  ASSERT_NE(own, nullptr) << mpGetLastError();
  void *dx = mpMalloc(n * 4), *dy = mpMalloc(n * 4);
  ASSERT_EQ(mpMemcpyHtoD(dx, x.data(), n * 4), 0);
  ASSERT_EQ(mpMemcpyHtoD(dy, y.data(), n * 4), 0);
  ASSERT_EQ(mpCallBegin(own), MP_SUCCESS);
  EXPECT_EQ(mpCallBegin(own), MP_ERROR_INVALID_ARGUMENT); // no nesting
  mpClearError();
  // An allocation far beyond the device's memory fails...
  EXPECT_EQ(mgpuMemAlloc(uint64_t(1) << 60, own, 0), nullptr);
  // ... so this launch is skipped.
  launchAxpy(own, dx, dy, 2.0f, n);
  EXPECT_NE(mpCallEnd(), MP_SUCCESS);
  mpClearError();
  ASSERT_EQ(mpStreamSynchronize(own), MP_SUCCESS) << mpGetLastError();
  ASSERT_EQ(mpMemcpyDtoH(out.data(), dy, n * 4), 0);
  for (unsigned i = 0; i < n; ++i)
    ASSERT_EQ(out[i], 5.0f) << i;
  mpFree(dx);
  mpFree(dy);
  mpStreamDestroy(own);
}

TEST_F(Gpu, ClientMemoryHelpers) {
  const unsigned n = 4096;
  void *d = mpMalloc(n * 4);
  ASSERT_NE(d, nullptr) << mpGetLastError();
  EXPECT_EQ(mpMemsetD32(d, 0x3f800000u /* 1.0f */, n), 0);
  std::vector<float> h(n, 0.0f);
  EXPECT_EQ(mpMemcpyDtoH(h.data(), d, n * 4), 0);
  for (unsigned i = 0; i < n; ++i)
    ASSERT_EQ(h[i], 1.0f);
  for (unsigned i = 0; i < n; ++i)
    h[i] = float(i);
  EXPECT_EQ(mpMemcpyHtoD(d, h.data(), n * 4), 0);
  std::vector<float> back(n);
  EXPECT_EQ(mpMemcpyDtoH(back.data(), d, n * 4), 0);
  EXPECT_EQ(back, h);
  EXPECT_EQ(mpSynchronize(), 0);
  mpFree(d);
  // Memory from compiled code (stream-ordered) can be freed by clients.
  void *s = mpStreamCreate();
  void *p = mgpuMemAlloc(1 << 20, s, 0);
  ASSERT_NE(p, nullptr);
  mgpuMemset32(p, 0, (1 << 20) / 4, s);
  mgpuMemset16(p, 0xffff, 8, s);
  mgpuStreamSynchronize(s);
  mpFree(p);
  mpStreamDestroy(s);
  // Host-shared (managed) memory is reachable from the host.
  auto *managed = static_cast<unsigned *>(mgpuMemAlloc(64, nullptr, 1));
  ASSERT_NE(managed, nullptr) << mpGetLastError();
  managed[0] = 42;
  EXPECT_EQ(managed[0], 42u);
  mgpuMemFree(managed, nullptr);
}

TEST_F(Gpu, LargeDynamicSharedMemory) {
  const unsigned threads = 256;
  const int32_t smem = 150 * 1024; // H100/H200 allow 227 KiB per block
  void *s = mgpuStreamCreate();
  void *out = mgpuMemAlloc(threads * 4, s, 0);
  ASSERT_NE(out, nullptr);
  unsigned bytes = unsigned(smem);
  void *params[] = {&out, &bytes};
  mgpuLaunchKernel(roundtrip, 1, 1, 1, threads, 1, 1, smem, s, params, nullptr,
                   2);
  std::vector<unsigned> h(threads, 0);
  mgpuMemcpy(h.data(), out, threads * 4, s);
  mgpuStreamSynchronize(s);
  ASSERT_EQ(mpGetLastErrorCode(), MP_SUCCESS) << mpGetLastError();
  for (unsigned t = 0; t < threads; ++t)
    ASSERT_EQ(h[t], (t + 1) % threads + 1000) << t;
  // Asking for more than the device has is refused before launching.
  bytes = 4u << 20;
  mgpuLaunchKernel(roundtrip, 1, 1, 1, threads, 1, 1, int32_t(bytes), s, params,
                   nullptr, 2);
  EXPECT_EQ(mpGetLastErrorCode(), MP_ERROR_INVALID_ARGUMENT);
  EXPECT_NE(lastError().find("shared memory"), std::string::npos)
      << lastError();
  mpClearError();
  mgpuMemFree(out, s);
  mgpuStreamSynchronize(s);
  mgpuStreamDestroy(s);
}

TEST_F(Gpu, LaunchErrorsAreRecorded) {
  void *s = mgpuStreamCreate();
  mgpuLaunchKernel(axpy, 0, 1, 1, 128, 1, 1, 0, s, nullptr, nullptr, 4);
  EXPECT_EQ(mpGetLastErrorCode(), MP_ERROR_INVALID_ARGUMENT);
  mpClearError();
  void *x = nullptr, *y = nullptr;
  float a = 1.0f;
  unsigned n = 1;
  void *params[] = {&x, &y, &a, &n};
  mgpuLaunchKernel(axpy, 1, 1, 1, 4096, 1, 1, 0, s, params, nullptr, 4);
  EXPECT_GT(mpGetLastErrorCode(), 0); // a CUresult
  EXPECT_EQ(lastError().rfind("cuLaunchKernel failed: ", 0), 0u) << lastError();
  mpClearError();
  EXPECT_EQ(mgpuModuleGetFunction(module, "no_such_kernel"), nullptr);
  EXPECT_NE(lastError().find("no_such_kernel"), std::string::npos);
  mpClearError();
  mgpuStreamSynchronize(s);
  mgpuStreamDestroy(s);
}

TEST_F(Gpu, BadPtxReportsJitLog) {
  const char bad[] = ".version 7.0\n.target sm_52\n.address_size 64\n"
                     ".visible .entry broken() { bogus.instruction; }\n";
  void *m = mgpuModuleLoadJIT(const_cast<char *>(bad), 2);
  EXPECT_GT(mpGetLastErrorCode(), 0);
  mpClearError();
  EXPECT_EQ(mgpuModuleGetFunction(m, "broken"), nullptr);
  std::string message = lastError();
  EXPECT_NE(message.find("cuModuleLoadDataEx failed"), std::string::npos)
      << message;
  EXPECT_NE(message.find("log:"), std::string::npos) << message;
  mgpuModuleUnload(m);
  mpClearError();
}

TEST_F(Gpu, CubinBuiltNextToTheTest) {
  std::string path = exeDir() + "/CudaRuntimeTest_kernels.sm_" +
                     std::to_string(mpDeviceComputeCapability()) + ".cubin";
  std::ifstream in(path, std::ios::binary);
  if (!in)
    GTEST_SKIP() << "no " << path;
  std::vector<char> image((std::istreambuf_iterator<char>(in)),
                          std::istreambuf_iterator<char>());
  void *m = mgpuModuleLoad(image.data(), image.size());
  void *f = mgpuModuleGetFunction(m, "axpy");
  ASSERT_NE(f, nullptr) << mpGetLastError();
  const unsigned n = 256;
  std::vector<float> h(n, 3.0f);
  void *s = mgpuStreamCreate();
  void *d = mgpuMemAlloc(n * 4, s, 0);
  mgpuMemcpy(d, h.data(), n * 4, s);
  void *x = d, *y = d;
  float a = 1.0f;
  unsigned count = n;
  void *params[] = {&x, &y, &a, &count};
  mgpuLaunchKernel(f, 2, 1, 1, 128, 1, 1, 0, s, params, nullptr, 4);
  mgpuMemcpy(h.data(), d, n * 4, s);
  mgpuMemFree(d, s);
  mgpuStreamSynchronize(s);
  mgpuStreamDestroy(s);
  mgpuModuleUnload(m);
  ASSERT_EQ(mpGetLastErrorCode(), MP_SUCCESS) << mpGetLastError();
  for (unsigned i = 0; i < n; ++i)
    ASSERT_EQ(h[i], 6.0f);
}

TEST_F(Gpu, ClusterLaunch) {
  if (mpDeviceComputeCapability() < 90)
    GTEST_SKIP() << "clusters need sm_90";
  const unsigned n = 512;
  std::vector<float> h(n, 1.0f);
  void *s = mgpuStreamCreate();
  void *d = mgpuMemAlloc(n * 4, s, 0);
  mgpuMemcpy(d, h.data(), n * 4, s);
  void *x = d, *y = d;
  float a = 1.0f;
  unsigned count = n;
  void *params[] = {&x, &y, &a, &count};
  mgpuLaunchClusterKernel(axpy, 2, 1, 1, 4, 1, 1, 128, 1, 1, 0, s, params,
                          nullptr);
  mgpuMemcpy(h.data(), d, n * 4, s);
  mgpuMemFree(d, s);
  mgpuStreamSynchronize(s);
  mgpuStreamDestroy(s);
  ASSERT_EQ(mpGetLastErrorCode(), MP_SUCCESS) << mpGetLastError();
  for (unsigned i = 0; i < n; ++i)
    ASSERT_EQ(h[i], 2.0f) << i;
}

TEST_F(Gpu, EventTiming) {
  void *s = mpStreamCreate();
  mpSetDefaultStream(s);
  void *start = mpEventCreate(), *end = mpEventCreate();
  ASSERT_NE(start, nullptr);
  const unsigned n = 1 << 20;
  void *d = mgpuMemAlloc(n * 4, s, 0);
  EXPECT_EQ(mpEventRecord(start, nullptr), 0);
  for (int i = 0; i < 10; ++i)
    launchAxpy(mgpuStreamCreate(), d, d, 1.0f, n);
  EXPECT_EQ(mpEventRecord(end, nullptr), 0);
  float ms = mpEventElapsedMs(start, end);
  EXPECT_GE(ms, 0.0f) << mpGetLastError();
  std::printf("[ timing   ] 10 axpy launches over 4 MiB: %.3f ms\n", ms);
  mgpuMemFree(d, s);
  mpEventDestroy(start);
  mpEventDestroy(end);
  mpSetDefaultStream(nullptr);
  EXPECT_EQ(mpStreamSynchronize(s), 0);
  mpStreamDestroy(s);
}

// Emulates one compiled decode step: y += a * x with a temporary, all through
// the mgpu* calls the host code makes (its own "stream", allocation, free,
// synchronize, destroy).
void decodeStep(void *axpy, void *x, void *y, unsigned n) {
  void *s = mgpuStreamCreate();
  void *tmp = mgpuMemAlloc(n * 4, s, 0);
  mgpuMemset32(tmp, 0, n, s);
  mgpuMemcpy(tmp, x, n * 4, s); // device to device
  float a = 0.5f;
  void *params[] = {&tmp, &y, &a, &n};
  mgpuLaunchKernel(axpy, (n + 127) / 128, 1, 1, 128, 1, 1, 0, s, params,
                   nullptr, 4);
  mgpuMemFree(tmp, s);
  mgpuStreamSynchronize(s);
  mgpuStreamDestroy(s);
}

TEST_F(Gpu, GraphCaptureOfAHostFunction) {
  const unsigned n = 2048;
  void *x = mpMalloc(n * 4), *y = mpMalloc(n * 4);
  std::vector<float> hx(n, 2.0f), hy(n);
  ASSERT_EQ(mpMemcpyHtoD(x, hx.data(), n * 4), 0);
  ASSERT_EQ(mpMemsetD32(y, 0, n), 0);

  void *s = mpGraphCaptureBegin(nullptr);
  ASSERT_NE(s, nullptr) << mpGetLastError();
  EXPECT_EQ(mpGetDefaultStream(), s);
  decodeStep(axpy, x, y, n);
  decodeStep(axpy, x, y, n);
  void *exec = nullptr;
  ASSERT_EQ(mpGraphCaptureEnd(s, &exec), 0) << mpGetLastError();
  ASSERT_NE(exec, nullptr);
  EXPECT_EQ(mpGetDefaultStream(), nullptr);
  ASSERT_EQ(mpGetLastErrorCode(), MP_SUCCESS) << mpGetLastError();

  // Nothing ran during capture.
  ASSERT_EQ(mpMemcpyDtoH(hy.data(), y, n * 4), 0);
  EXPECT_EQ(hy[0], 0.0f);

  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(mpGraphLaunch(exec, s), 0) << mpGetLastError();
  ASSERT_EQ(mpStreamSynchronize(s), 0);
  ASSERT_EQ(mpMemcpyDtoH(hy.data(), y, n * 4), 0);
  for (unsigned i = 0; i < n; ++i)
    ASSERT_EQ(hy[i], 6.0f) << i; // 3 launches x 2 steps x 0.5 x 2

  // Inputs changed in place are seen by the next replay.
  std::vector<float> hx2(n, 4.0f);
  ASSERT_EQ(mpMemcpyHtoD(x, hx2.data(), n * 4), 0);
  ASSERT_EQ(mpGraphLaunch(exec, s), 0);
  ASSERT_EQ(mpStreamSynchronize(s), 0);
  ASSERT_EQ(mpMemcpyDtoH(hy.data(), y, n * 4), 0);
  EXPECT_EQ(hy[0], 10.0f);

  // Timing replays against the direct calls.
  void *e0 = mpEventCreate(), *e1 = mpEventCreate();
  mpEventRecord(e0, s);
  for (int i = 0; i < 100; ++i)
    mpGraphLaunch(exec, s);
  mpEventRecord(e1, s);
  float graphMs = mpEventElapsedMs(e0, e1);
  mpSetDefaultStream(s);
  mpEventRecord(e0, nullptr);
  for (int i = 0; i < 100; ++i) {
    decodeStep(axpy, x, y, n);
    decodeStep(axpy, x, y, n);
  }
  mpEventRecord(e1, nullptr);
  float directMs = mpEventElapsedMs(e0, e1);
  mpSetDefaultStream(nullptr);
  std::printf("[ graph    ] 100 replays of 2 captured steps: %.3f ms; the same "
              "200 steps called directly on a default stream: %.3f ms\n",
              graphMs, directMs);
  EXPECT_GE(graphMs, 0.0f);
  EXPECT_GE(directMs, 0.0f);
  mpEventDestroy(e0);
  mpEventDestroy(e1);

  mpGraphDestroy(exec);
  mpStreamDestroy(s);
  mpFree(x);
  mpFree(y);
}

TEST_F(Gpu, DeferredSyncOnDefaultStream) {
  void *s = mpStreamCreate();
  mpSetDefaultStream(s);
  mpSetDefaultStreamSync(0);
  const unsigned n = 1024;
  void *x = mpMalloc(n * 4), *y = mpMalloc(n * 4);
  mpMemsetD32(x, 0x3f800000u, n);
  mpMemsetD32(y, 0, n);
  for (int i = 0; i < 4; ++i)
    decodeStep(axpy, x, y, n); // returns without waiting
  EXPECT_EQ(mpStreamSynchronize(s), 0);
  std::vector<float> hy(n);
  EXPECT_EQ(mpMemcpyDtoH(hy.data(), y, n * 4), 0);
  EXPECT_EQ(hy[n - 1], 2.0f);
  mpSetDefaultStreamSync(1);
  mpSetDefaultStream(nullptr);
  mpFree(x);
  mpFree(y);
  mpStreamDestroy(s);
}

} // namespace

int main(int argc, char **argv) {
  // Must happen before the runtime's first use (it loads the driver once).
  if (!gpuMode())
    setenv("MULTIPOLE_LIBCUDA", kMissingDriver, /*overwrite=*/0);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
