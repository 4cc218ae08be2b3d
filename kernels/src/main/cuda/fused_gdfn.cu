// GDFN's gated depthwise convolution, forward and backward. Glue: diffir.kernels.fused.GatedDwConvKernels.
//
//   z = dwconv_KxK(x, w) + bias  over x (N, 2Hd, H, W), stride 1, zero padding P = K/2
//   out[n, c] = gelu(z[n, c]) * z[n, Hd + c]          (N, Hd, H, W), c < Hd
//
// One block computes a GT_H x GT_W tile of one output channel c of one image, so it needs the two
// input planes c and Hd + c: it stages both (with halo) in shared memory once and every tap then
// reads shared memory. Block (32, 8): a warp is one row of 32 consecutive pixels (coalesced
// global accesses, conflict-free shared accesses), and each thread does 4 rows. The _v4 kernels
// (W % 4 == 0, aligned planes) stage with float4 loads, all in flight at once.
// Grid: x = tile index (tilesX * tilesY), y = c (< Hd), z = n.
// Kernels exist for K = 1, 3, 5 (DiffIR uses 3; K = 7 would need ~255 registers in the backward).
#include "fused_common.cuh"
#include "stencil_tiles.cuh"

// The taps of channels c and Hd + c, and their biases.
template <int K>
__device__ __forceinline__ void gdfn_taps(const float* __restrict__ w, const float* __restrict__ bias, int c, int Hd,
                                          float (&w1)[K * K], float (&w2)[K * K], float& b1, float& b2) {
#pragma unroll
    for (int t = 0; t < K * K; t++) {
        w1[t] = w[(size_t) c * K * K + t];
        w2[t] = w[(size_t) (Hd + c) * K * K + t];
    }
    b1 = bias != nullptr ? bias[c] : 0.0f;
    b2 = bias != nullptr ? bias[Hd + c] : 0.0f;
}

// Block (32, 8), 4 vertically consecutive outputs per thread (rows 4ty .. 4ty+3, column tx): a warp
// is one tile row of 32 consecutive pixels (coalesced stores, conflict-free shared reads).
template <int K, bool VEC>
__device__ __forceinline__ void gdfn_forward(const float* __restrict__ x, const float* __restrict__ w,
                                             const float* __restrict__ bias, float* __restrict__ out,
                                             int Hd, int H, int W, int tilesX) {
    constexpr int P = K / 2;
    FUSED_SHARED(float, s, [2][GT_H + K - 1][GS_ROW]);

    const int c = blockIdx.y, n = blockIdx.z;
    const int y0 = (blockIdx.x / tilesX) * GT_H, x0 = (blockIdx.x % tilesX) * GT_W;
    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * G_BX + tx;
    const size_t planeSize = (size_t) H * W;
    const float* p1 = x + ((size_t) n * 2 * Hd + c) * planeSize;
    const float* const planes[2] = {p1, p1 + (size_t) Hd * planeSize};
    float (*const dst[2])[GS_ROW] = {s[0], s[1]};
    tile_stage<P, 2, VEC>(planes, dst, y0, x0, H, W, tid);
    // Taps in registers (uniform across the block; constant indices after unrolling).
    float w1[K * K], w2[K * K], b1, b2;
    gdfn_taps<K>(w, bias, c, Hd, w1, w2, b1, b2);
    __syncthreads();

    // Output (y0 + r, x0 + tx) reads input (y0 + r + ky - P, x0 + tx + kx - P) = s[r + ky][GS_COL0 - P + tx + kx].
    float z1[4] = {b1, b1, b1, b1}, z2[4] = {b2, b2, b2, b2};
    tile_stencil4<K>(s[0], 4 * ty, GS_COL0 - P + tx, w1, z1);
    tile_stencil4<K>(s[1], 4 * ty, GS_COL0 - P + tx, w2, z2);
    float* o = out + ((size_t) n * Hd + c) * planeSize;
    const int ox = x0 + tx;
#pragma unroll
    for (int j = 0; j < 4; j++) {
        const int oy = y0 + 4 * ty + j;
        if (oy < H && ox < W) o[(size_t) oy * W + ox] = gelu(z1[j]) * z2[j];
    }
}

