/*===- CudaRuntime.h - Multipole CUDA runtime (libmultipole_cuda_runtime) -===*
 *
 * C interface of build/lib/libmultipole_cuda_runtime.so. The library has two
 * faces:
 *
 *  1. The `mgpu*` functions that host code lowered by MLIR 22's gpu-to-llvm
 *     (and `mlir-translate --mlir-to-llvmir` of gpu.binary) calls. Their
 *     signatures are exactly the ones MLIR 22.1 emits.
 *  2. The `mp*` functions for clients (multipole-run, the Python loader,
 *     tests): availability, errors, memory, timing, CUDA graphs, streams.
 *
 * The CUDA driver (libcuda.so.1, or $MULTIPOLE_LIBCUDA) is dlopen'ed on first
 * use; the library never links libcuda or libcudart and loads fine on
 * machines without a GPU.
 *
 * Errors never abort and are never printed (unless MULTIPOLE_CUDA_VERBOSE=1).
 * Each thread has an error slot: the first failure on that thread since the
 * last mpClearError() is kept (its code and message), later failures only
 * increase mpGetErrorCount() -- the first one is the cause, the later ones are
 * usually its consequences. Failing calls return NULL / 0 / a non-zero code /
 * -1.0f as documented below. The `mgpu*` functions return nothing, so check
 * mpGetLastErrorCode() after calling a compiled entry point.
 *
 * Environment:
 *   MULTIPOLE_LIBCUDA      name or path given to dlopen (default libcuda.so.1)
 *   MULTIPOLE_CUDA_DEVICE  device ordinal (default 0; mgpuSetDefaultDevice and
 *                          mpSetDevice override it)
 *   MULTIPOLE_CUDA_ALLOC   "sync" makes mgpuMemAlloc/mgpuMemFree outside a call
 *                          (mpCallBegin) use cuMemAlloc/cuMemFree even on a
 *                          stream; calls always allocate stream-ordered (default:
 *                          stream-ordered cuMemAllocAsync/cuMemFreeAsync from
 *                          the device's default pool; the pool's release
 *                          threshold is raised so freed memory is cached)
 *   MULTIPOLE_CUDA_VERBOSE "1" prints every recorded error to stderr
 *
 *===----------------------------------------------------------------------===*/

#ifndef MULTIPOLE_RUNTIME_CUDARUNTIME_H
#define MULTIPOLE_RUNTIME_CUDARUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*===------------------------------------------------------------------------===
 * Error codes (mpGetLastErrorCode). Positive values are CUresult codes from
 * the driver (e.g. 2 = CUDA_ERROR_OUT_OF_MEMORY, 100 = CUDA_ERROR_NO_DEVICE).
 *===------------------------------------------------------------------------===*/
enum {
  MP_SUCCESS = 0,
  MP_ERROR_NO_DRIVER = -1,        /* libcuda could not be loaded            */
  MP_ERROR_DRIVER_TOO_OLD = -2,   /* a required/needed entry point missing  */
  MP_ERROR_INVALID_ARGUMENT = -3, /* null handle, bad size, bad dimension   */
  MP_ERROR_CAPTURE = -4,          /* call not allowed while capturing       */
  MP_ERROR_OUT_OF_HOST_MEMORY = -5
};

/*===------------------------------------------------------------------------===
 * Availability, errors, device
 *===------------------------------------------------------------------------===*/

/* 1 when the driver loaded, cuInit succeeded and the device's primary context
 * is usable; 0 otherwise (and the reason is recorded as an error). */
int mpCudaAvailable(void);

/* Message of this thread's pending error, "" if none. Valid until the next
 * mpClearError() on this thread. */
const char *mpGetLastError(void);
/* Code of this thread's pending error (MP_SUCCESS if none). */
int mpGetLastErrorCode(void);
/* Number of failures on this thread since the last mpClearError(). */
int mpGetErrorCount(void);
void mpClearError(void);

/* Select the device used from now on (same as mgpuSetDefaultDevice). Handles
 * (modules, streams, memory) made on another device stay on that device. */
void mpSetDevice(int ordinal);
/* Device name into buf (NUL-terminated, truncated to len). 0 on success,
 * else an error code (buf is set to "" when len > 0). */
int mpDeviceName(char *buf, int len);
/* Number of SMs of the device, 0 on failure. */
int mpDeviceSMCount(void);
/* Compute capability as 10*major + minor (90 for an H100/H200), 0 on
 * failure. */
int mpDeviceComputeCapability(void);
/* Driver's CUDA version (e.g. 13000), 0 on failure. */
int mpDriverVersion(void);

