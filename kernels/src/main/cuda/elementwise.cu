// Elementwise kernels: strided copy, broadcasting binary ops, scalar and unary ops with their
// gradients, and the fused Adam step. Grid-stride loops; the host sizes grids to fill the device.
// Op codes are the ordinals of the Java enums BinaryOp, ScalarOp and UnaryOp.
#include "common.cuh"

// ------------------------------------------------------------------ strided copy

extern "C" __global__ void copy_strided(const float* src, float* dst, Strides2 s) {
    for (int i = global_thread(); i < s.n; i += global_stride()) {
        int o0, o1;
        strided_offsets(s, i, o0, o1);
        dst[o1] = src[o0];
    }
}

// The same copy seen as rows of 4*l4 elements whose last axis is contiguous in dst: s walks the rows
// (its shape covers the leading axes only; s.n is ignored), and each thread moves one float4 of dst
// per item (items = rows * l4): one index decomposition per four elements and a 16-byte store. The
// source's last-axis stride is srcInner; srcVec = 1 when that is 1 and every source row start is
// 16-byte aligned (a 16-byte load), else four scalar loads (srcInner 0 broadcasts, 2 is
// pixel_unshuffle's gather). The host checks dst's row starts are 16-byte aligned.
extern "C" __global__ void copy_rows4(const float* src, float* dst, Strides2 s, int items, int l4, int srcInner, int srcVec) {
    for (int i = global_thread(); i < items; i += global_stride()) {
        int row = i / l4, q = i - row * l4;
        int os, od;
        strided_offsets(s, row, os, od);
        float4 v;
        if (srcVec) {
            v = ld4(src + os + 4 * q);
        } else {
            const float* p = src + os + 4 * q * srcInner;
            v = make_float4(p[0], p[srcInner], p[2 * srcInner], p[3 * srcInner]);
        }
        st4(dst + od + 4 * q, v);
    }
}

// ------------------------------------------------------------------ binary (BinaryOp)

template <int OP>
__device__ __forceinline__ float binary_op(float a, float b) {
    if (OP == 0) return a + b;
    if (OP == 1) return a - b;
    if (OP == 2) return a * b;
    if (OP == 3) return a / b;
    // MAX with Java's semantics: NaN if either is NaN.
    return (a != a || b != b) ? a + b : fmaxf(a, b);
}

template <int OP>
__device__ void binary_flat(const float* a, const float* b, float* out, int n) {
    map2(a, b, out, n, [](float x, float y) { return binary_op<OP>(x, y); });
}

// Same-shape operands (out may alias a or b).
extern "C" __global__ void binary_same(int op, const float* a, const float* b, float* out, int n) {
    switch (op) {
        case 0: binary_flat<0>(a, b, out, n); break;
        case 1: binary_flat<1>(a, b, out, n); break;
        case 2: binary_flat<2>(a, b, out, n); break;
        case 3: binary_flat<3>(a, b, out, n); break;
        default: binary_flat<4>(a, b, out, n); break;
    }
}

template <int OP>
__device__ void binary_walk(const float* a, const float* b, float* out, const Strides2& s) {
    for (int i = global_thread(); i < s.n; i += global_stride()) {
        int oa, ob;
        strided_offsets(s, i, oa, ob);
        out[i] = binary_op<OP>(a[oa], b[ob]);
    }
}

// Broadcasting: out contiguous over s.shape; a and b read with strides s.s0 and s.s1 (0 = broadcast).
extern "C" __global__ void binary_strided(int op, const float* a, const float* b, float* out, Strides2 s) {
    switch (op) {
        case 0: binary_walk<0>(a, b, out, s); break;
        case 1: binary_walk<1>(a, b, out, s); break;
        case 2: binary_walk<2>(a, b, out, s); break;
        case 3: binary_walk<3>(a, b, out, s); break;
        default: binary_walk<4>(a, b, out, s); break;
    }
}

