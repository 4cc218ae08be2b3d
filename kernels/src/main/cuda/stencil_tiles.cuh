// Tiled stencils over image planes, shared by the fused GDFN kernels (fused_gdfn.cu) and the
// depthwise convolutions (conv.cu): a block of (G_BX, G_BY) threads computes a GT_H x GT_W output
// tile from planes staged with a halo in shared memory, each thread 4 vertically consecutive
// outputs of one column. Include after fused_common.cuh.
#pragma once

#define GT_W 32
#define GT_H 32
#define G_BX 32
#define G_BY 8
#define G_THREADS (G_BX * G_BY)
static_assert(GT_H == 4 * G_BY && GT_W == G_BX, "tile_stencil4: each thread one column, 4 rows");

// Zero-padded x[row][col] of one plane, or 0 outside the image.
__device__ __forceinline__ float tile_at(const float* plane, int row, int col, int H, int W) {
    return (row >= 0 && row < H && col >= 0 && col < W) ? plane[(size_t) row * W + col] : 0.0f;
}

// Shared tiles hold a plane's tile with its halo at column offset GS_COL0 - P, so the tile's own
// columns start 16-byte aligned at GS_COL0 (float4 stores) and rows are GS_ROW floats apart.
#define GS_COL0 4
#define GS_ROW (GS_COL0 + GT_W + 4)  // room for a halo of up to 4 columns on either side

// a[i] for a run-time i without indexing the array at run time (which would put it in local memory).
template <typename T, int N>
__device__ __forceinline__ T tile_pick(const T (&a)[N], int i) {
    T r = a[0];
#pragma unroll
    for (int k = 1; k < N; k++)
        if (i == k) r = a[k];
    return r;
}

// Stages rows [y0 - HALO, y0 + GT_H + HALO) x columns [x0 - HALO, x0 + GT_W + HALO) of NPL planes
// (planes[k], zero outside the image) into dst[k] at (row - (y0 - HALO), GS_COL0 + col - x0).
// VEC (W % 4 == 0, planes 16-byte aligned): the tile's columns as float4 and the halo columns as
// scalars, with every load of the thread in flight before its first shared store: one memory round
// trip per tile. Else element by element.
template <int HALO, int NPL, bool VEC>
__device__ __forceinline__ void tile_stage(const float* const (&planes)[NPL], float (*const (&dst)[NPL])[GS_ROW], int y0,
                                           int x0, int H, int W, int tid) {
    constexpr int ROWS = GT_H + 2 * HALO;
    if constexpr (VEC) {
        constexpr int Q = GT_W / 4;                                  // float4 per tile row
        constexpr int ITEMS4 = NPL * ROWS * Q, L4 = (ITEMS4 + G_THREADS - 1) / G_THREADS;
        constexpr int ITEMS1 = NPL * ROWS * 2 * HALO, L1 = (ITEMS1 + G_THREADS - 1) / G_THREADS;
        float4 v4[L4];
        float v1[L1 > 0 ? L1 : 1];
#pragma unroll
        for (int k = 0; k < L4; k++) {
            const int e = tid + k * G_THREADS, pl = e / (ROWS * Q), rem = e % (ROWS * Q), r = rem / Q, q = rem % Q;
            const int gy = y0 - HALO + r, gx = x0 + 4 * q;  // W % 4 == 0: a float4 starting inside is inside
            v4[k] = e < ITEMS4 && gy >= 0 && gy < H && gx < W ? ld4(tile_pick(planes, pl) + (size_t) gy * W + gx)
                                                              : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        }
        if constexpr (HALO > 0) {
#pragma unroll
            for (int k = 0; k < L1; k++) {
                const int e = tid + k * G_THREADS, pl = e / (ROWS * 2 * HALO), rem = e % (ROWS * 2 * HALO);
                const int r = rem / (2 * HALO), j = rem % (2 * HALO);
                const int gy = y0 - HALO + r, gx = j < HALO ? x0 - HALO + j : x0 + GT_W + j - HALO;
                v1[k] = e < ITEMS1 ? tile_at(tile_pick(planes, pl), gy, gx, H, W) : 0.0f;
            }
        }
#pragma unroll
        for (int k = 0; k < L4; k++) {
            const int e = tid + k * G_THREADS, pl = e / (ROWS * Q), rem = e % (ROWS * Q), r = rem / Q, q = rem % Q;
            if (e < ITEMS4) st4(&tile_pick(dst, pl)[r][GS_COL0 + 4 * q], v4[k]);
        }
        if constexpr (HALO > 0) {
#pragma unroll
            for (int k = 0; k < L1; k++) {
                const int e = tid + k * G_THREADS, pl = e / (ROWS * 2 * HALO), rem = e % (ROWS * 2 * HALO);
                const int r = rem / (2 * HALO), j = rem % (2 * HALO);
                if (e < ITEMS1) tile_pick(dst, pl)[r][j < HALO ? GS_COL0 - HALO + j : GS_COL0 + GT_W + j - HALO] = v1[k];
            }
        }
    } else {
        constexpr int COLS = GT_W + 2 * HALO;
#pragma unroll 4
        for (int i = tid; i < ROWS * COLS; i += G_THREADS) {
            const int r = i / COLS, col = i % COLS, gy = y0 - HALO + r, gx = x0 - HALO + col;
#pragma unroll
            for (int pl = 0; pl < NPL; pl++) dst[pl][r][GS_COL0 - HALO + col] = tile_at(planes[pl], gy, gx, H, W);
        }
    }
}

// The K x K stencil of one plane at 4 vertically consecutive outputs (tile rows r0 .. r0+3, tile
// column tx): z[j] += sum w[ky][kx] * s[r0 + j + ky + ROFF][GS_COL0 - P + COFF + tx + kx]. Window
// rows are read once each and feed every output they touch: (4 + K - 1) K shared reads for 4 K^2
// multiply-adds (a thread per output would read K^2 per output).
template <int K>
__device__ __forceinline__ void tile_stencil4(const float (*s)[GS_ROW], int r0, int c0, const float (&w)[K * K], float (&z)[4]) {
#pragma unroll
    for (int r = 0; r < 4 + K - 1; r++) {
        float v[K];
#pragma unroll
        for (int kx = 0; kx < K; kx++) v[kx] = s[r0 + r][c0 + kx];
#pragma unroll
        for (int j = 0; j < 4; j++) {
            const int ky = r - j;
            if (ky >= 0 && ky < K) {
#pragma unroll
                for (int kx = 0; kx < K; kx++) z[j] += w[ky * K + kx] * v[kx];
            }
        }
    }
}

