// Shared by the kernel files: strided index spaces, warp/block reductions, dynamic shared memory.
// Everything here also compiles as plain C++ for the CPU emulator the tests use (DIFFIR_EMULATOR).
#pragma once

#define DIFFIR_MAX_RANK 8
#define FULL_MASK 0xffffffffu

// An index space of rank <= 8 walked with two stride sets (elements, int32: the host checks sizes).
// copy_strided: s0 = source, s1 = destination; binary_strided: s0 = a, s1 = b (out is contiguous).
struct Strides2 {
    int rank;
    int n;
    int shape[DIFFIR_MAX_RANK];
    int s0[DIFFIR_MAX_RANK];
    int s1[DIFFIR_MAX_RANK];
};

// Offsets of linear index i (row-major over shape) under both stride sets.
__device__ __forceinline__ void strided_offsets(const Strides2& s, int i, int& o0, int& o1) {
    o0 = 0;
    o1 = 0;
#pragma unroll
    for (int d = DIFFIR_MAX_RANK - 1; d >= 0; --d) {
        if (d < s.rank) {
            int size = s.shape[d];
            int q = i / size;
            int r = i - q * size;
            o0 += r * s.s0[d];
            o1 += r * s.s1[d];
            i = q;
        }
    }
}

// Grid-stride loop bounds.
__device__ __forceinline__ int global_thread() { return blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int global_stride() { return gridDim.x * blockDim.x; }

template <typename T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

// Sum over the block (blockDim.x a multiple of 32, every thread calling); every thread gets the result.
template <typename T>
__device__ T block_sum(T v) {
    __shared__ T part[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_sum(v);
    if (lane == 0) part[warp] = v;
    __syncthreads();
    int warps = blockDim.x >> 5;
    T r = threadIdx.x < warps ? part[threadIdx.x] : T(0);
    if (warp == 0) r = warp_sum(r);
    if (threadIdx.x == 0) part[0] = r;
    __syncthreads();
    r = part[0];
    __syncthreads();  // part may be reused by the next call
    return r;
}

static __device__ float block_max(float v) {
    __shared__ float part[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_max(v);
    if (lane == 0) part[warp] = v;
    __syncthreads();
    int warps = blockDim.x >> 5;
    float r = threadIdx.x < warps ? part[threadIdx.x] : -INFINITY;
    if (warp == 0) r = warp_max(r);
    if (threadIdx.x == 0) part[0] = r;
    __syncthreads();
    r = part[0];
    __syncthreads();
    return r;
}

// Dynamic shared memory as a typed pointer (the emulator provides it per block).
#ifdef DIFFIR_EMULATOR
#define DYNAMIC_SHARED(T, name) T* name = reinterpret_cast<T*>(emu::dynamic_shared())
#else
#define DYNAMIC_SHARED(T, name)                                  \
    extern __shared__ __align__(16) unsigned char name##_raw[]; \
    T* name = reinterpret_cast<T*>(name##_raw)
#endif

__device__ __forceinline__ bool aligned16(const void* p) {
    return (reinterpret_cast<unsigned long long>(p) & 15ull) == 0;
}

// 16-byte global accesses at addresses the host promised to be 16-byte aligned (the emulator checks).
__device__ __forceinline__ float4 ld4(const float* p) {
#ifdef DIFFIR_EMULATOR
    emu::check_aligned(p, 16, __FILE__, __LINE__);
#endif
    return *reinterpret_cast<const float4*>(p);
}

__device__ __forceinline__ void st4(float* p, float4 v) {
#ifdef DIFFIR_EMULATOR
    emu::check_aligned(p, 16, __FILE__, __LINE__);
#endif
    *reinterpret_cast<float4*>(p) = v;
}

// Grid-stride maps over n elements: 16-byte loads and stores when every pointer is 16-byte aligned
// (four times the bytes in flight per thread), plain floats otherwise. Each thread handles two
// float4 per trip, both loaded before either is used, so a thread keeps 2 x 16 bytes of every
// operand in flight. out may alias an input: every element is read before it is written, by the
// thread that writes it.
template <typename F>
__device__ __forceinline__ void map1(const float* a, float* out, int n, F f) {
    int start = global_thread(), stride = global_stride();
    int done = 0;
    if (aligned16(a) && aligned16(out)) {
        int n4 = n >> 2;
        const float4* a4 = reinterpret_cast<const float4*>(a);
        float4* o4 = reinterpret_cast<float4*>(out);
        int i = start;
        for (; i + stride < n4; i += 2 * stride) {
            float4 x0 = a4[i], x1 = a4[i + stride];
            o4[i] = make_float4(f(x0.x), f(x0.y), f(x0.z), f(x0.w));
            o4[i + stride] = make_float4(f(x1.x), f(x1.y), f(x1.z), f(x1.w));
        }
        if (i < n4) {
            float4 x = a4[i];
            o4[i] = make_float4(f(x.x), f(x.y), f(x.z), f(x.w));
        }
        done = n4 << 2;
    }
    for (int i = done + start; i < n; i += stride) out[i] = f(a[i]);
}

template <typename F>
__device__ __forceinline__ void map2(const float* a, const float* b, float* out, int n, F f) {
    int start = global_thread(), stride = global_stride();
    int done = 0;
    if (aligned16(a) && aligned16(b) && aligned16(out)) {
        int n4 = n >> 2;
        const float4* a4 = reinterpret_cast<const float4*>(a);
        const float4* b4 = reinterpret_cast<const float4*>(b);
        float4* o4 = reinterpret_cast<float4*>(out);
        int i = start;
        for (; i + stride < n4; i += 2 * stride) {
            float4 x0 = a4[i], y0 = b4[i], x1 = a4[i + stride], y1 = b4[i + stride];
            o4[i] = make_float4(f(x0.x, y0.x), f(x0.y, y0.y), f(x0.z, y0.z), f(x0.w, y0.w));
            o4[i + stride] = make_float4(f(x1.x, y1.x), f(x1.y, y1.y), f(x1.z, y1.z), f(x1.w, y1.w));
        }
        if (i < n4) {
            float4 x = a4[i], y = b4[i];
            o4[i] = make_float4(f(x.x, y.x), f(x.y, y.y), f(x.z, y.z), f(x.w, y.w));
        }
        done = n4 << 2;
    }
    for (int i = done + start; i < n; i += stride) out[i] = f(a[i], b[i]);
}

template <typename F>
__device__ __forceinline__ void map3(const float* a, const float* b, const float* c, float* out, int n, F f) {
    int start = global_thread(), stride = global_stride();
    int done = 0;
    if (aligned16(a) && aligned16(b) && aligned16(c) && aligned16(out)) {
        int n4 = n >> 2;
        const float4* a4 = reinterpret_cast<const float4*>(a);
        const float4* b4 = reinterpret_cast<const float4*>(b);
        const float4* c4 = reinterpret_cast<const float4*>(c);
        float4* o4 = reinterpret_cast<float4*>(out);
        int i = start;
        for (; i + stride < n4; i += 2 * stride) {
            float4 x0 = a4[i], y0 = b4[i], z0 = c4[i], x1 = a4[i + stride], y1 = b4[i + stride], z1 = c4[i + stride];
            o4[i] = make_float4(f(x0.x, y0.x, z0.x), f(x0.y, y0.y, z0.y), f(x0.z, y0.z, z0.z), f(x0.w, y0.w, z0.w));
            o4[i + stride] = make_float4(f(x1.x, y1.x, z1.x), f(x1.y, y1.y, z1.y), f(x1.z, y1.z, z1.z), f(x1.w, y1.w, z1.w));
        }
        if (i < n4) {
            float4 x = a4[i], y = b4[i], z = c4[i];
            o4[i] = make_float4(f(x.x, y.x, z.x), f(x.y, y.y, z.y), f(x.z, y.z, z.z), f(x.w, y.w, z.w));
        }
        done = n4 << 2;
    }
    for (int i = done + start; i < n; i += stride) out[i] = f(a[i], b[i], c[i]);
}