#define GDFN_FWD(K)                                                                                     \
    extern "C" __global__ void __launch_bounds__(G_THREADS)                                             \
    fused_gdfn_fwd_k##K(const float* x, const float* w, const float* bias, float* out, int Hd, int H, int W, \
                        int tilesX) {                                                                   \
        gdfn_forward<K, false>(x, w, bias, out, Hd, H, W, tilesX);                                      \
    }                                                                                                   \
    extern "C" __global__ void __launch_bounds__(G_THREADS)                                             \
    fused_gdfn_fwd_k##K##_v4(const float* x, const float* w, const float* bias, float* out, int Hd, int H, \
                             int W, int tilesX) {                                                       \
        gdfn_forward<K, true>(x, w, bias, out, Hd, H, W, tilesX);                                       \
    }
GDFN_FWD(1)
GDFN_FWD(3)
GDFN_FWD(5)

// ----------------------------------------------------------------------------------------- backward
//
// With g = d out at an output pixel: gz1 = g * gelu'(z1) * z2, gz2 = g * gelu(z1) (z recomputed).
// gx[c] at pixel y = sum_{ky,kx} w[c][ky][kx] * gz[c][y - ky + P][x - kx + P] (transposed stencil),
// so a tile needs gz on itself plus a halo of P, hence x on the tile plus a halo of 2P:
//   xs (origin y0-2P, x0-2P) -> gz on the extended tile gs (origin y0-P, x0-P) -> gx on the tile.
// Weight/bias gradients: gw[c][ky][kx] = sum gz[c][y][x] * x[c][y+ky-P][x+kx-P], gb[c] = sum gz[c],
// each block summing the pixels of its own tiles only (tiles partition the image, so nothing is
// counted twice) into part[((ch * (K*K+1) + j) * NT + nt], ch < 2Hd, j <= K*K (j = K*K is the
// bias), nt < NT one partial per block; fused_gdfn_bwd_finalize sums over nt in a fixed order.
//
// Layout (all shared tiles share the forward's column convention: image column X is at
// GS_COL0 + X - x0): xs1, xs2 and gys hold rows y0 - 2P .. y0 + GT_H + 2P - 1 (gy with the same
// halo as x, so one staging pass loads all three planes at once); gs1, gs2 hold gz on rows
// y0 - P .. y0 + GT_H + P - 1. Each thread computes the 4 vertically consecutive core pixels of the
// forward's mapping (z, gz, the weight-gradient terms and later gx, all through register-blocked
// stencils); the ring of halo pixels around the core (gz only, no gradient terms) is spread over the
// first threads. The per-thread weight and bias sums (2 (K^2 + 1) of them) are summed over each warp
// in one transposed reduction, then over the warps.
//
// Two kernels share the per-tile steps below: fused_gdfn_bwd_k* (one tile per block) and, for
// K = 3 with float4 rows, fused_gdfn_bwd_strip_k3 (a block walks a row of tiles, each tile's planes
// arriving by cp.async while the previous tile computes; one reduction per row of tiles).
template <int K>
struct GdfnBwd {
    static constexpr int P = K / 2, KK = K * K;
    static constexpr int XH = GT_H + 4 * P;                      // rows of x and gy (a 2P halo)
    static constexpr int EH = GT_H + 2 * P, EW = GT_W + 2 * P;  // gz on the tile with a P halo
    static constexpr int NACC = 2 * (KK + 1);
    static constexpr int NRED = (NACC + 31) / 32 * 32;          // padded for the transposed warp sum
    static constexpr int RING = EH * EW - GT_H * GT_W;          // halo pixels of the extended tile
};

