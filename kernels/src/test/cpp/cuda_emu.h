// A small CUDA emulator for the CPU-only tests: the fused kernels' .cu sources compile as C++
// against this header (-DFUSED_EMULATION) and run one block at a time, each CUDA thread a
// coroutine. It checks what a GPU would not report clearly: __syncthreads reached by only part of
// a block, full-mask warp shuffles not reached by all 32 lanes, misaligned float4 accesses,
// asynchronous copies (cp.async) read before they were waited for, and
// (with NaN-filled shared memory and guard zones set up by the launcher) reads of unwritten memory.
// Threads of a block run in a shuffled order per block, so a missing barrier shows as wrong
// results. Only what the fused kernels use is provided.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

using std::max;
using std::min;

struct alignas(16) float4 {
    float x, y, z, w;
};

inline float4 make_float4(float x, float y, float z, float w) {
    return float4{x, y, z, w};
}

struct uint3 {
    unsigned x, y, z;
};

struct dim3 {
    unsigned x, y, z;
};

namespace emu {
extern uint3* current_thread_idx;
extern uint3 block_idx;
extern dim3 block_dim;
extern dim3 grid_dim;

void syncthreads();
float shfl_xor(unsigned mask, float v, int laneMask);
void poison_shared(void* p, size_t bytes, long long& stamp);
void check_aligned(const void* p, size_t alignment, const char* file, int line);
[[noreturn]] void fail(const char* message);
// cp.async (fused_common.cuh): the destination reads NaN from the issue until the copy's group is
// waited for; the source is read at the issue.
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
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __syncthreads() emu::syncthreads()
#define __shfl_xor_sync(mask, v, laneMask) emu::shfl_xor((mask), (v), (laneMask))

inline float rsqrtf(float x) {
    return 1.0f / std::sqrt(x);
}
