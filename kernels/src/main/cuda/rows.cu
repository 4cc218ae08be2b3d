// Row-wise kernels over the last axis: softmax / log-softmax and L2 normalisation, forward and
// backward. TPR threads per row: 32 (a warp per row, 8 rows per 256-thread block) for short rows,
// 256 (a block per row) for long ones. Rows are read two or three times; the repeats hit L1/L2.
#include "common.cuh"

template <int TPR>
__device__ __forceinline__ float row_sum(float v) {
    if (TPR == 32) return warp_sum(v);
    return block_sum(v);
}

template <int TPR>
__device__ __forceinline__ float row_max(float v) {
    if (TPR == 32) return warp_max(v);
    return block_max(v);
}

// Threads of a row that is past the end still take part in the reductions (block barriers), idle.
#define ROW_SETUP                                             \
    int rowsPerBlock = blockDim.x / TPR;                      \
    int row = blockIdx.x * rowsPerBlock + threadIdx.x / TPR;  \
    int t = threadIdx.x % TPR;                                \
    bool active = row < rows;                                 \
    long long base = (long long)(active ? row : 0) * len;

template <int TPR>
__device__ void softmax_rows(const float* x, float* out, int rows, int len, int log) {
    ROW_SETUP
    const float* xr = x + base;
    float m = -INFINITY;
    if (active)
        for (int j = t; j < len; j += TPR) m = fmaxf(m, xr[j]);
    m = row_max<TPR>(m);
    float s = 0.0f;
    if (active)
        for (int j = t; j < len; j += TPR) s += expf(xr[j] - m);
    s = row_sum<TPR>(s);
    if (!active) return;
    float* o = out + base;
    if (log) {
        float shift = m + logf(s);
        for (int j = t; j < len; j += TPR) o[j] = xr[j] - shift;
    } else {
        float inv = 1.0f / s;
        for (int j = t; j < len; j += TPR) o[j] = expf(xr[j] - m) * inv;
    }
}

// softmax: gx = y (gy - sum(gy y)); log-softmax: gx = gy - exp(y) sum(gy).
template <int TPR>
__device__ void softmax_backward_rows(const float* y, const float* gy, float* gx, int rows, int len, int log) {
    ROW_SETUP
    const float* yr = y + base;
    const float* gr = gy + base;
    float s = 0.0f;
    if (active)
        for (int j = t; j < len; j += TPR) s += log ? gr[j] : gr[j] * yr[j];
    s = row_sum<TPR>(s);
    if (!active) return;
    float* o = gx + base;
    if (log) {
        for (int j = t; j < len; j += TPR) o[j] = gr[j] - expf(yr[j]) * s;
    } else {
        for (int j = t; j < len; j += TPR) o[j] = yr[j] * (gr[j] - s);
    }
}

// out = x / max(||x||, eps); norm[row] = max(||x||, eps).
template <int TPR>
__device__ void l2norm_rows(const float* x, float* out, float* norm, int rows, int len, float eps) {
    ROW_SETUP
    const float* xr = x + base;
    float s = 0.0f;
    if (active)
        for (int j = t; j < len; j += TPR) s += xr[j] * xr[j];
    s = row_sum<TPR>(s);
    if (!active) return;
    float n = fmaxf(sqrtf(s), eps);
    float inv = 1.0f / n;
    float* o = out + base;
    for (int j = t; j < len; j += TPR) o[j] = xr[j] * inv;
    if (t == 0) norm[row] = n;
}

// Unclamped (||x|| >= eps): gx = gy / n - x (gy . x) / n^3. Clamped: the norm is the constant eps, gx = gy / eps.
template <int TPR>
__device__ void l2norm_backward_rows(const float* x, const float* norm, const float* gy, float* gx, int rows, int len,
                                     float eps) {
    ROW_SETUP
    const float* xr = x + base;
    const float* gr = gy + base;
    float ss = 0.0f, dot = 0.0f;
    if (active)
        for (int j = t; j < len; j += TPR) {
            ss += xr[j] * xr[j];
            dot += gr[j] * xr[j];
        }
    ss = row_sum<TPR>(ss);
    dot = row_sum<TPR>(dot);
    if (!active) return;
    float n = norm[row];
    float* o = gx + base;
    if (sqrtf(ss) >= eps) {
        float inv = 1.0f / n;
        float k = dot * inv * inv * inv;
        for (int j = t; j < len; j += TPR) o[j] = gr[j] * inv - xr[j] * k;
    } else {
        float inv = 1.0f / eps;
        for (int j = t; j < len; j += TPR) o[j] = gr[j] * inv;
    }
}

extern "C" __global__ void softmax_warp(const float* x, float* out, int rows, int len, int log) {
    softmax_rows<32>(x, out, rows, len, log);
}
extern "C" __global__ void softmax_block(const float* x, float* out, int rows, int len, int log) {
    softmax_rows<256>(x, out, rows, len, log);
}
extern "C" __global__ void softmax_backward_warp(const float* y, const float* gy, float* gx, int rows, int len, int log) {
    softmax_backward_rows<32>(y, gy, gx, rows, len, log);
}
extern "C" __global__ void softmax_backward_block(const float* y, const float* gy, float* gx, int rows, int len, int log) {
    softmax_backward_rows<256>(y, gy, gx, rows, len, log);
}
extern "C" __global__ void l2norm_warp(const float* x, float* out, float* norm, int rows, int len, float eps) {
    l2norm_rows<32>(x, out, norm, rows, len, eps);
}
extern "C" __global__ void l2norm_block(const float* x, float* out, float* norm, int rows, int len, float eps) {
    l2norm_rows<256>(x, out, norm, rows, len, eps);
}
extern "C" __global__ void l2norm_backward_warp(const float* x, const float* norm, const float* gy, float* gx, int rows,
                                                int len, float eps) {
    l2norm_backward_rows<32>(x, norm, gy, gx, rows, len, eps);
}
extern "C" __global__ void l2norm_backward_block(const float* x, const float* norm, const float* gy, float* gx, int rows,
                                                 int len, float eps) {
    l2norm_backward_rows<256>(x, norm, gy, gx, rows, len, eps);
}

