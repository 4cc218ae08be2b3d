// Convolution pieces the backend composes: im2col / col2im for the GEMM formulation (used where
// cuDNN is absent), and direct depthwise convolution with its gradients. NCHW float32.
#include "common.cuh"
#include "fused_common.cuh"
#include "stencil_tiles.cuh"

// Geometry of one convolution (a struct of ints passed by value).
struct ConvGeom {
    int c, h, w;       // channels handled (one group's), input size
    int kh, kw, sh, sw, ph, pw;
    int oh, ow;
};

// cols[img][(ci*kh + i)*kw + j][oy*ow + ox] = x[img][ci][oy*sh - ph + i][ox*sw - pw + j] (0 outside),
// for `images` images of xImageStride floats each (the group's channels start at x).
extern "C" __global__ void im2col(const float* x, float* cols, int images, long long xImageStride, ConvGeom g) {
    int ohw = g.oh * g.ow, kk = g.kh * g.kw;
    long long perImage = (long long)g.c * kk * ohw;
    long long total = perImage * images;
    for (long long idx = global_thread(); idx < total; idx += global_stride()) {
        int img = (int)(idx / perImage);
        int rest = (int)(idx - img * perImage);
        int row = rest / ohw, p = rest - row * ohw;
        int ci = row / kk, tap = row - ci * kk;
        int i = tap / g.kw, j = tap - i * g.kw;
        int oy = p / g.ow, ox = p - oy * g.ow;
        int iy = oy * g.sh - g.ph + i, ix = ox * g.sw - g.pw + j;
        float v = 0.0f;
        if (iy >= 0 && iy < g.h && ix >= 0 && ix < g.w) v = x[img * xImageStride + ((long long)ci * g.h + iy) * g.w + ix];
        cols[idx] = v;
    }
}

// Calls f(i, j, oy, ox) for every tap (i, j) and output pixel (oy, ox) that reads input pixel (y, x): the
// gathers of the adjoint (transposed) convolution, y = oy*sh - ph + i and x = ox*sw - pw + j.
template <typename F>
__device__ __forceinline__ void for_each_reader(int y, int x, const ConvGeom& g, F f) {
    for (int i = 0; i < g.kh; ++i) {
        int ty = y + g.ph - i;
        if (ty < 0 || ty % g.sh != 0) continue;
        int oy = ty / g.sh;
        if (oy >= g.oh) continue;
        for (int j = 0; j < g.kw; ++j) {
            int tx = x + g.pw - j;
            if (tx < 0 || tx % g.sw != 0) continue;
            int ox = tx / g.sw;
            if (ox >= g.ow) continue;
            f(i, j, oy, ox);
        }
    }
}

// The adjoint of im2col: gx[img][ci][y][x] = sum of the cols entries im2col would read it into.
// One thread per input element gathers (no atomics, deterministic); overwrites gx.
extern "C" __global__ void col2im(const float* cols, float* gx, int images, long long xImageStride, ConvGeom g) {
    int ohw = g.oh * g.ow, kk = g.kh * g.kw;
    long long perImage = (long long)g.c * g.h * g.w;
    long long total = perImage * images;
    for (long long idx = global_thread(); idx < total; idx += global_stride()) {
        int img = (int)(idx / perImage);
        int rest = (int)(idx - img * perImage);
        int ci = rest / (g.h * g.w);
        int yx = rest - ci * g.h * g.w;
        int y = yx / g.w, xx = yx - y * g.w;
        const float* cimg = cols + (long long)img * g.c * kk * ohw + (long long)ci * kk * ohw;
        float acc = 0.0f;
        for_each_reader(y, xx, g, [&](int i, int j, int oy, int ox) { acc += cimg[(long long)(i * g.kw + j) * ohw + oy * g.ow + ox]; });
        gx[img * xImageStride + (long long)ci * g.h * g.w + yx] = acc;
    }
}

// Depthwise (groups == C == O): out[n][c] = conv(x[n][c], w[c]) + bias[c]; bias may be null.
extern "C" __global__ void dwconv_forward(const float* x, const float* w, const float* bias, float* out, int n, ConvGeom g) {
    int ohw = g.oh * g.ow;
    long long total = (long long)n * g.c * ohw;
    for (long long idx = global_thread(); idx < total; idx += global_stride()) {
        int plane = (int)(idx / ohw);  // n * C + c
        int p = (int)(idx - (long long)plane * ohw);
        int c = plane % g.c;
        int oy = p / g.ow, ox = p - oy * g.ow;
        const float* xp = x + (long long)plane * g.h * g.w;
        const float* wp = w + c * g.kh * g.kw;
        float acc = bias != nullptr ? bias[c] : 0.0f;
        for (int i = 0; i < g.kh; ++i) {
            int iy = oy * g.sh - g.ph + i;
            if (iy < 0 || iy >= g.h) continue;
            for (int j = 0; j < g.kw; ++j) {
                int ix = ox * g.sw - g.pw + j;
                if (ix < 0 || ix >= g.w) continue;
                acc = fmaf(xp[iy * g.w + ix], wp[i * g.kw + j], acc);
            }
        }
        out[idx] = acc;
    }
}

