//===- CudaDriverTypes.h - The few CUDA driver API types we need -*- C++
//-*-===//
//
// The runtime resolves the CUDA driver API with dlopen/dlsym and never
// includes <cuda.h>, so that it builds on machines without the CUDA toolkit.
// This header declares, in namespace `mpcu`, the handful of handle types,
// enumerator values, structures and function-pointer types the runtime uses.
// Values and layouts follow the driver API's stable ABI (checked against
// CUDA 13.0's cuda.h by unittests/Runtime/CudaRuntimeTest.cpp whenever that
// header is available at build time).
//
//===----------------------------------------------------------------------===//

#ifndef MULTIPOLE_LIB_RUNTIME_CUDA_CUDADRIVERTYPES_H
#define MULTIPOLE_LIB_RUNTIME_CUDA_CUDADRIVERTYPES_H

#include <cstddef>
#include <cstdint>

namespace mpcu {

// Opaque handles (pointers to driver-internal structs).
struct CtxSt;
struct ModSt;
struct FuncSt;
struct StreamSt;
struct EventSt;
struct GraphSt;
struct GraphExecSt;
struct MemPoolSt;
using Context = CtxSt *;
using Module = ModSt *;
using Function = FuncSt *;
using Stream = StreamSt *;
using Event = EventSt *;
using Graph = GraphSt *;
using GraphExec = GraphExecSt *;
using MemPool = MemPoolSt *;

using Result = int;                   // CUresult (a C enum, int-sized)
using Device = int;                   // CUdevice
using DevicePtr = unsigned long long; // CUdeviceptr on 64-bit hosts

// CUresult values the runtime looks at.
constexpr Result kSuccess = 0;             // CUDA_SUCCESS
constexpr Result kErrorInvalidValue = 1;   // CUDA_ERROR_INVALID_VALUE
constexpr Result kErrorNotInitialized = 3; // CUDA_ERROR_NOT_INITIALIZED
constexpr Result kErrorDeinitialized = 4;  // CUDA_ERROR_DEINITIALIZED
constexpr Result kErrorStubLibrary = 34;   // CUDA_ERROR_STUB_LIBRARY
constexpr Result kErrorNoDevice = 100;     // CUDA_ERROR_NO_DEVICE
constexpr Result kErrorNotReady = 600;     // CUDA_ERROR_NOT_READY

// CUjit_option.
constexpr int kJitInfoLogBuffer = 3;
constexpr int kJitInfoLogBufferSizeBytes = 4;
constexpr int kJitErrorLogBuffer = 5;
constexpr int kJitErrorLogBufferSizeBytes = 6;
constexpr int kJitOptimizationLevel = 7;

// CUdevice_attribute.
constexpr int kDevAttrMultiprocessorCount = 16;
constexpr int kDevAttrComputeCapabilityMajor = 75;
constexpr int kDevAttrComputeCapabilityMinor = 76;
constexpr int kDevAttrMaxSharedMemoryPerBlockOptin = 97;
constexpr int kDevAttrMemoryPoolsSupported = 115;

// CUfunction_attribute.
constexpr int kFuncAttrMaxDynamicSharedSizeBytes = 8;
constexpr int kFuncAttrNonPortableClusterSizeAllowed = 14;

// Flags.
constexpr unsigned kStreamNonBlocking = 0x1;  // CU_STREAM_NON_BLOCKING
constexpr unsigned kEventDefault = 0x0;       // CU_EVENT_DEFAULT
constexpr unsigned kEventDisableTiming = 0x2; // CU_EVENT_DISABLE_TIMING
constexpr unsigned kMemAttachGlobal = 0x1;    // CU_MEM_ATTACH_GLOBAL
constexpr unsigned long long kGraphInstantiateAutoFreeOnLaunch = 1;

// CUstreamCaptureMode / CUstreamCaptureStatus.
constexpr int kCaptureModeGlobal = 0;
constexpr int kCaptureModeThreadLocal = 1;
constexpr int kCaptureModeRelaxed = 2;
constexpr int kCaptureStatusNone = 0;
constexpr int kCaptureStatusActive = 1;
constexpr int kCaptureStatusInvalidated = 2;

// CUmemPool_attribute.
constexpr int kMemPoolAttrReleaseThreshold = 4;

// CUlaunchAttributeID / CUclusterSchedulingPolicy.
constexpr int kLaunchAttrClusterDimension = 4;
constexpr int kLaunchAttrClusterSchedulingPolicyPreference = 5;
constexpr int kLaunchAttrProgrammaticStreamSerialization = 6;
constexpr int kClusterSchedulingPolicySpread = 1;

// CUtensorMapDataType values with a whole-byte element (0 .. 12).
constexpr int kTensorMapDataTypeLastWholeByte = 12;

// CUlaunchAttributeValue: a 64-byte union whose widest members hold pointers.
union alignas(8) LaunchAttributeValue {
  char pad[64];
  struct {
    unsigned x, y, z;
  } clusterDim;
  int clusterSchedulingPolicyPreference;
  int programmaticStreamSerializationAllowed;
};

// CUlaunchAttribute.
struct LaunchAttribute {
  int id;
  char pad[8 - sizeof(int)];
  LaunchAttributeValue value;
};

// CUlaunchConfig.
struct LaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ;
  unsigned blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  Stream hStream;
  LaunchAttribute *attrs;
  unsigned numAttrs;
};

