// Helpers shared by the fused DiffIR kernels (fused_layernorm.cu, fused_gdfn.cu, fused_attention.cu).
//
// The same sources also compile as plain C++ for the host emulator used by the CPU-only tests
// (kernels/src/test/cpp/cuda_emu.h, built with -DFUSED_EMULATION): that is why shared arrays are
// declared through FUSED_SHARED and vector accesses go through load4/store4, which the emulator
// checks (unwritten shared memory reads NaN there, misaligned float4 accesses fail).
#pragma once

// FUSED_SHARED(T, name, dims) declares a block-shared array, 16-byte aligned so that rows whose
// length is a multiple of 4 floats can be read with float4 accesses.
#ifdef FUSED_EMULATION
#include "cuda_emu.h"
// A static array is shared by all emulated threads of the block (blocks run one at a time); it is
// filled with NaN when a new block first reaches the declaration, so reads of unwritten entries show.
#define FUSED_SHARED(T, name, dims)        \
    alignas(16) static T name dims;        \
    static long long name##_emu_stamp = -1; \
    emu::poison_shared(name, sizeof(name), name##_emu_stamp)
#define FUSED_CHECK_ALIGNED(p) emu::check_aligned((const void*) (p), 16, __FILE__, __LINE__)
#else
#define FUSED_SHARED(T, name, dims) __shared__ __align__(16) T name dims
#define FUSED_CHECK_ALIGNED(p) ((void) 0)
#endif

#define FUSED_FULL_MASK 0xffffffffu

// Sum over the 32 lanes of a warp; every lane gets the total. All 32 lanes must call it.
__device__ __forceinline__ float fused_warp_sum(float v) {
#pragma unroll
    for (int m = 16; m > 0; m >>= 1) v += __shfl_xor_sync(FUSED_FULL_MASK, v, m);
    return v;
}

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
        v[i] = keep + __shfl_xor_sync(FUSED_FULL_MASK, send, M);
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

__device__ __forceinline__ float fused_warp_max(float v) {
#pragma unroll
    for (int m = 16; m > 0; m >>= 1) v = fmaxf(v, __shfl_xor_sync(FUSED_FULL_MASK, v, m));
    return v;
}

// 16-byte load/store; p must be 16-byte aligned (the Java glue only picks vector paths when every
// tensor offset and row length is a multiple of 4 floats; device allocations are 256-byte aligned).
__device__ __forceinline__ float4 fused_load4(const float* p) {
    FUSED_CHECK_ALIGNED(p);
    return *reinterpret_cast<const float4*>(p);
}

__device__ __forceinline__ void fused_store4(float* p, float4 v) {
    FUSED_CHECK_ALIGNED(p);
    *reinterpret_cast<float4*>(p) = v;
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
    FUSED_CHECK_ALIGNED(dst);
    FUSED_CHECK_ALIGNED(src);
#ifdef FUSED_EMULATION
    emu::cp_async16(dst, src, valid);
#else
    const unsigned s = (unsigned) __cvta_generic_to_shared(dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(src), "r"(valid ? 16 : 0) : "memory");
#endif
}

__device__ __forceinline__ void fused_cp_async_commit() {
#ifdef FUSED_EMULATION
    emu::cp_async_commit();
#else
    asm volatile("cp.async.commit_group;\n" ::: "memory");
#endif
}

template <int N>
__device__ __forceinline__ void fused_cp_async_wait() {
#ifdef FUSED_EMULATION
    emu::cp_async_wait(N);
#else
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
#endif
}

// V consecutive floats (V = 4: one 16-byte access; V = 1: one scalar) into a register array.
template <int V>
__device__ __forceinline__ void fused_load_vec(const float* p, float (&v)[V]) {
    if constexpr (V == 4) {
        float4 t = fused_load4(p);
        v[0] = t.x; v[1] = t.y; v[2] = t.z; v[3] = t.w;
    } else {
#pragma unroll
        for (int k = 0; k < V; k++) v[k] = p[k];
    }
}

template <int V>
__device__ __forceinline__ void fused_store_vec(float* p, const float (&v)[V]) {
    if constexpr (V == 4) {
        fused_store4(p, make_float4(v[0], v[1], v[2], v[3]));
    } else {
#pragma unroll
        for (int k = 0; k < V; k++) p[k] = v[k];
    }
}

// Exact (erf) GELU and its derivative, float32 (no fast-math intrinsics: the tests ask for 1e-5).
#define FUSED_SQRT1_2 0.70710678118654752440f     // 1/sqrt(2)
#define FUSED_INV_SQRT_2PI 0.39894228040143267794f // 1/sqrt(2*pi)

// Written with erfc so that the tail z << 0 keeps its relative accuracy (1 + erf(z) cancels there).
__device__ __forceinline__ float fused_gelu(float z) {
    return 0.5f * z * erfcf(-z * FUSED_SQRT1_2);
}

// d/dz [z * Phi(z)] = Phi(z) + z * phi(z).
__device__ __forceinline__ float fused_gelu_grad(float z) {
    float cdf = 0.5f * erfcf(-z * FUSED_SQRT1_2);
    float pdf = FUSED_INV_SQRT_2PI * expf(-0.5f * z * z);
    return cdf + z * pdf;
}

// gelu(z) and gelu'(z) together, sharing the erfc (the GDFN backward needs both). The density
// uses exp2f (ex2 with its scaling; expf adds a range reduction of about 10 instructions, and this
// function is most of the GDFN backward's instructions per pixel). Rounding the exponent
// -z^2/2 * log2(e) costs about 1.3e-7 * |exponent| relative: under 5e-6 while the density is above 1e-12.
#define FUSED_NEG_HALF_LOG2E (-0.72134752044448170368f)  // -log2(e) / 2
__device__ __forceinline__ void fused_gelu_and_grad(float z, float& gelu, float& grad) {
    const float cdf = 0.5f * erfcf(-z * FUSED_SQRT1_2);
    gelu = z * cdf;
    grad = cdf + z * (FUSED_INV_SQRT_2PI * exp2f(FUSED_NEG_HALF_LOG2E * z * z));
}