// gx[n][c][y][x] = sum over taps (i, j) with y = oy*sh - ph + i, x = ox*sw - pw + j of gy[n][c][oy][ox] w[c][i][j].
extern "C" __global__ void dwconv_backward_input(const float* gy, const float* w, float* gx, int n, ConvGeom g) {
    int hw = g.h * g.w;
    long long total = (long long)n * g.c * hw;
    for (long long idx = global_thread(); idx < total; idx += global_stride()) {
        int plane = (int)(idx / hw);
        int p = (int)(idx - (long long)plane * hw);
        int c = plane % g.c;
        int y = p / g.w, xx = p - y * g.w;
        const float* gp = gy + (long long)plane * g.oh * g.ow;
        const float* wp = w + c * g.kh * g.kw;
        float acc = 0.0f;
        for_each_reader(y, xx, g, [&](int i, int j, int oy, int ox) { acc = fmaf(gp[oy * g.ow + ox], wp[i * g.kw + j], acc); });
        gx[idx] = acc;
    }
}

// Weight gradient of a depthwise KxK conv: block (c, split) sums gy * shifted x over its chunk of the
// n*oh*ow output pixels into K*K register accumulators, then reduces them over the block into
// partial[split][c][tap]. The host adds the splits.
template <int K>
__device__ void dw_weight_k(const float* x, const float* gy, float* partial, int n, int chunk, const ConvGeom& g) {
    int c = blockIdx.x, split = blockIdx.y;
    int ohw = g.oh * g.ow;
    int total = n * ohw;
    int begin = split * chunk, end = min(total, begin + chunk);
    float acc[K * K];
#pragma unroll
    for (int t = 0; t < K * K; ++t) acc[t] = 0.0f;
    for (int q = begin + threadIdx.x; q < end; q += blockDim.x) {
        int img = q / ohw, p = q - img * ohw;
        int oy = p / g.ow, ox = p - oy * g.ow;
        long long plane = (long long)img * g.c + c;
        float gv = gy[plane * ohw + p];
        const float* xp = x + plane * g.h * g.w;
#pragma unroll
        for (int i = 0; i < K; ++i) {
            int iy = oy * g.sh - g.ph + i;
            bool rowOk = iy >= 0 && iy < g.h;
#pragma unroll
            for (int j = 0; j < K; ++j) {
                int ix = ox * g.sw - g.pw + j;
                if (rowOk && ix >= 0 && ix < g.w) acc[i * K + j] = fmaf(gv, xp[iy * g.w + ix], acc[i * K + j]);
            }
        }
    }
#pragma unroll
    for (int t = 0; t < K * K; ++t) {
        float s = block_sum(acc[t]);
        if (threadIdx.x == 0) partial[((long long)split * g.c + c) * (K * K) + t] = s;
    }
}

extern "C" __global__ void dwconv_backward_weight_k3(const float* x, const float* gy, float* partial, int n, int chunk, ConvGeom g) {
    dw_weight_k<3>(x, gy, partial, n, chunk, g);
}
extern "C" __global__ void dwconv_backward_weight_k5(const float* x, const float* gy, float* partial, int n, int chunk, ConvGeom g) {
    dw_weight_k<5>(x, gy, partial, n, chunk, g);
}
extern "C" __global__ void dwconv_backward_weight_k7(const float* x, const float* gy, float* partial, int n, int chunk, ConvGeom g) {
    dw_weight_k<7>(x, gy, partial, n, chunk, g);
}

