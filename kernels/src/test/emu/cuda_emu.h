// Lets the project's .cu files compile as plain C++ so the tests can run the very same kernels on the
// CPU (see EmulatedDevice.java). Included ahead of each file with -include; DIFFIR_EMULATOR is defined.
// Model: one block at a time, one OS thread per CUDA thread; __shared__ becomes a function-static
// (one instance, which is right for one block at a time); barriers and warp shuffles are real
// barriers between those threads. Kernels must use full-warp shuffles with every lane present,
// as on the GPU.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>
#include <cfloat>

struct uint3 { unsigned x, y, z; };
struct dim3 { unsigned x, y, z; };

extern thread_local uint3 threadIdx;
extern thread_local uint3 blockIdx;
extern dim3 blockDim;
extern dim3 gridDim;

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __shared__ static
#define __constant__ static const
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))

constexpr int warpSize = 32;

struct alignas(16) float4 { float x, y, z, w; };
struct alignas(8) float2 { float x, y; };
struct alignas(16) int4 { int x, y, z, w; };
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
inline float2 make_float2(float x, float y) { return float2{x, y}; }

extern "C" void __syncthreads();
extern "C" void emu_syncwarp();
inline void __syncwarp(unsigned = 0xffffffffu) { emu_syncwarp(); }
extern "C" void* emu_dynamic_shared();
extern "C" void emu_threadfence();
inline void __threadfence() { emu_threadfence(); }
inline void __threadfence_block() { emu_threadfence(); }

// Every lane writes its value, all meet, each reads lane src's value (its own when src < 0), all meet again.
extern "C" void emu_warp_exchange(const void* value, void* out, int bytes, int src);
extern "C" int emu_lane();

template <typename T>
inline T emu_shuffle(T v, int src) {
    static_assert(sizeof(T) <= 16, "shuffle of a value wider than 16 bytes");
    T r;
    emu_warp_exchange(&v, &r, (int)sizeof(T), src);
    return r;
}
template <typename T>
inline T __shfl_sync(unsigned, T v, int src, int width = 32) {
    int lane = emu_lane();
    return emu_shuffle(v, (lane / width) * width + (src % width));
}
template <typename T>
inline T __shfl_xor_sync(unsigned, T v, int laneMask, int width = 32) {
    int lane = emu_lane();
    int src = lane ^ laneMask;
    if (src / width != lane / width) src = -1;
    return emu_shuffle(v, src);
}
template <typename T>
inline T __shfl_down_sync(unsigned, T v, unsigned delta, int width = 32) {
    int lane = emu_lane();
    int src = lane + (int)delta;
    if (src / width != lane / width) src = -1;
    return emu_shuffle(v, src);
}
template <typename T>
inline T __shfl_up_sync(unsigned, T v, unsigned delta, int width = 32) {
    int lane = emu_lane();
    int src = lane - (int)delta;
    if (src < 0 || src / width != lane / width) src = -1;
    return emu_shuffle(v, src);
}
extern "C" unsigned emu_ballot(int predicate);
inline unsigned __ballot_sync(unsigned, int predicate) { return emu_ballot(predicate); }
inline int __any_sync(unsigned, int predicate) { return emu_ballot(predicate) != 0; }
inline int __all_sync(unsigned, int predicate) { return emu_ballot(!predicate) == 0; }

extern "C" float emu_atomic_add_f(float* p, float v);
extern "C" double emu_atomic_add_d(double* p, double v);
extern "C" int emu_atomic_add_i(int* p, int v);
inline float atomicAdd(float* p, float v) { return emu_atomic_add_f(p, v); }
inline double atomicAdd(double* p, double v) { return emu_atomic_add_d(p, v); }
inline int atomicAdd(int* p, int v) { return emu_atomic_add_i(p, v); }

inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
template <typename T>
inline T __ldg(const T* p) { return *p; }

inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }

// Hooks the fused kernels' sources use under FUSED_EMULATION (fused_common.cuh).
extern "C" long long emu_block_serial();
extern "C" void emu_poison_once(void* p, unsigned long long bytes, long long* stamp);
extern "C" void emu_check_aligned(const void* p, unsigned long long alignment, const char* file, int line);
extern "C" void emu_cp_async16(void* dst, const void* src, int valid);
extern "C" void emu_cp_async_commit();
extern "C" void emu_cp_async_wait(int pendingGroups);
namespace emu {
// cp.async (fused_common.cuh): the destination reads NaN from the issue until the copy's group is waited for.
inline void cp_async16(void* dst, const void* src, bool valid) { emu_cp_async16(dst, src, valid ? 1 : 0); }
inline void cp_async_commit() { emu_cp_async_commit(); }
inline void cp_async_wait(int pendingGroups) { emu_cp_async_wait(pendingGroups); }
// Fills a block-shared array with NaN when the first thread of a new block reaches its declaration.
inline void poison_shared(void* p, unsigned long long bytes, long long& stamp) { emu_poison_once(p, bytes, &stamp); }
inline void check_aligned(const void* p, unsigned long long alignment, const char* file, int line) {
    emu_check_aligned(p, alignment, file, line);
}
}  // namespace emu