/*===------------------------------------------------------------------------===
 * Calls on the caller's stream (ABI version 2)
 *
 * A CUDA library exports, for each entry point `f`, the wrapper
 *   int32_t mpentry_f(void *stream, Desc *arg0, Desc *arg1, ...)
 * which is mpCallBegin(stream); _mlir_ciface_f(args...); return mpCallEnd().
 * Between the two, on this thread:
 *   - every kernel, copy, memset, allocation and free of the entry point is
 *     queued on `stream` (NULL is the legacy NULL stream, which is a valid
 *     caller stream: torch's default stream is handle 0);
 *   - scratch memory comes from cuMemAllocAsync/cuMemFreeAsync on `stream`
 *     (the device's default memory pool), so it is stream-ordered and
 *     becomes graph memory nodes under stream capture;
 *   - no stream is created and nothing is synchronized: the call returns as
 *     soon as its work is queued; it can be captured (cuStreamBeginCapture,
 *     torch.cuda.graph) on `stream`;
 *   - after the first failure (an allocation or launch that failed), later
 *     kernels of the call are not launched, so no kernel ever runs with
 *     memory that was not given to it.
 * The return value is MP_SUCCESS or the code of the call's first failure
 * (message: mpGetLastError). Faults of kernels that were launched surface at
 * the caller's next synchronization, as in CUDA itself.
 *===------------------------------------------------------------------------===*/

/* Starts a call on `stream` (clears this thread's error slot). 0 or an error
 * code (no usable driver, or a call already in progress on this thread). */
int mpCallBegin(void *stream);
/* Flags of mpCallBeginFlags. */
enum {
  /* The call's kernels start with griddepcontrol.wait (the compiler's
   * multipole-gpu-programmatic-launch): launch each with
   * CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION, so that its
   * launch is processed while the previous kernel's last CTAs finish
   * (Hopper's programmatic dependent launch). Ignored below sm_90, without
   * cuLaunchKernelEx, or when the environment sets
   * MULTIPOLE_PROGRAMMATIC_LAUNCH=0 (read at each call). */
  MP_CALL_PROGRAMMATIC_LAUNCH = 1
};
/* mpCallBegin with flags (MP_CALL_*; unknown bits are an error). */
int mpCallBeginFlags(void *stream, int flags);
/* Ends the call; returns the code of its first failure (MP_SUCCESS if none). */
int mpCallEnd(void);
/* The stream of the call in progress on this thread (NULL when none, or when
 * it is the legacy NULL stream: see mpInCall). */
void *mpCallStream(void);
/* 1 while a call is in progress on this thread. */
int mpInCall(void);

/*===------------------------------------------------------------------------===
 * Memory (synchronous helpers for clients)
 *===------------------------------------------------------------------------===*/

/* cuMemAlloc; NULL on failure or for 0 bytes. */
void *mpMalloc(size_t bytes);
/* Frees memory from mpMalloc or returned by compiled code (mgpuMemAlloc);
 * waits for the device first. NULL is ignored. */
void mpFree(void *ptr);
/* Blocking copies/memset, ordered after all work queued on the default stream
 * (mpSetDefaultStream) when one is set, else on the legacy NULL stream.
 * Return 0 or an error code. Not allowed while the default stream captures. */
int mpMemcpyHtoD(void *dstDevice, const void *srcHost, size_t bytes);
int mpMemcpyDtoH(void *dstHost, const void *srcDevice, size_t bytes);
int mpMemsetD32(void *dstDevice, unsigned value, size_t count);
/* Waits for all work on the device (cuCtxSynchronize). 0 or an error code. */
int mpSynchronize(void);

/*===------------------------------------------------------------------------===
 * Streams
 *
 * MLIR's host code brackets every function with mgpuStreamCreate() ...
 * mgpuStreamSynchronize(s); mgpuStreamDestroy(s). mgpuStreamCreate never
 * creates a stream: inside a call (mpCallBegin) it returns the call's
 * stream, and synchronizing it is a no-op. Outside a call (an
 * `_mlir_ciface_f` called directly, the ABI version 1 way) it returns the
 * default stream when one is set, else the legacy NULL stream, and the entry
 * point waits for its work before returning. mgpuStreamDestroy does nothing.
 * With a default stream set:
 *   - mgpuStreamSynchronize(default) synchronizes, except (a) while that
 *     stream is capturing (then it is a no-op; synchronizing would invalidate
 *     the capture) and (b) when mpSetDefaultStreamSync(0) was called (then the
 *     entry point returns without waiting; use mpStreamSynchronize or events).
 * Every mgpu* call that takes a stream uses the stream it is given, so all
 * work of an entry point lands on the default stream in program order.
 * The default stream is process-wide (not per thread).
 *===------------------------------------------------------------------------===*/

/* New non-blocking stream, NULL on failure. */
void *mpStreamCreate(void);
void mpStreamDestroy(void *stream);
int mpStreamSynchronize(void *stream);
/* Set (non-NULL) or clear (NULL) the default stream. Does not take
 * ownership. */
void mpSetDefaultStream(void *stream);
void *mpGetDefaultStream(void);
/* 1 (default): mgpuStreamSynchronize(default stream) waits unless capturing;
 * 0: it never waits. */
void mpSetDefaultStreamSync(int enabled);