// Any kernel size: block (c * kh*kw + tap, split), one accumulator per thread.
extern "C" __global__ void dwconv_backward_weight_any(const float* x, const float* gy, float* partial, int n, int chunk, ConvGeom g) {
    int kk = g.kh * g.kw;
    int c = blockIdx.x / kk, tap = blockIdx.x - c * kk;
    int i = tap / g.kw, j = tap - i * g.kw;
    int split = blockIdx.y;
    int ohw = g.oh * g.ow;
    int total = n * ohw;
    int begin = split * chunk, end = min(total, begin + chunk);
    float acc = 0.0f;
    for (int q = begin + threadIdx.x; q < end; q += blockDim.x) {
        int img = q / ohw, p = q - img * ohw;
        int oy = p / g.ow, ox = p - oy * g.ow;
        int iy = oy * g.sh - g.ph + i, ix = ox * g.sw - g.pw + j;
        if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
        long long plane = (long long)img * g.c + c;
        acc = fmaf(gy[plane * ohw + p], x[plane * g.h * g.w + iy * g.w + ix], acc);
    }
    float s = block_sum(acc);
    if (threadIdx.x == 0) partial[((long long)split * g.c + c) * kk + tap] = s;
}

// Depthwise K x K convolution with stride 1 and "same" zero padding K/2 (DIRformer's 3x3 dwconv):
// out[n][c] = conv(x[n][c], w[c]) (+ bias[c]), tiled like the GDFN kernels (a 32 x 32 output tile of
// one plane per block, the input tile and halo staged in shared memory, 4 register-blocked rows per
// thread), instead of one thread per output reading its K^2 inputs from global memory. FLIP uses the
// taps rotated by 180 degrees, which makes it the input gradient: for stride 1 and padding K/2,
// gx = conv(gy, rot180(w)) with the same padding. Grid (tilesX * tilesY, C, N), block (32, 8).
template <int K, bool VEC, bool FLIP>
__device__ __forceinline__ void dw_same(const float* __restrict__ x, const float* __restrict__ w,
                                        const float* __restrict__ bias, float* __restrict__ out, int C, int H, int W,
                                        int tilesX) {
    constexpr int P = K / 2, KK = K * K;
    FUSED_SHARED(float, s, [1][GT_H + K - 1][GS_ROW]);
    const int c = blockIdx.y, n = blockIdx.z;
    const int y0 = (blockIdx.x / tilesX) * GT_H, x0 = (blockIdx.x % tilesX) * GT_W;
    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * G_BX + tx;
    const size_t plane = ((size_t) n * C + c) * H * W;
    const float* const planes[1] = {x + plane};
    float (*const dst[1])[GS_ROW] = {s[0]};
    tile_stage<P, 1, VEC>(planes, dst, y0, x0, H, W, tid);
    float taps[KK];
#pragma unroll
    for (int t = 0; t < KK; t++) taps[t] = w[(size_t) c * KK + (FLIP ? KK - 1 - t : t)];
    const float b = bias != nullptr ? bias[c] : 0.0f;
    __syncthreads();
    float z[4] = {b, b, b, b};
    tile_stencil4<K>(s[0], 4 * ty, GS_COL0 - P + tx, taps, z);
    float* o = out + plane;
    const int ox = x0 + tx;
#pragma unroll
    for (int j = 0; j < 4; j++) {
        const int oy = y0 + 4 * ty + j;
        if (oy < H && ox < W) o[(size_t) oy * W + ox] = z[j];
    }
}

#define DW_SAME(K)                                                                                       \
    extern "C" __global__ void __launch_bounds__(G_THREADS)                                              \
    dwconv_same_k##K(const float* x, const float* w, const float* bias, float* out, int C, int H, int W, int tilesX) { \
        dw_same<K, false, false>(x, w, bias, out, C, H, W, tilesX);                                      \
    }                                                                                                    \
    extern "C" __global__ void __launch_bounds__(G_THREADS)                                              \
    dwconv_same_k##K##_v4(const float* x, const float* w, const float* bias, float* out, int C, int H, int W, \
                          int tilesX) {                                                                  \
        dw_same<K, true, false>(x, w, bias, out, C, H, W, tilesX);                                       \
    }                                                                                                    \
    extern "C" __global__ void __launch_bounds__(G_THREADS)                                              \
    dwconv_same_flip_k##K(const float* x, const float* w, const float* bias, float* out, int C, int H, int W, \
                          int tilesX) {                                                                  \
        dw_same<K, false, true>(x, w, bias, out, C, H, W, tilesX);                                       \
    }                                                                                                    \
    extern "C" __global__ void __launch_bounds__(G_THREADS)                                              \
    dwconv_same_flip_k##K##_v4(const float* x, const float* w, const float* bias, float* out, int C, int H, \
                               int W, int tilesX) {                                                      \
        dw_same<K, true, true>(x, w, bias, out, C, H, W, tilesX);                                        \
    }
DW_SAME(3)
DW_SAME(5)
DW_SAME(7)