// gz of the tile at (y0, x0) and its ring into gs, from the staged x planes xs[0], xs[1] and gy
// xs[2]; adds the tile's weight and bias gradient terms to acc. The caller synchronises before
// (xs staged) and after (gs complete). EXP2: GELU's density through exp2f (gelu_and_grad).
template <int K, bool EXP2>
__device__ __forceinline__ void gdfn_bwd_gz(const float (*const (&xs)[3])[GS_ROW], float (*const (&gs)[2])[GS_ROW],
                                            const float (&w1)[K * K], const float (&w2)[K * K], float b1, float b2,
                                            int y0, int x0, int H, int W, int tx, int ty, int tid,
                                            float (&acc)[GdfnBwd<K>::NRED]) {
    using B = GdfnBwd<K>;
    constexpr int P = B::P, KK = B::KK, EW = B::EW;
    // z at image (Y, X) reads xs[Y - y0 + P + ky][GS_COL0 - P + X - x0 + kx]; gy(Y, X) is xs[2][Y - y0 + 2P][GS_COL0 + X - x0].
    {  // the core: rows y0 + 4ty + j, column x0 + tx
        float z1[4] = {b1, b1, b1, b1}, z2[4] = {b2, b2, b2, b2};
        tile_stencil4<K>(xs[0], 4 * ty + P, GS_COL0 - P + tx, w1, z1);
        tile_stencil4<K>(xs[1], 4 * ty + P, GS_COL0 - P + tx, w2, z2);
        float g1[4], g2[4];
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int Y = y0 + 4 * ty + j, X = x0 + tx;
            g1[j] = g2[j] = 0.0f;
            if (Y < H && X < W) {  // no output there, so no gradient
                const float g = xs[2][4 * ty + j + 2 * P][GS_COL0 + tx];
                float act, dact;
                gelu_and_grad<EXP2>(z1[j], act, dact);
                g1[j] = g * dact * z2[j];
                g2[j] = g * act;
            }
            gs[0][4 * ty + j + P][GS_COL0 + tx] = g1[j];
            gs[1][4 * ty + j + P][GS_COL0 + tx] = g2[j];
            acc[KK] += g1[j];
            acc[2 * KK + 1] += g2[j];
        }
        // gw[ky][kx] += gz(Y, X) * x(Y + ky - P, X + kx - P): the window of the z stencil again.
#pragma unroll
        for (int r = 0; r < 4 + K - 1; r++) {
            float v1[K], v2[K];
#pragma unroll
            for (int kx = 0; kx < K; kx++) {
                v1[kx] = xs[0][4 * ty + P + r][GS_COL0 - P + tx + kx];
                v2[kx] = xs[1][4 * ty + P + r][GS_COL0 - P + tx + kx];
            }
#pragma unroll
            for (int j = 0; j < 4; j++) {
                const int ky = r - j;
                if (ky >= 0 && ky < K) {
#pragma unroll
                    for (int kx = 0; kx < K; kx++) {
                        acc[ky * K + kx] += g1[j] * v1[kx];
                        acc[KK + 1 + ky * K + kx] += g2[j] * v2[kx];
                    }
                }
            }
        }
    }
    // The ring: gz of the halo pixels (e = 0 .. RING-1 walks the top rows, the bottom rows, then the
    // left and right columns of the core rows).
    for (int e = tid; P > 0 && e < B::RING; e += G_THREADS) {
        int er, ec;  // extended-tile coordinates (0 .. EH-1, 0 .. EW-1)
        if (e < 2 * P * EW) {
            er = e / EW;
            ec = e % EW;
            if (er >= P) er += GT_H;
        } else {
            const int f = e - 2 * P * EW;
            er = P + f / (2 * P + (P == 0));  // (P == 0: no ring; the term keeps the compiler quiet)
            ec = f % (2 * P + (P == 0));
            if (ec >= P) ec += GT_W;
        }
        const int Y = y0 - P + er, X = x0 - P + ec;
        float g1 = 0.0f, g2 = 0.0f;
        if (Y >= 0 && Y < H && X >= 0 && X < W) {
            float z1 = b1, z2 = b2;
#pragma unroll
            for (int ky = 0; ky < K; ky++)
#pragma unroll
                for (int kx = 0; kx < K; kx++) {
                    z1 += w1[ky * K + kx] * xs[0][er + ky][GS_COL0 - 2 * P + ec + kx];
                    z2 += w2[ky * K + kx] * xs[1][er + ky][GS_COL0 - 2 * P + ec + kx];
                }
            const float g = xs[2][er + P][GS_COL0 - P + ec];
            float act, dact;
            gelu_and_grad<EXP2>(z1, act, dact);
            g1 = g * dact * z2;
            g2 = g * act;
        }
        gs[0][er][GS_COL0 - P + ec] = g1;
        gs[1][er][GS_COL0 - P + ec] = g2;
    }
}