// ------------------------------------------------------------------ L2 normalisation of few long rows
//
// A block per row leaves most SMs idle when rows are few (4 x 48 rows of 65536 at DIRformer level 1):
// the row is split into chunks across blocks instead, grid (splits, rows). l2norm_partial sums x^2
// (and gy*x for the backward) over its chunk into part[row][split][2]; the apply kernels then sum a
// row's partials in order (the same total in every block of the row) and write their chunk.

// Sum over the chunk [begin, end) of f(x) (and g(x, y) when y != null), as float4 when aligned.
__device__ __forceinline__ void l2_chunk_sums(const float* xr, const float* yr, int begin, int end, bool vec, float& ss,
                                              float& dot) {
    ss = 0.0f;
    dot = 0.0f;
    if (vec) {
        for (int j = begin / 4 + threadIdx.x; j < end / 4; j += blockDim.x) {
            float4 v = ld4(xr + 4 * j);
            ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
            if (yr != nullptr) {
                float4 g = ld4(yr + 4 * j);
                dot += g.x * v.x + g.y * v.y + g.z * v.z + g.w * v.w;
            }
        }
    } else {
        for (int j = begin + threadIdx.x; j < end; j += blockDim.x) {
            ss += xr[j] * xr[j];
            if (yr != nullptr) dot += yr[j] * xr[j];
        }
    }
}

// vec: len and chunk are multiples of 4 and the tensors 16-byte aligned (the host checks).
extern "C" __global__ void l2norm_partial(const float* x, const float* gy, float* part, int len, int chunk, int vec) {
    int row = blockIdx.y, split = blockIdx.x, begin = split * chunk, end = min(len, begin + chunk);
    long long base = (long long)row * len;
    float ss, dot;
    l2_chunk_sums(x + base, gy != nullptr ? gy + base : nullptr, begin, end, vec, ss, dot);
    ss = block_sum(ss);
    if (gy != nullptr) dot = block_sum(dot);
    if (threadIdx.x == 0) {
        float* p = part + ((long long)row * gridDim.x + split) * 2;
        p[0] = ss;
        p[1] = dot;
    }
}

// The row's totals from its partials, summed in order by every thread.
__device__ __forceinline__ void l2_row_totals(const float* part, int row, float& ss, float& dot) {
    ss = 0.0f;
    dot = 0.0f;
    const float* p = part + (long long)row * gridDim.x * 2;
    for (int k = 0; k < (int)gridDim.x; k++) {
        ss += p[2 * k];
        dot += p[2 * k + 1];
    }
}

extern "C" __global__ void l2norm_apply(const float* x, const float* part, float* out, float* norm, int len, int chunk,
                                        float eps, int vec) {
    int row = blockIdx.y, split = blockIdx.x, begin = split * chunk, end = min(len, begin + chunk);
    float ss, dot;
    l2_row_totals(part, row, ss, dot);
    float n = fmaxf(sqrtf(ss), eps), inv = 1.0f / n;
    long long base = (long long)row * len;
    const float* xr = x + base;
    float* o = out + base;
    if (vec) {
        for (int j = begin / 4 + threadIdx.x; j < end / 4; j += blockDim.x) {
            float4 v = ld4(xr + 4 * j);
            st4(o + 4 * j, make_float4(v.x * inv, v.y * inv, v.z * inv, v.w * inv));
        }
    } else {
        for (int j = begin + threadIdx.x; j < end; j += blockDim.x) o[j] = xr[j] * inv;
    }
    if (split == 0 && threadIdx.x == 0) norm[row] = n;
}

// As l2norm_backward_rows: gx = gy / n - x (gy . x) / n^3 unclamped, gy / eps clamped.
extern "C" __global__ void l2norm_backward_apply(const float* x, const float* norm, const float* gy, const float* part,
                                                 float* gx, int len, int chunk, float eps, int vec) {
    int row = blockIdx.y, split = blockIdx.x, begin = split * chunk, end = min(len, begin + chunk);
    float ss, dot;
    l2_row_totals(part, row, ss, dot);
    float n = norm[row];
    bool clamped = !(sqrtf(ss) >= eps);
    float inv = clamped ? 1.0f / eps : 1.0f / n, k = clamped ? 0.0f : dot * inv * inv * inv;
    long long base = (long long)row * len;
    const float* xr = x + base;
    const float* gr = gy + base;
    float* o = gx + base;
    if (vec) {
        for (int j = begin / 4 + threadIdx.x; j < end / 4; j += blockDim.x) {
            float4 v = ld4(xr + 4 * j), g = ld4(gr + 4 * j);
            st4(o + 4 * j, make_float4(g.x * inv - v.x * k, g.y * inv - v.y * k, g.z * inv - v.z * k, g.w * inv - v.w * k));
        }
    } else {
        for (int j = begin + threadIdx.x; j < end; j += blockDim.x) o[j] = gr[j] * inv - xr[j] * k;
    }
}