/*===------------------------------------------------------------------------===
 * Timing. A NULL stream means the default stream if one is set, else the
 * legacy NULL stream.
 *===------------------------------------------------------------------------===*/
void *mpEventCreate(void);
int mpEventRecord(void *event, void *stream);
/* Waits for `end`, then returns the milliseconds between the two events;
 * -1.0f on failure. */
float mpEventElapsedMs(void *start, void *end);
void mpEventDestroy(void *event);

/*===------------------------------------------------------------------------===
 * CUDA graphs (capture whole entry-point calls, replay them cheaply)
 *
 *   void *s = mpGraphCaptureBegin(NULL);   // or an existing stream
 *   step(args...);                         // compiled entry point(s)
 *   void *exec; mpGraphCaptureEnd(s, &exec);
 *   for (...) { update input buffers in place; mpGraphLaunch(exec, s); }
 *   mpStreamSynchronize(s); mpGraphDestroy(exec);
 *
 * mpGraphCaptureBegin(stream) uses `stream`, or the default stream when NULL
 * and one is set, or else a new stream (returned; destroy it with
 * mpStreamDestroy); makes it the default stream until mpGraphCaptureEnd; and
 * starts a relaxed-mode capture. It returns the capturing stream, NULL on
 * failure. mpGraphCaptureEnd restores the previous default stream, ends the
 * capture and instantiates the graph (0 or an error code; *exec = NULL on
 * failure). A graph replays the kernels, copies and memsets with the same
 * arguments: pointers, sizes and scalars are frozen at capture time.
 * Allocations made during capture (mgpuMemAlloc) become graph memory nodes;
 * the graph is instantiated with auto-free-on-launch, so buffers the captured
 * code allocates and does not free keep their address and are recycled at the
 * next launch.
 *===------------------------------------------------------------------------===*/
void *mpGraphCaptureBegin(void *stream);
int mpGraphCaptureEnd(void *stream, void **exec);
/* NULL stream: the default stream if set, else the legacy NULL stream. */
int mpGraphLaunch(void *exec, void *stream);
void mpGraphDestroy(void *exec);

/*===------------------------------------------------------------------------===
 * MLIR 22 gpu-to-llvm runtime ABI (called by compiled host code; index
 * arguments are intptr_t/int64_t, `i8`/`i32`/`i16` as noted).
 *===------------------------------------------------------------------------===*/

/* Cubin / fatbin / PTX image -> opaque module handle (also on failure, then
 * mgpuModuleGetFunction reports why). Emitted in a global constructor. */
void *mgpuModuleLoad(void *data, size_t size);
/* NUL-terminated PTX, JIT-compiled at optLevel (0..4). */
void *mgpuModuleLoadJIT(void *data, int optLevel);
void mgpuModuleUnload(void *module);
/* NULL on failure. */
void *mgpuModuleGetFunction(void *module, const char *name);
/* smem > 48 KiB raises the function's dynamic shared memory limit first. */
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t paramsCount);
void mgpuLaunchClusterKernel(void *function, intptr_t clusterX,
                             intptr_t clusterY, intptr_t clusterZ,
                             intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                             intptr_t blockX, intptr_t blockY, intptr_t blockZ,
                             int32_t smem, void *stream, void **params,
                             void **extra);
void *mgpuStreamCreate(void);
void mgpuStreamDestroy(void *stream);
void mgpuStreamSynchronize(void *stream);
void mgpuStreamWaitEvent(void *stream, void *event);
void *mgpuEventCreate(void);
void mgpuEventDestroy(void *event);
void mgpuEventSynchronize(void *event);
void mgpuEventRecord(void *event, void *stream);
void *mgpuMemAlloc(uint64_t bytes, void *stream, int8_t isHostShared);
void mgpuMemFree(void *ptr, void *stream);
void mgpuMemcpy(void *dst, void *src, size_t bytes, void *stream);
void mgpuMemset32(void *dst, unsigned value, size_t count, void *stream);
void mgpuMemset16(void *dst, unsigned short value, size_t count, void *stream);
void mgpuMemHostRegister(void *ptr, uint64_t bytes);
void mgpuMemHostUnregister(void *ptr);
void mgpuMemHostRegisterMemRef(int64_t rank, void *rankedDescriptor,
                               int64_t elementBytes);
void mgpuMemHostUnregisterMemRef(int64_t rank, void *rankedDescriptor,
                                 int64_t elementBytes);
void mgpuSetDefaultDevice(int32_t device);
/* TMA descriptor for a ranked memref, copied to device memory (which is never
 * freed); NULL on failure. */
void *mgpuTensorMapEncodeTiledMemref(int64_t rank, void *rankedDescriptor,
                                     int64_t dataType, int64_t interleave,
                                     int64_t swizzle, int64_t l2Promotion,
                                     int64_t oobFill, int64_t *boxDims);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MULTIPOLE_RUNTIME_CUDARUNTIME_H */
