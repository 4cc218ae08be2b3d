// GDFN's gated depthwise convolution, forward and backward. Glue: diffir.kernels.fused.GatedDwConvKernels.
//
//   z = dwconv_KxK(x, w) + bias  over x (N, 2Hd, H, W), stride 1, zero padding P = K/2
//   out[n, c] = gelu(z[n, c]) * z[n, Hd + c]          (N, Hd, H, W), c < Hd
//
// One block computes a GT_H x GT_W tile of one output channel c of one image, so it needs the two
// input planes c and Hd + c: it stages both (with halo) in shared memory once and every tap then
// reads shared memory. Block (32, 8): a warp is one row of 32 consecutive pixels (coalesced
// global accesses, conflict-free shared accesses), and each thread does GT_H / 8 = 4 rows.
// Grid: x = tile index (tilesX * tilesY), y = c (< Hd), z = n.
// Kernels exist for K = 1, 3, 5 (DiffIR uses 3; K = 7 would need ~255 registers in the backward).
#include "fused_common.cuh"

#define GT_W 32
#define GT_H 32
#define G_BX 32
#define G_BY 8
#define G_THREADS (G_BX * G_BY)
#define G_ROWS (GT_H / G_BY)

// Zero-padded x[row][col] of one plane, or 0 outside the image.
__device__ __forceinline__ float gdfn_at(const float* plane, int row, int col, int H, int W) {
    return (row >= 0 && row < H && col >= 0 && col < W) ? plane[(size_t) row * W + col] : 0.0f;
}

// ------------------------------------------------------------------------------------------ forward

template <int K>
__device__ __forceinline__ void gdfn_forward(const float* __restrict__ x, const float* __restrict__ w,
                                             const float* __restrict__ bias, float* __restrict__ out,
                                             int Hd, int H, int W, int tilesX) {
    constexpr int P = K / 2;
    constexpr int SH = GT_H + K - 1, SW = GT_W + K - 1;  // input tile with halo
    FUSED_SHARED(float, s1, [SH][SW]);
    FUSED_SHARED(float, s2, [SH][SW]);

    const int c = blockIdx.y, n = blockIdx.z;
    const int y0 = (blockIdx.x / tilesX) * GT_H, x0 = (blockIdx.x % tilesX) * GT_W;
    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * G_BX + tx;
    const size_t planeSize = (size_t) H * W;
    const float* p1 = x + ((size_t) n * 2 * Hd + c) * planeSize;
    const float* p2 = p1 + (size_t) Hd * planeSize;

#pragma unroll 4
    for (int i = tid; i < SH * SW; i += G_THREADS) {  // unrolled: several loads in flight per thread
        int r = i / SW, col = i % SW;
        int gyy = y0 - P + r, gxx = x0 - P + col;
        s1[r][col] = gdfn_at(p1, gyy, gxx, H, W);
        s2[r][col] = gdfn_at(p2, gyy, gxx, H, W);
    }
    // Taps in registers (uniform across the block; constant indices after unrolling).
    float w1[K * K], w2[K * K];
#pragma unroll
    for (int t = 0; t < K * K; t++) {
        w1[t] = w[(size_t) c * K * K + t];
        w2[t] = w[(size_t) (Hd + c) * K * K + t];
    }
    const float b1 = bias != nullptr ? bias[c] : 0.0f;
    const float b2 = bias != nullptr ? bias[Hd + c] : 0.0f;
    __syncthreads();

    float* o = out + ((size_t) n * Hd + c) * planeSize;
#pragma unroll
    for (int j = 0; j < G_ROWS; j++) {
        const int ly = ty + j * G_BY;  // tile row; s*[ly + ky][tx + kx] is input (y0+ly+ky-P, x0+tx+kx-P)
        const int oy = y0 + ly, ox = x0 + tx;
        if (oy < H && ox < W) {
            float z1 = b1, z2 = b2;
#pragma unroll
            for (int ky = 0; ky < K; ky++)
#pragma unroll
                for (int kx = 0; kx < K; kx++) {
                    z1 += w1[ky * K + kx] * s1[ly + ky][tx + kx];
                    z2 += w2[ky * K + kx] * s2[ly + ky][tx + kx];
                }
            o[(size_t) oy * W + ox] = fused_gelu(z1) * z2;
        }
    }
}

#define GDFN_FWD(K)                                                                                     \
    extern "C" __global__ void __launch_bounds__(G_THREADS)                                             \
    fused_gdfn_fwd_k##K(const float* x, const float* w, const float* bias, float* out, int Hd, int H, int W, \
                        int tilesX) {                                                                   \
        gdfn_forward<K>(x, w, bias, out, Hd, H, W, tilesX);                                             \
    }
GDFN_FWD(1)
GDFN_FWD(3)
GDFN_FWD(5)