// An operand's float4 at element offset o of a row: contiguous (16-byte aligned, the host checks) or
// one value broadcast along the row.
__device__ __forceinline__ float4 row_operand4(const float* p, int o, int inner) {
    if (inner) return ld4(p + o);
    float v = p[o];
    return make_float4(v, v, v, v);
}

template <int OP>
__device__ void binary_rows4_walk(const float* a, const float* b, float* out, const Strides2& s, int items, int l4,
                                  int innerA, int innerB) {
    for (int i = global_thread(); i < items; i += global_stride()) {
        int row = i / l4, q = i - row * l4;
        int oa, ob;
        strided_offsets(s, row, oa, ob);
        float4 x = row_operand4(a, oa + 4 * q * innerA, innerA), y = row_operand4(b, ob + 4 * q * innerB, innerB);
        st4(out + 4 * (long long) i, make_float4(binary_op<OP>(x.x, y.x), binary_op<OP>(x.y, y.y), binary_op<OP>(x.z, y.z),
                                                 binary_op<OP>(x.w, y.w)));
    }
}

// Broadcasting with a last axis of 4*l4 elements that each operand reads contiguously (inner 1) or
// broadcasts (inner 0), as a bias or a per-channel scale does: rows walked with s (leading axes only;
// s.n ignored), one float4 of out per item (items = rows * l4). out is contiguous and 16-byte aligned.
extern "C" __global__ void binary_rows4(int op, const float* a, const float* b, float* out, Strides2 s, int items, int l4,
                                        int innerA, int innerB) {
    switch (op) {
        case 0: binary_rows4_walk<0>(a, b, out, s, items, l4, innerA, innerB); break;
        case 1: binary_rows4_walk<1>(a, b, out, s, items, l4, innerA, innerB); break;
        case 2: binary_rows4_walk<2>(a, b, out, s, items, l4, innerA, innerB); break;
        case 3: binary_rows4_walk<3>(a, b, out, s, items, l4, innerA, innerB); break;
        default: binary_rows4_walk<4>(a, b, out, s, items, l4, innerA, innerB); break;
    }
}

// ------------------------------------------------------------------ scalar (ScalarOp)

__device__ __forceinline__ float java_max(float a, float b) { return (a != a || b != b) ? a + b : fmaxf(a, b); }
__device__ __forceinline__ float java_min(float a, float b) { return (a != a || b != b) ? a + b : fminf(a, b); }

__device__ __forceinline__ float pow_scalar(float x, float s) {
    if (s == 2.0f) return x * x;
    if (s == 1.0f) return x;
    if (s == 0.5f) return sqrtf(x);
    return powf(x, s);
}

template <int OP>
__device__ __forceinline__ float scalar_op_apply(float x, float s) {
    if (OP == 0) return x + s;
    if (OP == 1) return x * s;
    if (OP == 2) return s - x;
    if (OP == 3) return s / x;
    if (OP == 4) return pow_scalar(x, s);
    if (OP == 5) return java_max(x, s);
    return java_min(x, s);
}

template <int OP>
__device__ void scalar_walk(const float* a, float s, float* out, int n) {
    map1(a, out, n, [s](float x) { return scalar_op_apply<OP>(x, s); });
}

extern "C" __global__ void scalar_op(int op, const float* a, float s, float* out, int n) {
    switch (op) {
        case 0: scalar_walk<0>(a, s, out, n); break;
        case 1: scalar_walk<1>(a, s, out, n); break;
        case 2: scalar_walk<2>(a, s, out, n); break;
        case 3: scalar_walk<3>(a, s, out, n); break;
        case 4: scalar_walk<4>(a, s, out, n); break;
        case 5: scalar_walk<5>(a, s, out, n); break;
        default: scalar_walk<6>(a, s, out, n); break;
    }
}

// ------------------------------------------------------------------ unary (UnaryOp)

__device__ __forceinline__ float java_signum(float x) { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x); }