// gx of the tile at (y0, x0) for both halves (gx1, gx2: the planes c and Hd + c) from gz in gs.
template <int K>
__device__ __forceinline__ void gdfn_bwd_gx(const float (*const (&gs)[2])[GS_ROW], const float (&w1)[K * K],
                                            const float (&w2)[K * K], float* __restrict__ gx1, float* __restrict__ gx2,
                                            int y0, int x0, int H, int W, int tx, int ty) {
    constexpr int P = K / 2, KK = K * K;
    // gx(Y, X) = sum w[ky][kx] gz(Y - ky + P, X - kx + P) = sum wf[ky][kx] gs[Y - y0 + ky][GS_COL0 - P + X - x0 + kx]
    // with the flipped taps wf[ky][kx] = w[K-1-ky][K-1-kx].
    float f1[KK], f2[KK];
#pragma unroll
    for (int t = 0; t < KK; t++) {
        f1[t] = w1[KK - 1 - t];
        f2[t] = w2[KK - 1 - t];
    }
    float a1[4] = {0.0f, 0.0f, 0.0f, 0.0f}, a2[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    tile_stencil4<K>(gs[0], 4 * ty, GS_COL0 - P + tx, f1, a1);
    tile_stencil4<K>(gs[1], 4 * ty, GS_COL0 - P + tx, f2, a2);
    const int X = x0 + tx;
#pragma unroll
    for (int j = 0; j < 4; j++) {
        const int Y = y0 + 4 * ty + j;
        if (Y < H && X < W) {
            gx1[(size_t) Y * W + X] = a1[j];
            gx2[(size_t) Y * W + X] = a2[j];
        }
    }
}

// Sums acc over the block (one transposed warp reduction, then the warps, through red) and writes
// partial nt of channels c and Hd + c. Every thread of the block calls it.
template <int K>
__device__ __forceinline__ void gdfn_bwd_partials(float (&acc)[GdfnBwd<K>::NRED], float (*red)[GdfnBwd<K>::NRED],
                                                  float* __restrict__ part, int c, int Hd, int nt, int NT, int tid) {
    using B = GdfnBwd<K>;
    constexpr int KK = B::KK, NRED = B::NRED;
    const int lane = tid & 31, warp = tid >> 5;
    fused_warp_transpose_sum<NRED>(acc);  // lane l holds sums l*NRED/32 ..: with NRED = 32 or 64, 1 or 2 values
#pragma unroll
    for (int k = 0; k < NRED / 32; k++) red[warp][lane * (NRED / 32) + k] = acc[k];
    __syncthreads();
    for (int t = tid; t < B::NACC; t += G_THREADS) {
        float sum = 0.0f;
        for (int k = 0; k < G_THREADS / 32; k++) sum += red[k][t];
        const int half = t / (KK + 1), j = t % (KK + 1);  // half 0: channel c, half 1: channel Hd + c
        const int ch = c + half * Hd;
        part[((size_t) ch * (KK + 1) + j) * NT + nt] = sum;
    }
}

// One tile per block: grid (tiles, Hd, N), partial nt = n * tiles + tile.
template <int K, bool VEC>
__device__ __forceinline__ void gdfn_backward(const float* __restrict__ x, const float* __restrict__ w,
                                              const float* __restrict__ bias, const float* __restrict__ gy,
                                              float* __restrict__ gx, float* __restrict__ part, int Hd, int H,
                                              int W, int tilesX, int NT) {
    using B = GdfnBwd<K>;
    constexpr int P = B::P;
    FUSED_SHARED(float, xs, [3][B::XH][GS_ROW]);  // x plane c, x plane Hd + c, gy
    FUSED_SHARED(float, gs, [2][B::EH][GS_ROW]);
    FUSED_SHARED(float, red, [G_THREADS / 32][B::NRED]);

    const int c = blockIdx.y, n = blockIdx.z;
    const int tile = blockIdx.x;
    const int y0 = (tile / tilesX) * GT_H, x0 = (tile % tilesX) * GT_W;
    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * G_BX + tx;
    const size_t planeSize = (size_t) H * W;
    const float* p1 = x + ((size_t) n * 2 * Hd + c) * planeSize;
    const float* const planes[3] = {p1, p1 + (size_t) Hd * planeSize, gy + ((size_t) n * Hd + c) * planeSize};
    float (*const dst[3])[GS_ROW] = {xs[0], xs[1], xs[2]};
    tile_stage<2 * P, 3, VEC>(planes, dst, y0, x0, H, W, tid);
    float w1[B::KK], w2[B::KK], b1, b2;
    gdfn_taps<K>(w, bias, c, Hd, w1, w2, b1, b2);
    __syncthreads();

    float acc[B::NRED];
#pragma unroll
    for (int t = 0; t < B::NRED; t++) acc[t] = 0.0f;
    const float (*const xsc[3])[GS_ROW] = {xs[0], xs[1], xs[2]};
    float (*const gsp[2])[GS_ROW] = {gs[0], gs[1]};
    gdfn_bwd_gz<K, false>(xsc, gsp, w1, w2, b1, b2, y0, x0, H, W, tx, ty, tid, acc);
    __syncthreads();
    if (gx != nullptr) {
        const float (*const gsc[2])[GS_ROW] = {gs[0], gs[1]};
        float* gx1 = gx + ((size_t) n * 2 * Hd + c) * planeSize;
        gdfn_bwd_gx<K>(gsc, w1, w2, gx1, gx1 + (size_t) Hd * planeSize, y0, x0, H, W, tx, ty);
    }
    if (part == nullptr) return;  // uniform: the whole block leaves together
    gdfn_bwd_partials<K>(acc, red, part, c, Hd, n * gridDim.x + tile, NT, tid);
}

// Minimum resident blocks per SM: 4 keeps K = 3 at 64 registers (4 x 256 threads, 4 x 27 KB shared);
// K = 5 needs more registers, so 2.
#define GDFN_BWD(K, MIN_BLOCKS)                                                                         \
    extern "C" __global__ void __launch_bounds__(G_THREADS, MIN_BLOCKS)                                 \
    fused_gdfn_bwd_k##K(const float* x, const float* w, const float* bias, const float* gy, float* gx,   \
                        float* part, int Hd, int H, int W, int tilesX, int NT) {                        \
        gdfn_backward<K, false>(x, w, bias, gy, gx, part, Hd, H, W, tilesX, NT);                        \
    }                                                                                                   \
    extern "C" __global__ void __launch_bounds__(G_THREADS, MIN_BLOCKS)                                 \
    fused_gdfn_bwd_k##K##_v4(const float* x, const float* w, const float* bias, const float* gy, float* gx, \
                             float* part, int Hd, int H, int W, int tilesX, int NT) {                   \
        gdfn_backward<K, true>(x, w, bias, gy, gx, part, Hd, H, W, tilesX, NT);                         \
    }
