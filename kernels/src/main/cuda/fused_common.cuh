// Helpers of the fused DiffIR kernels (fused_layernorm.cu, fused_gdfn.cu, fused_attention.cu), on top of
// common.cuh (warp reductions, ld4/st4, GELU).
//
// The same sources also compile as plain C++ for the CPU emulator the tests use (DIFFIR_EMULATOR,
// kernels/src/test/emu/cuda_emu.h): that is why shared arrays are declared through FUSED_SHARED and
// vector accesses go through ld4/st4, which the emulator checks (unwritten shared memory reads NaN
// there, misaligned float4 accesses fail).
#pragma once

#include "common.cuh"

// FUSED_SHARED(T, name, dims) declares a block-shared array, 16-byte aligned so that rows whose
// length is a multiple of 4 floats can be read with float4 accesses.
#ifdef DIFFIR_EMULATOR
// A static array is shared by all emulated threads of the block (blocks run one at a time); it is
// filled with NaN when a new block first reaches the declaration, so reads of unwritten entries show.
#define FUSED_SHARED(T, name, dims)        \
    alignas(16) static T name dims;        \
    static long long name##_emu_stamp = -1; \
    emu::poison_shared(name, sizeof(name), name##_emu_stamp)
#else
#define FUSED_SHARED(T, name, dims) __shared__ __align__(16) T name dims
#endif

// Sums each of V values (V a multiple of 32) over the 32 lanes of a warp; lane l ends up with the
// totals of values [l*V/32, (l+1)*V/32) in v[0 .. V/32). At each of 5 steps a lane keeps one half
// of its values, sends the other half to lane ^ m and adds what it receives: V - V/32 shuffles in
// all, against 5V for V separate warp sums. The lane index is threadIdx.x & 31 (1-D blocks). All
// 32 lanes must call it. The order of the additions is fixed, so results are reproducible.
// One step of fused_warp_transpose_sum: lanes exchange halves of their first LEN values across lane
// bit M (a template, so every array index is a compile-time constant and v stays in registers).
template <int V, int LEN, int M>
__device__ __forceinline__ void fused_transpose_sum_step(float (&v)[V], int lane) {
    constexpr int HALF = LEN / 2;
    const bool upper = (lane & M) != 0;
#pragma unroll
    for (int i = 0; i < HALF; i++) {
        const float send = upper ? v[i] : v[i + HALF];
        const float keep = upper ? v[i + HALF] : v[i];
        v[i] = keep + __shfl_xor_sync(FULL_MASK, send, M);
    }
}

template <int V>
__device__ __forceinline__ void fused_warp_transpose_sum(float (&v)[V]) {
    static_assert(V % 32 == 0 && V >= 32, "fused_warp_transpose_sum needs a multiple of 32 values");
    const int lane = threadIdx.x & 31;
    fused_transpose_sum_step<V, V, 16>(v, lane);
    fused_transpose_sum_step<V, V / 2, 8>(v, lane);
    fused_transpose_sum_step<V, V / 4, 4>(v, lane);
    fused_transpose_sum_step<V, V / 8, 2>(v, lane);
    fused_transpose_sum_step<V, V / 16, 1>(v, lane);
}

// Asynchronous 16-byte copies from global to shared memory (cp.async, sm_80 and later), for
// software pipelines: a block issues the copies of a later stage, computes on an earlier one, and
// the copies land without passing through registers. A thread's copies form groups (commit);
// fused_cp_async_wait<N> returns once all but the N most recent of its committed groups have
// landed, and a __syncthreads after it makes every thread's landed copies visible to the block.
// Both addresses must be 16-byte aligned; valid == false writes 16 zero bytes and reads nothing
// (src must still be a valid address: callers pass the row's start). The emulator fills the
// destination with NaN when a copy is issued and writes the data only when its group is waited
// for, so reading a stage before its wait and barrier, or overwriting a buffer that other threads
// still read, shows as wrong results.
__device__ __forceinline__ void fused_cp_async16(float* dst, const float* src, bool valid) {
#ifdef DIFFIR_EMULATOR
    emu::check_aligned(dst, 16, __FILE__, __LINE__);
    emu::check_aligned(src, 16, __FILE__, __LINE__);
    emu::cp_async16(dst, src, valid);
#else
    const unsigned s = (unsigned) __cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(src), "r"(valid ? 16 : 0) : "memory");
#endif
}

__device__ __forceinline__ void fused_cp_async_commit() {
#ifdef DIFFIR_EMULATOR
    emu::cp_async_commit();
#else
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}

template <int N>
__device__ __forceinline__ void fused_cp_async_wait() {
#ifdef DIFFIR_EMULATOR
    emu::cp_async_wait(N);
#else
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

// V consecutive floats (V = 4: one 16-byte access; V = 1: one scalar) into a register array.
template <int V>
__device__ __forceinline__ void fused_load_vec(const float* p, float (&v)[V]) {
    if constexpr (V == 4) {
        float4 t = ld4(p);
        v[0] = t.x; v[1] = t.y; v[2] = t.z; v[3] = t.w;
    } else {
#pragma unroll
        for (int k = 0; k < V; k++) v[k] = p[k];
    }
}

template <int V>
__device__ __forceinline__ void fused_store_vec(float* p, const float (&v)[V]) {
    if constexpr (V == 4) {
        st4(p, make_float4(v[0], v[1], v[2], v[3]));
    } else {
#pragma unroll
        for (int k = 0; k < V; k++) p[k] = v[k];
    }
}

