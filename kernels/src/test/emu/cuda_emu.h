// The CUDA surface the project's .cu files use, for compiling them as plain C++ so the tests run the
// very same kernels on the CPU. Included ahead of each file with -include, with DIFFIR_EMULATOR
// defined; emu_runtime.cpp implements it (how it runs and what it checks: kernels/README.md).
// Each CUDA thread is a coroutine and blocks run one at a time, so __shared__ becomes a
// function-static (one instance, right for one block at a time) and threadIdx names the running
// coroutine's index. Warp operations need the full mask and all 32 lanes, as on the GPU.
#pragma once
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

struct uint3 { unsigned x, y, z; };
struct dim3 { unsigned x, y, z; };

namespace emu {
extern uint3* current_thread_idx;
extern uint3 block_idx;
extern dim3 block_dim;
extern dim3 grid_dim;

void syncthreads();
void syncwarp(unsigned mask);
// Every lane publishes `bytes` of value, all lanes meet, each reads lane src's value (its own when
// src < 0), all meet again.
void warp_exchange(unsigned mask, const void* value, void* out, int bytes, int src);
unsigned ballot(unsigned mask, int predicate);
int lane();
void* dynamic_shared();
// Fills a block-shared array with NaN when the first thread of a new block reaches its declaration.
void poison_shared(void* p, size_t bytes, long long& stamp);
void check_aligned(const void* p, size_t alignment, const char* file, int line);
[[noreturn]] void fail(const char* message);
// cp.async (fused_common.cuh), per CUDA thread: the source is read at the issue, the destination reads
// NaN from the issue until the copy's group is waited for (then it holds the data).
void cp_async16(void* dst, const void* src, bool valid);
void cp_async_commit();
void cp_async_wait(int pendingGroups);
}  // namespace emu

#define threadIdx (*emu::current_thread_idx)
#define blockIdx (emu::block_idx)
#define blockDim (emu::block_dim)
#define gridDim (emu::grid_dim)

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __shared__ static
#define __constant__ static const
#define __launch_bounds__(...)
#define __align__(n) alignas(n)

constexpr int warpSize = 32;

struct alignas(16) float4 { float x, y, z, w; };
struct alignas(8) float2 { float x, y; };
struct alignas(16) int4 { int x, y, z, w; };
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
inline float2 make_float2(float x, float y) { return float2{x, y}; }

inline void __syncthreads() { emu::syncthreads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { emu::syncwarp(mask); }
// Blocks run one at a time and their threads never run at once: memory is always consistent.
inline void __threadfence() {}
inline void __threadfence_block() {}

template <typename T>
inline T emu_shuffle(unsigned mask, T v, int src) {
    static_assert(sizeof(T) <= 16, "shuffle of a value wider than 16 bytes");
    T r;
    emu::warp_exchange(mask, &v, &r, (int) sizeof(T), src);
    return r;
}
template <typename T>
inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    int lane = emu::lane();
    return emu_shuffle(mask, v, (lane / width) * width + (src % width));
}
template <typename T>
inline T __shfl_xor_sync(unsigned mask, T v, int laneMask, int width = 32) {
    int lane = emu::lane(), src = lane ^ laneMask;
    return emu_shuffle(mask, v, src / width != lane / width ? -1 : src);
}
template <typename T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    int lane = emu::lane(), src = lane + (int) delta;
    return emu_shuffle(mask, v, src / width != lane / width ? -1 : src);
}
template <typename T>
inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    int lane = emu::lane(), src = lane - (int) delta;
    return emu_shuffle(mask, v, src < 0 || src / width != lane / width ? -1 : src);
}
inline unsigned __ballot_sync(unsigned mask, int predicate) { return emu::ballot(mask, predicate); }
inline int __any_sync(unsigned mask, int predicate) { return emu::ballot(mask, predicate) != 0; }
inline int __all_sync(unsigned mask, int predicate) { return emu::ballot(mask, !predicate) == 0; }

// Threads never run at once, so a plain read-modify-write is atomic.
template <typename T>
inline T atomicAdd(T* p, T v) {
    T old = *p;
    *p = old + v;
    return old;
}

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