GDFN_BWD(1, 4)
GDFN_BWD(3, 4)
GDFN_BWD(5, 2)

// Issues the cp.async copies of the three planes of the tile at (y0, x0) with a 2P halo: rows
// y0 - 2P .. y0 + GT_H + 2P - 1, columns x0 - 4 HC .. x0 + GT_W + 4 HC - 1 as float4 (HC = 1 float4
// of halo columns per side when P > 0; W % 4 == 0, so a float4 is wholly inside or outside the
// image; outside reads as 0). The halo float4 cost no extra memory sectors over the 2P columns.
template <int K>
__device__ __forceinline__ void gdfn_bwd_issue(const float* const (&planes)[3], float (*const (&dst)[3])[GS_ROW], int y0,
                                               int x0, int H, int W, int tid) {
    constexpr int P = K / 2, ROWS = GdfnBwd<K>::XH, HC = P > 0 ? 1 : 0, Q = GT_W / 4 + 2 * HC;
    static_assert(2 * P <= 4 * HC && GS_COL0 >= 4 * HC, "halo columns must fit one float4 per side");
    constexpr int ITEMS = ROWS * Q, L = (ITEMS + G_THREADS - 1) / G_THREADS;  // per plane
    // A thread copies the same (row, float4) of each plane: one offset and one bounds check for three copies.
#pragma unroll
    for (int k = 0; k < L; k++) {
        const int e = tid + k * G_THREADS;
        if (e < ITEMS) {
            const int r = e / Q, q = e % Q;
            const int gy = y0 - 2 * P + r, gx = x0 + 4 * (q - HC);
            const bool ok = gy >= 0 && gy < H && gx >= 0 && gx < W;
            const size_t off = ok ? (size_t) gy * W + gx : 0;
#pragma unroll
            for (int pl = 0; pl < 3; pl++) fused_cp_async16(&dst[pl][r][GS_COL0 + 4 * (q - HC)], planes[pl] + off, ok);
        }
    }
}