template <int OP>
__device__ __forceinline__ float unary_apply(float v, float p) {
    switch (OP) {
        case 0: return -v;
        case 1: return expf(v);
        case 2: return logf(v);
        case 3: return sqrtf(v);
        case 4: return fabsf(v);
        case 5: return v * v;
        case 6: return java_signum(v);
        case 7: return tanhf(v);
        case 8: return 1.0f / (1.0f + expf(-v));
        case 9: return v > 0.0f ? v : 0.0f;
        case 10: return v >= 0.0f ? v : v * p;
        default: return gelu(v);
    }
}

// d f / d x given x and y = f(x).
template <int OP>
__device__ __forceinline__ float unary_derivative(float x, float y, float p) {
    switch (OP) {
        case 0: return -1.0f;
        case 1: return y;
        case 2: return 1.0f / x;
        case 3: return 0.5f / y;
        case 4: return java_signum(x);
        case 5: return 2.0f * x;
        case 6: return 0.0f;
        case 7: return 1.0f - y * y;
        case 8: return y * (1.0f - y);
        case 9: return x > 0.0f ? 1.0f : 0.0f;
        case 10: return x > 0.0f ? 1.0f : p;
        default: return gelu_grad(x);
    }
}

template <int OP>
__device__ void unary_walk(const float* a, float p, float* out, int n) {
    map1(a, out, n, [p](float v) { return unary_apply<OP>(v, p); });
}

template <int OP>
__device__ void unary_backward_walk(const float* x, const float* y, const float* gy, float p, float* gx, int n) {
    map3(x, y, gy, gx, n, [p](float xv, float yv, float g) { return g * unary_derivative<OP>(xv, yv, p); });
}

#define UNARY_DISPATCH(CALL)            \
    switch (op) {                       \
        case 0: CALL(0); break;         \
        case 1: CALL(1); break;         \
        case 2: CALL(2); break;         \
        case 3: CALL(3); break;         \
        case 4: CALL(4); break;         \
        case 5: CALL(5); break;         \
        case 6: CALL(6); break;         \
        case 7: CALL(7); break;         \
        case 8: CALL(8); break;         \
        case 9: CALL(9); break;         \
        case 10: CALL(10); break;       \
        default: CALL(11); break;       \
    }

extern "C" __global__ void unary_op(int op, const float* a, float p, float* out, int n) {
#define CALL(K) unary_walk<K>(a, p, out, n)
    UNARY_DISPATCH(CALL)
#undef CALL
}

extern "C" __global__ void unary_backward(int op, const float* x, const float* y, const float* gy, float p, float* gx, int n) {
#define CALL(K) unary_backward_walk<K>(x, y, gy, p, gx, n)
    UNARY_DISPATCH(CALL)
#undef CALL
}

// ------------------------------------------------------------------ Adam / AdamW

// PyTorch's update (constants from the host): p *= decay (AdamW); g += wd * p (Adam);
// m = b1 m + c1 g; v = b2 v + c2 g^2; p -= (stepSize m) / (sqrt(v) / bc2Sqrt + eps).
struct AdamConsts {
    float b1, b2, c1, c2, eps, wd, decay, bc2Sqrt, stepSize;
};

__device__ __forceinline__ void adam_update(float& p, float g, float& m, float& v, const AdamConsts& k) {
    float pv = p * k.decay;
    float gv = g + k.wd * pv;
    m = k.b1 * m + k.c1 * gv;
    v = k.b2 * v + k.c2 * (gv * gv);
    float denom = sqrtf(v) / k.bc2Sqrt + k.eps;
    p = pv - (m * k.stepSize) / denom;
}

