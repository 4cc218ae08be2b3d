// Kernels with deliberate bugs, one per check of the emulator, one correct kernel that takes every
// argument type and one that waits for some of its cp.async copies: EmulatorChecksTest launches them
// and expects each bug reported. Built into the emulator only (never by nvcc).
#include "fused_common.cuh"

struct Pair { int a, b; };            // passed in registers
struct Geometry { int v[7]; };        // passed on the stack

// out[0..6] = the arguments, out[7..13] = g, out[14 + t] = t's warp sum of lane numbers after a barrier.
extern "C" __global__ void emu_check_arguments(float* out, int i, long long l, float f, Pair p, Geometry g, float last) {
    const int t = threadIdx.x;
    if (t == 0) {
        out[0] = (float) i;
        out[1] = (float) l;
        out[2] = f;
        out[3] = (float) p.a;
        out[4] = (float) p.b;
        out[5] = last;
        out[6] = (float) (l >> 40);
        for (int k = 0; k < 7; k++) out[7 + k] = (float) g.v[k];
    }
    __syncthreads();
    out[14 + t] = warp_sum((float) (t & 31));
}

extern "C" __global__ void emu_check_barrier_after_return(float* out) {
    if (threadIdx.x == 3) return;
    __syncthreads();
    out[threadIdx.x] = 1.0f;
}

extern "C" __global__ void emu_check_divergent_barriers(float* out) {
    if (threadIdx.x % 2) __syncthreads();
    else __syncwarp();
    out[threadIdx.x] = 1.0f;
}

extern "C" __global__ void emu_check_shuffle_after_return(float* out) {
    if (threadIdx.x == 5) return;
    out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, 1.0f, 1);
}

extern "C" __global__ void emu_check_partial_mask(float* out) {
    out[threadIdx.x] = __shfl_xor_sync(0x0000ffffu, 1.0f, 1);
}

// Launched with a block that is not a multiple of 32 threads.
extern "C" __global__ void emu_check_partial_warp(float* out) {
    out[threadIdx.x] = warp_sum(1.0f);
}

extern "C" __global__ void emu_check_misaligned(float* out) {
    st4(out + 1, make_float4(0, 0, 0, 0));
}

extern "C" __global__ void emu_check_read(const float* in, float* out, int at) {
    out[0] = in[at];
}

extern "C" __global__ void emu_check_write(float* out, int at) {
    out[at] = 1.0f;
}

// Every thread writes its slot of shared memory and reads its neighbour's, with or without a barrier between.
extern "C" __global__ void emu_check_neighbour(float* out, int barrier) {
    DYNAMIC_SHARED(float, s);
    const int t = threadIdx.x;
    s[t] = (float) t;
    if (barrier) __syncthreads();
    out[t] = s[(t + 1) % blockDim.x];
}

static __device__ __noinline__ float deep(int depth) {
    volatile float locals[256];
    locals[depth % 256] = (float) depth;
    return depth == 0 ? locals[0] : deep(depth - 1) + locals[depth % 256];
}

extern "C" __global__ void emu_check_stack_overflow(float* out) {
    out[0] = deep(1000);  // 1 MB of frames against a 256 KiB stack
}

// cp.async: 32 threads copy in[0, 128) into s[0, 128) and 16 zero bytes each (an invalid copy) into
// s[256, 384) as group 0, then in[128, 256) into s[128, 256) as group 1, wait until `landed` groups
// (0, 1 or 2) have landed, and after a barrier write s out: what was not waited for reads NaN.
extern "C" __global__ void emu_check_cp_async(const float* in, float* out, int landed) {
    FUSED_SHARED(float, s, [384]);
    const int t = threadIdx.x;
    fused_cp_async16(&s[4 * t], in + 4 * t, true);
    fused_cp_async16(&s[256 + 4 * t], in, false);
    fused_cp_async_commit();
    fused_cp_async16(&s[128 + 4 * t], in + 128 + 4 * t, true);
    fused_cp_async_commit();
    if (landed == 2) fused_cp_async_wait<0>();
    else if (landed == 1) fused_cp_async_wait<1>();
    __syncthreads();
    for (int k = 0; k < 3; k++) st4(out + 128 * k + 4 * t, ld4(&s[128 * k + 4 * t]));
}