// CUtensorMap: 128 opaque bytes (the driver wants 64-byte alignment; CUDA 13
// declares 128).
struct alignas(128) TensorMap {
  std::uint64_t opaque[16];
};

// Driver entry points, by the signature of the versioned symbol we resolve.
namespace fn {
using Init = Result (*)(unsigned);
using DriverGetVersion = Result (*)(int *);
using DeviceGetCount = Result (*)(int *);
using DeviceGet = Result (*)(Device *, int);
using DeviceGetName = Result (*)(char *, int, Device);
using DeviceGetAttribute = Result (*)(int *, int, Device);
using DevicePrimaryCtxRetain = Result (*)(Context *, Device);
using CtxGetCurrent = Result (*)(Context *);
using CtxSetCurrent = Result (*)(Context);
using CtxSynchronize = Result (*)();
using GetErrorString = Result (*)(Result, const char **);
using ModuleLoadDataEx = Result (*)(Module *, const void *, unsigned, int *,
                                    void **);
using ModuleLoadData = Result (*)(Module *, const void *);
using ModuleUnload = Result (*)(Module);
using ModuleGetFunction = Result (*)(Function *, Module, const char *);
using FuncSetAttribute = Result (*)(Function, int, int);
using LaunchKernel = Result (*)(Function, unsigned, unsigned, unsigned,
                                unsigned, unsigned, unsigned, unsigned, Stream,
                                void **, void **);
using LaunchKernelEx = Result (*)(const LaunchConfig *, Function, void **,
                                  void **);
using StreamCreate = Result (*)(Stream *, unsigned);
using StreamSynchronize = Result (*)(Stream);
using StreamDestroy = Result (*)(Stream);
using StreamWaitEvent = Result (*)(Stream, Event, unsigned);
using StreamIsCapturing = Result (*)(Stream, int *);
using StreamBeginCapture = Result (*)(Stream, int);
using StreamEndCapture = Result (*)(Stream, Graph *);
using MemAlloc = Result (*)(DevicePtr *, size_t);
using MemAllocManaged = Result (*)(DevicePtr *, size_t, unsigned);
using MemAllocAsync = Result (*)(DevicePtr *, size_t, Stream);
using MemFree = Result (*)(DevicePtr);
using MemFreeAsync = Result (*)(DevicePtr, Stream);
using DeviceGetDefaultMemPool = Result (*)(MemPool *, Device);
using MemPoolSetAttribute = Result (*)(MemPool, int, void *);
using Memcpy = Result (*)(DevicePtr, DevicePtr, size_t);
using MemcpyAsync = Result (*)(DevicePtr, DevicePtr, size_t, Stream);
using MemsetD32Async = Result (*)(DevicePtr, unsigned, size_t, Stream);
using MemsetD16Async = Result (*)(DevicePtr, unsigned short, size_t, Stream);
using MemHostRegister = Result (*)(void *, size_t, unsigned);
using MemHostUnregister = Result (*)(void *);
using EventCreate = Result (*)(Event *, unsigned);
using EventRecord = Result (*)(Event, Stream);
using EventDestroy = Result (*)(Event);
using EventSynchronize = Result (*)(Event);
using EventElapsedTime = Result (*)(float *, Event, Event);
using GraphInstantiateWithFlags = Result (*)(GraphExec *, Graph,
                                             unsigned long long);
using GraphLaunch = Result (*)(GraphExec, Stream);
using GraphExecDestroy = Result (*)(GraphExec);
using GraphDestroy = Result (*)(Graph);
using TensorMapEncodeTiled = Result (*)(TensorMap *, int, unsigned, void *,
                                        const std::uint64_t *,
                                        const std::uint64_t *, const unsigned *,
                                        const unsigned *, int, int, int, int);
} // namespace fn

} // namespace mpcu

#endif // MULTIPOLE_LIB_RUNTIME_CUDA_CUDADRIVERTYPES_H
