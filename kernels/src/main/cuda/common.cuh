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

struct SumOp {
    template <typename T>
    __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};
struct MaxOp {
    __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

// Reduces over the 32 lanes of a warp; every lane gets the result. All 32 lanes must call it.
template <typename T, typename Op>
__device__ __forceinline__ T warp_reduce(T v, Op op) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

template <typename T>
__device__ __forceinline__ T warp_sum(T v) { return warp_reduce(v, SumOp()); }

__device__ __forceinline__ float warp_max(float v) { return warp_reduce(v, MaxOp()); }

// Reduces over the block (blockDim.x a multiple of 32, every thread calling); every thread gets the
// result. identity is op's neutral value (for the warps beyond the block's).
template <typename T, typename Op>
__device__ T block_reduce(T v, T identity, Op op) {
    __shared__ T part[32];
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_reduce(v, op);
    if (lane == 0) part[warp] = v;
    __syncthreads();
    int warps = blockDim.x >> 5;
    T r = threadIdx.x < warps ? part[threadIdx.x] : identity;
    if (warp == 0) r = warp_reduce(r, op);
    if (threadIdx.x == 0) part[0] = r;
    __syncthreads();
    r = part[0];
    __syncthreads();  // part may be reused by the next call
    return r;
}

template <typename T>
__device__ T block_sum(T v) { return block_reduce(v, T(0), SumOp()); }

static __device__ float block_max(float v) { return block_reduce(v, -INFINITY, MaxOp()); }

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

// 16-byte accesses (global or shared memory) at addresses known to be 16-byte aligned: the Java glue
// picks vector paths only when every tensor offset and row length is a multiple of 4 floats, and device
// allocations are 256-byte aligned (the emulator checks).
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

// Exact (erf) GELU x * Phi(x) and its derivative in float32 (no fast-math intrinsics: the tests ask for
// 1e-5), through erfc so that the negative tail keeps its relative accuracy (1 + erf(x) cancels there).
#define INV_SQRT2 0.70710678118654752440f     // 1/sqrt(2)
#define INV_SQRT_2PI 0.39894228040143267794f  // 1/sqrt(2*pi)

__device__ __forceinline__ float gelu(float x) { return 0.5f * x * erfcf(-x * INV_SQRT2); }

// d/dx [x * Phi(x)] = Phi(x) + x * phi(x).
__device__ __forceinline__ float gelu_grad(float x) {
    float cdf = 0.5f * erfcf(-x * INV_SQRT2);
    float pdf = INV_SQRT_2PI * expf(-0.5f * x * x);
    return cdf + x * pdf;
}

// gelu(x) and gelu'(x) together, sharing the erfc (the GDFN backward needs both). With EXP2 the
// density uses exp2f (ex2 with its scaling; expf adds a range reduction of about 10 instructions, and
// this function is most of the GDFN backward's instructions per pixel). Rounding the exponent
// -x^2/2 * log2(e) costs about 1.3e-7 * |exponent| relative: under 5e-6 while the density is above 1e-12.
// Only the opt-in row-walking GDFN backward uses EXP2; the one-tile kernels keep expf, as the H100 checked them.
#define NEG_HALF_LOG2E (-0.72134752044448170368f)  // -log2(e) / 2
template <bool EXP2 = false>
__device__ __forceinline__ void gelu_and_grad(float x, float& value, float& grad) {
    const float cdf = 0.5f * erfcf(-x * INV_SQRT2);
    value = x * cdf;
    grad = cdf + x * (INV_SQRT_2PI * (EXP2 ? exp2f(NEG_HALF_LOG2E * x * x) : expf(-0.5f * x * x)));
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