// A row of tiles per block: grid (tilesY, Hd, N); the block walks tiles x0 = 0, GT_W, ... of tile
// row blockIdx.x, the planes of the next tile arriving by cp.async into the second stage buffer
// while the current one computes, and sums the weight and bias terms of all its tiles before one
// block reduction (partial nt = n * tilesY + tile row). Needs W % 4 == 0 and 16-byte aligned planes.
template <int K>
__device__ __forceinline__ void gdfn_backward_strip(const float* __restrict__ x, const float* __restrict__ w,
                                                    const float* __restrict__ bias, const float* __restrict__ gy,
                                                    float* __restrict__ gx, float* __restrict__ part, int Hd, int H,
                                                    int W, int tilesX, int NT) {
    using B = GdfnBwd<K>;
    FUSED_SHARED(float, xs, [2][3][B::XH][GS_ROW]);  // [stage][x plane c, x plane Hd + c, gy]
    FUSED_SHARED(float, gs, [2][B::EH][GS_ROW]);
    FUSED_SHARED(float, red, [G_THREADS / 32][B::NRED]);

    const int c = blockIdx.y, n = blockIdx.z, y0 = blockIdx.x * GT_H;
    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * G_BX + tx;
    const size_t planeSize = (size_t) H * W;
    const float* p1 = x + ((size_t) n * 2 * Hd + c) * planeSize;
    const float* const planes[3] = {p1, p1 + (size_t) Hd * planeSize, gy + ((size_t) n * Hd + c) * planeSize};
    float* gx1 = gx != nullptr ? gx + ((size_t) n * 2 * Hd + c) * planeSize : nullptr;
    float (*const gsp[2])[GS_ROW] = {gs[0], gs[1]};
    const float (*const gsc[2])[GS_ROW] = {gs[0], gs[1]};

    {
        float (*const dst[3])[GS_ROW] = {xs[0][0], xs[0][1], xs[0][2]};
        gdfn_bwd_issue<K>(planes, dst, y0, 0, H, W, tid);
    }
    fused_cp_async_commit();
    float w1[B::KK], w2[B::KK], b1, b2;
    gdfn_taps<K>(w, bias, c, Hd, w1, w2, b1, b2);
    float acc[B::NRED];
#pragma unroll
    for (int t = 0; t < B::NRED; t++) acc[t] = 0.0f;

    for (int t = 0; t < tilesX; t++) {
        // Tile t + 1 into the other buffer: its last readers (tile t - 1's gz step) finished before
        // the barrier that ended that step.
        if (t + 1 < tilesX) {
            float (*const dst[3])[GS_ROW] = {xs[(t + 1) & 1][0], xs[(t + 1) & 1][1], xs[(t + 1) & 1][2]};
            gdfn_bwd_issue<K>(planes, dst, y0, (t + 1) * GT_W, H, W, tid);
        }
        fused_cp_async_commit();
        fused_cp_async_wait<1>();  // this thread's copies of tile t have landed
        __syncthreads();           // everyone's have, and tile t - 1's gx step is done with gs
        const float (*const xsc[3])[GS_ROW] = {xs[t & 1][0], xs[t & 1][1], xs[t & 1][2]};
        gdfn_bwd_gz<K, true>(xsc, gsp, w1, w2, b1, b2, y0, t * GT_W, H, W, tx, ty, tid, acc);
        __syncthreads();
        if (gx1 != nullptr) gdfn_bwd_gx<K>(gsc, w1, w2, gx1, gx1 + (size_t) Hd * planeSize, y0, t * GT_W, H, W, tx, ty);
    }
    if (part == nullptr) return;  // uniform: the whole block leaves together
    gdfn_bwd_partials<K>(acc, red, part, c, Hd, n * gridDim.x + blockIdx.x, NT, tid);
}

// 3 blocks of 256 per SM: the loop over tiles keeps the weight and bias sums, the taps and the
// planes' addresses live across tiles, which takes 80 registers without spilling (at 64 for 4
// blocks per SM, ptxas spilled 128 bytes per thread). Shared: 2 x 17 KB of stage buffers + 11 KB of gz.
extern "C" __global__ void __launch_bounds__(G_THREADS, 3)
fused_gdfn_bwd_strip_k3(const float* x, const float* w, const float* bias, const float* gy, float* gx, float* part, int Hd,
                        int H, int W, int tilesX, int NT) {
    gdfn_backward_strip<3>(x, w, bias, gy, gx, part, Hd, H, W, tilesX, NT);
}

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
        s = warp_sum(s);
        if (lane == 0) {
            if (j < KK) {
                if (gw != nullptr) gw[(size_t) ch * KK + j] = s;
            } else if (gb != nullptr) {
                gb[ch] = s;
            }
        }
    }
}