// ----------------------------------------------------------------------------------------- backward
//
// With g = d out at an output pixel: gz1 = g * gelu'(z1) * z2, gz2 = g * gelu(z1) (z recomputed).
// gx[c] at pixel y = sum_{ky,kx} w[c][ky][kx] * gz[c][y - ky + P][x - kx + P] (transposed stencil),
// so a block needs gz on its tile plus a halo of P, hence x on the tile plus a halo of 2P:
//   xs (origin y0-2P, x0-2P) -> gz on the extended tile gs (origin y0-P, x0-P) -> gx on the tile.
// Weight/bias gradients: gw[c][ky][kx] = sum gz[c][y][x] * x[c][y+ky-P][x+kx-P], gb[c] = sum gz[c],
// each block summing its own tile pixels only (tiles partition the image, so nothing is counted
// twice) into part[((ch * (K*K+1) + j) * NT + nt], ch < 2Hd, j <= K*K (j = K*K is the bias),
// nt = n * tiles + tile, NT = N * tiles; fused_gdfn_bwd_finalize sums over nt in a fixed order.
template <int K>
__device__ __forceinline__ void gdfn_backward(const float* __restrict__ x, const float* __restrict__ w,
                                              const float* __restrict__ bias, const float* __restrict__ gy,
                                              float* __restrict__ gx, float* __restrict__ part, int Hd, int H,
                                              int W, int tilesX, int NT) {
    constexpr int P = K / 2;
    constexpr int KK = K * K;
    constexpr int XH = GT_H + 4 * P, XW = GT_W + 4 * P;  // x with a 2P halo
    constexpr int EH = GT_H + 2 * P, EW = GT_W + 2 * P;  // gz with a P halo
    constexpr int NACC = 2 * (KK + 1);
    FUSED_SHARED(float, xs1, [XH][XW]);
    FUSED_SHARED(float, xs2, [XH][XW]);
    FUSED_SHARED(float, gs1, [EH][EW]);
    FUSED_SHARED(float, gs2, [EH][EW]);
    FUSED_SHARED(float, gys, [EH][EW]);  // gy on the extended tile, staged with x so its loads overlap
    FUSED_SHARED(float, red, [G_THREADS / 32][NACC]);

    const int c = blockIdx.y, n = blockIdx.z;
    const int tile = blockIdx.x;
    const int y0 = (tile / tilesX) * GT_H, x0 = (tile % tilesX) * GT_W;
    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * G_BX + tx;
    const size_t planeSize = (size_t) H * W;
    const float* p1 = x + ((size_t) n * 2 * Hd + c) * planeSize;
    const float* p2 = p1 + (size_t) Hd * planeSize;
    const float* gp = gy + ((size_t) n * Hd + c) * planeSize;

#pragma unroll 4
    for (int i = tid; i < XH * XW; i += G_THREADS) {
        int r = i / XW, col = i % XW;
        int gyy = y0 - 2 * P + r, gxx = x0 - 2 * P + col;
        xs1[r][col] = gdfn_at(p1, gyy, gxx, H, W);
        xs2[r][col] = gdfn_at(p2, gyy, gxx, H, W);
    }
#pragma unroll 2
    for (int i = tid; i < EH * EW; i += G_THREADS) {
        int ey = i / EW, ex = i % EW;
        gys[ey][ex] = gdfn_at(gp, y0 - P + ey, x0 - P + ex, H, W);
    }
    float w1[KK], w2[KK];
#pragma unroll
    for (int t = 0; t < KK; t++) {
        w1[t] = w[(size_t) c * KK + t];
        w2[t] = w[(size_t) (Hd + c) * KK + t];
    }
    const float b1 = bias != nullptr ? bias[c] : 0.0f;
    const float b2 = bias != nullptr ? bias[Hd + c] : 0.0f;
    __syncthreads();

    // gz on the extended tile; zero outside the image (no output there, so no gradient).
    for (int i = tid; i < EH * EW; i += G_THREADS) {
        int ey = i / EW, ex = i % EW;
        int yy = y0 - P + ey, xx = x0 - P + ex;
        float g1 = 0.0f, g2 = 0.0f;
        if (yy >= 0 && yy < H && xx >= 0 && xx < W) {
            float z1 = b1, z2 = b2;
#pragma unroll
            for (int ky = 0; ky < K; ky++)
#pragma unroll
                for (int kx = 0; kx < K; kx++) {  // input (yy+ky-P, xx+kx-P) is xs[ey+ky][ex+kx]
                    z1 += w1[ky * K + kx] * xs1[ey + ky][ex + kx];
                    z2 += w2[ky * K + kx] * xs2[ey + ky][ex + kx];
                }
            const float g = gys[ey][ex];
            float act, dact;
            fused_gelu_and_grad(z1, act, dact);
            g1 = g * dact * z2;
            g2 = g * act;
        }
        gs1[ey][ex] = g1;
        gs2[ey][ex] = g2;
    }
    __syncthreads();

    float acc[NACC];
#pragma unroll
    for (int t = 0; t < NACC; t++) acc[t] = 0.0f;
    float* gx1 = gx != nullptr ? gx + ((size_t) n * 2 * Hd + c) * planeSize : nullptr;
    float* gx2 = gx != nullptr ? gx1 + (size_t) Hd * planeSize : nullptr;
#pragma unroll
    for (int j = 0; j < G_ROWS; j++) {
        const int ly = ty + j * G_BY;
        const int oy = y0 + ly, ox = x0 + tx;
        if (gx != nullptr && oy < H && ox < W) {
            // gz at image (oy - ky + P, ox - kx + P) is gs[ly + 2P - ky][tx + 2P - kx].
            float a1 = 0.0f, a2 = 0.0f;
#pragma unroll
            for (int ky = 0; ky < K; ky++)
#pragma unroll
                for (int kx = 0; kx < K; kx++) {
                    a1 += w1[ky * K + kx] * gs1[ly + 2 * P - ky][tx + 2 * P - kx];
                    a2 += w2[ky * K + kx] * gs2[ly + 2 * P - ky][tx + 2 * P - kx];
                }
            gx1[(size_t) oy * W + ox] = a1;
            gx2[(size_t) oy * W + ox] = a2;
        }
        if (part != nullptr) {
            // gz at this tile pixel is gs[ly+P][tx+P] (0 outside the image); x at
            // (oy + ky - P, ox + kx - P) is xs[ly + P + ky][tx + P + kx].
            const float g1 = gs1[ly + P][tx + P], g2 = gs2[ly + P][tx + P];
#pragma unroll
            for (int ky = 0; ky < K; ky++)
#pragma unroll
                for (int kx = 0; kx < K; kx++) {
                    acc[ky * K + kx] += g1 * xs1[ly + P + ky][tx + P + kx];
                    acc[KK + 1 + ky * K + kx] += g2 * xs2[ly + P + ky][tx + P + kx];
                }
            acc[KK] += g1;
            acc[2 * KK + 1] += g2;
        }
    }
    if (part == nullptr) return;  // uniform: the whole block leaves together

    const int lane = tid & 31, warp = tid >> 5;
#pragma unroll
    for (int t = 0; t < NACC; t++) {
        float s = fused_warp_sum(acc[t]);
        if (lane == 0) red[warp][t] = s;
    }
    __syncthreads();
    const int nt = n * (gridDim.x) + tile;
    for (int t = tid; t < NACC; t += G_THREADS) {
        float s = 0.0f;
        for (int k = 0; k < G_THREADS / 32; k++) s += red[k][t];
        const int half = t / (KK + 1), j = t % (KK + 1);  // half 0: channel c, half 1: channel Hd + c
        const int ch = c + half * Hd;
        part[((size_t) ch * (KK + 1) + j) * NT + nt] = s;
    }
}

