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