extern "C" __global__ void adam_step(float* p, const float* g, float* m, float* v, int n, float b1, float b2, float c1,
                                     float c2, float eps, float wd, float decay, float bc2Sqrt, float stepSize) {
    AdamConsts k{b1, b2, c1, c2, eps, wd, decay, bc2Sqrt, stepSize};
    int start = global_thread(), stride = global_stride();
    int done = 0;
    if (aligned16(p) && aligned16(g) && aligned16(m) && aligned16(v)) {
        int n4 = n >> 2;
        for (int i = start; i < n4; i += stride) {
            float4 pv = reinterpret_cast<float4*>(p)[i], gv = reinterpret_cast<const float4*>(g)[i];
            float4 mv = reinterpret_cast<float4*>(m)[i], vv = reinterpret_cast<float4*>(v)[i];
            adam_update(pv.x, gv.x, mv.x, vv.x, k);
            adam_update(pv.y, gv.y, mv.y, vv.y, k);
            adam_update(pv.z, gv.z, mv.z, vv.z, k);
            adam_update(pv.w, gv.w, mv.w, vv.w, k);
            reinterpret_cast<float4*>(p)[i] = pv;
            reinterpret_cast<float4*>(m)[i] = mv;
            reinterpret_cast<float4*>(v)[i] = vv;
        }
        done = n4 << 2;
    }
    for (int i = done + start; i < n; i += stride) {
        float pv = p[i], mv = m[i], vv = v[i];
        adam_update(pv, g[i], mv, vv, k);
        p[i] = pv;
        m[i] = mv;
        v[i] = vv;
    }
}

// ------------------------------------------------------------------ multi-tensor Adam

// Up to ADAM_MAX_TENSORS tensors updated by one launch, described in a struct passed by value (kernel
// parameters, no upload; 20 keeps the struct within what the CPU emulator's FFM calls can pass): per tensor the addresses of p, g, m, v as (low, high) int pairs, its
// length, its first block and whether all four are 16-byte aligned. Block b updates chunk
// b - first of the last tensor whose first block is <= b.
#define ADAM_MAX_TENSORS 20
#define ADAM_ENTRY 11
#define ADAM_CHUNK 2048

struct AdamTable {
    int count;
    int e[ADAM_MAX_TENSORS * ADAM_ENTRY];
};

__device__ __forceinline__ float* adam_ptr(const int* e, int k) {
    unsigned long long lo = (unsigned)e[2 * k], hi = (unsigned)e[2 * k + 1];
    return reinterpret_cast<float*>(lo | (hi << 32));
}

extern "C" __global__ void adam_many(AdamTable t, float b1, float b2, float c1, float c2, float eps, float wd, float decay,
                                     float bc2Sqrt, float stepSize) {
    AdamConsts k{b1, b2, c1, c2, eps, wd, decay, bc2Sqrt, stepSize};
    int i = 0;
    for (int j = 1; j < t.count; j++)
        if (t.e[j * ADAM_ENTRY + 9] <= (int)blockIdx.x) i = j;
    const int* e = t.e + i * ADAM_ENTRY;
    float *p = adam_ptr(e, 0), *m = adam_ptr(e, 2), *v = adam_ptr(e, 3);
    const float* g = adam_ptr(e, 1);
    int n = e[8], start = ((int)blockIdx.x - e[9]) * ADAM_CHUNK, end = min(n, start + ADAM_CHUNK);
    int done = start;
    if (e[10]) {  // start is a multiple of 4 (ADAM_CHUNK is)
        int e4 = start + ((end - start) & ~3);
        for (int q = start / 4 + threadIdx.x; q < e4 / 4; q += blockDim.x) {
            float4 pv = ld4(p + 4 * q), gv = ld4(g + 4 * q), mv = ld4(m + 4 * q), vv = ld4(v + 4 * q);
            adam_update(pv.x, gv.x, mv.x, vv.x, k);
            adam_update(pv.y, gv.y, mv.y, vv.y, k);
            adam_update(pv.z, gv.z, mv.z, vv.z, k);
            adam_update(pv.w, gv.w, mv.w, vv.w, k);
            st4(p + 4 * q, pv);
            st4(m + 4 * q, mv);
            st4(v + 4 * q, vv);
        }
        done = e4;
    }
    for (int q = done + threadIdx.x; q < end; q += blockDim.x) {
        float pv = p[q], mv = m[q], vv = v[q];
        adam_update(pv, g[q], mv, vv, k);
        p[q] = pv;
        m[q] = mv;
        v[q] = vv;
    }
}