// Minimum resident blocks per SM: 4 keeps K = 3 at 64 registers without spills (4 x 256 threads,
// 4 x 20 KB shared); K = 5 needs about 108 registers, so 2.
#define GDFN_BWD(K, MIN_BLOCKS)                                                                         \
    extern "C" __global__ void __launch_bounds__(G_THREADS, MIN_BLOCKS)                                 \
    fused_gdfn_bwd_k##K(const float* x, const float* w, const float* bias, const float* gy, float* gx,   \
                        float* part, int Hd, int H, int W, int tilesX, int NT) {                        \
        gdfn_backward<K>(x, w, bias, gy, gx, part, Hd, H, W, tilesX, NT);                               \
    }
GDFN_BWD(1, 4)
GDFN_BWD(3, 4)
GDFN_BWD(5, 2)

// One block per channel ch < 2Hd, one warp per tap j (j = K*K is the bias): lanes stride over the
// NT partials, then a warp sum. gw[ch][j] (j < K*K) and gb[ch] nullable. No block barrier needed.
#define GF_THREADS 256
extern "C" __global__ void __launch_bounds__(GF_THREADS)
fused_gdfn_bwd_finalize(const float* __restrict__ part, float* __restrict__ gw, float* __restrict__ gb, int KK,
                        int NT) {
    const int ch = blockIdx.x;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int j = warp; j <= KK; j += GF_THREADS / 32) {  // uniform per warp
        const float* pp = part + ((size_t) ch * (KK + 1) + j) * NT;
        float s = 0.0f;
#pragma unroll 4
        for (int t = lane; t < NT; t += 32) s += pp[t];
        s = fused_warp_sum(s);
        if (lane == 0) {
            if (j < KK) {
                if (gw != nullptr) gw[(size_t) ch * KK + j] = s;
            } else if (gb != nullptr) {
                gb[ch] = s;
            }
        }
    }
}
