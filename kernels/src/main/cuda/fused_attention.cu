// MDTA's transposed (channel) attention, forward and backward. Glue: diffir.kernels.fused.ChannelAttentionKernels.
//
// Per image n and head h (bh = n*heads + h), with c = C/heads channels flattened over HW pixels:
//   Q, K, V = rows [h*c, h*c+c) of the q, k, v channel blocks of qkv (N, 3C, H, W), each c x HW
//   qn_i = max(|Q_i|, 1e-12), kn_j = max(|K_j|, 1e-12)
//   S = t * (Q K^T) / (qn kn^T), A = softmax over j, out = A V.
//
// Every heavy step is one of two small-matrix products, both register-tiled like a SGEMM:
//   fused_attn_gram : P = X Y^T (c x c, reduced over HW). The HW axis is split into chunks (of
//                     AT_BK-pixel stages) across
//                     blocks; each block writes its partial to scratch and fused_attn_reduce sums
//                     them in a fixed order (deterministic, no atomics).
//   fused_attn_apply: O = M Y + diag(d) X (c x HW, reduced over c), pixel tiles across blocks.
// The c x c work in between (norms, softmax, the softmax backward) runs in one block per bh.
//
// Tiles: a block covers T = 4R rows (R = blockDim of the row axis, T <= AT_TMAX); each thread owns
// a 4x4 micro-tile with rows ty + R*a (a < 4): strided rows keep a warp's shared reads on few
// addresses (broadcast) and its 16-byte reads conflict-free (see AT_SROW). The glue picks R so that
// ceil(c / T) tiles cover c with the least padding (c = 48: R = 12, one 48-row tile, no waste).
//
// Kernels come in two builds: R fixed at compile time (the _r4, _r8, _r12, _r16 kernels, float4
// only: every DIRformer level has c = 48 per head, the small configs 16) and R from blockDim (any c).
// With R fixed, every staging loop has a known trip count, and each thread issues all its loads of
// a stage into registers before its first shared-memory store: one memory round trip per stage. The
// first H100 check measured the runtime-R loops at 21% of the byte floor: each trip of a loop whose
// count the compiler does not know waited for its own load before the next was issued.
#include "fused_common.cuh"

// Pixels per stage of the Gram: 64 puts 2 x 12 KB of loads in flight per block at c = 48 (with 32,
// the ~5 resident blocks per SM kept too few bytes in flight to cover DRAM latency).
#define AT_BK 64
#define AT_TMAX 64  // most rows of one tile (R <= 16)
// Row stride of [row][AT_BK] tiles: a multiple of 4 floats keeps rows 16-byte aligned for float4,
// and 68/4 = 17 is odd, so consecutive rows start in different 16-byte bank groups: the R distinct
// rows a warp reads at one k fill distinct groups (the minimum number of shared wavefronts).
#define AT_SROW (AT_BK + 4)
#define AT_PT 64                // pixels per apply tile (16 threads x 4)
#define AT_PROW (AT_PT + 4)     // row stride of the apply kernel's [channel][pixel] tile

#define AT_SMALL_THREADS 256    // the per-bh kernels: 8 warps

__device__ __forceinline__ void at_unpack(float4 v, float (&o)[4]) {
    o[0] = v.x; o[1] = v.y; o[2] = v.z; o[3] = v.w;
}

// Stages 4 pixels [p, p+4) of one row (pixels past pEnd, or rows that do not exist, read as 0).
template <bool VEC>
__device__ __forceinline__ float4 at_load_row4(const float* row, bool rowValid, int p, int pEnd) {
    float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (!rowValid) return v;
    if (VEC) {
        if (p < pEnd) v = ld4(row + p);  // VEC: pEnd and p are multiples of 4
    } else {
        if (p < pEnd) v.x = row[p];
        if (p + 1 < pEnd) v.y = row[p + 1];
        if (p + 2 < pEnd) v.z = row[p + 2];
        if (p + 3 < pEnd) v.w = row[p + 3];
    }
    return v;
}

// acc[a][b] += sum over the BK pixels of a staged block of X[i0 + di*a][k] * Y[j0 + dj*b][k]: the Gram's
// register tile (NA x NB entries of X Y^T). UNROLL k steps of 4 may interleave: 2 lets a step's
// shared loads overlap the previous step's FMAs; full unrolling took 150 registers in attn_gram.
template <int BK, int UNROLL, int NA, int NB, typename XTile, typename YTile>
__device__ __forceinline__ void at_gram_product(const XTile& Xs, const YTile& Ys, int i0, int di, int j0, int dj,
                                                float (&acc)[NA][NB]) {
#pragma unroll UNROLL
    for (int kk = 0; kk < BK; kk += 4) {
        float xa[NA][4], yb[NB][4];
#pragma unroll
        for (int a = 0; a < NA; a++) at_unpack(ld4(&Xs[i0 + di * a][kk]), xa[a]);
#pragma unroll
        for (int b = 0; b < NB; b++) at_unpack(ld4(&Ys[j0 + dj * b][kk]), yb[b]);
#pragma unroll
        for (int a = 0; a < NA; a++)
#pragma unroll
            for (int b = 0; b < NB; b++)
#pragma unroll
                for (int k = 0; k < 4; k++) acc[a][b] += xa[a][k] * yb[b][k];
    }
}

// --------------------------------------------------------------------------------------------- Gram
//
// Block (R, R), grid (tiles*tiles, nChunks, pairs*NH). Pair 0 uses (X0, Y0), pair 1 (X1, Y1) (the
// backward computes Q K^T and gy V^T in one launch). Operand rows for bh start at
// base + n*nStride + h*c*HW, row stride HW. Writes part[z][chunk][E], E = c*c (+ 2c with norms):
// [i*c + j] = sum over the chunk of X_i . Y_j, then (withNorms) the squared row norms of X, of Y.
template <int RC, bool VEC>
__device__ __forceinline__ void attn_gram(const float* __restrict__ X0, const float* __restrict__ Y0,
                                          long long xNS0, long long yNS0, const float* __restrict__ X1,
                                          const float* __restrict__ Y1, long long xNS1, long long yNS1,
                                          float* __restrict__ part, int c, int heads, int NH, int HW, int tiles,
                                          int chunkLen, int withNorms) {
    FUSED_SHARED(float, Xs, [AT_TMAX][AT_SROW]);
    FUSED_SHARED(float, Ys, [AT_TMAX][AT_SROW]);
    FUSED_SHARED(float, nrm, [2 * AT_TMAX]);

    const int R = RC > 0 ? RC : blockDim.x, T = 4 * R, nthr = R * R;
    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * R + tx;
    const int ti = blockIdx.x / tiles, tj = blockIdx.x % tiles;
    const int chunk = blockIdx.y, nChunks = gridDim.y;
    const int z = blockIdx.z, pair = z / NH, bh = z % NH, n = bh / heads, h = bh % heads;
    const float* X = pair == 0 ? X0 : X1;
    const float* Y = pair == 0 ? Y0 : Y1;
    const long long xNS = pair == 0 ? xNS0 : xNS1, yNS = pair == 0 ? yNS0 : yNS1;
    const float* Xb = X + n * xNS + (size_t) h * c * HW + (size_t) ti * T * HW;  // row ti*T
    const float* Yb = Y + n * yNS + (size_t) h * c * HW + (size_t) tj * T * HW;
    const int rowsX = min(T, c - ti * T), rowsY = min(T, c - tj * T);  // real rows in this tile
    const int pStart = chunk * chunkLen, pEnd = min(pStart + chunkLen, HW);
    const bool doXn = withNorms && tj == 0, doYn = withNorms && ti == 0;

    // Norm accumulators: entry e (< T: X row e, else Y row e-T) is owned by thread e % nthr for
    // the whole kernel, so no barrier guards them.
    for (int e = tid; e < 2 * T; e += nthr) nrm[e] = 0.0f;

    float acc[4][4];
#pragma unroll
    for (int a = 0; a < 4; a++)
#pragma unroll
        for (int b = 0; b < 4; b++) acc[a][b] = 0.0f;

    for (int p0 = pStart; p0 < pEnd; p0 += AT_BK) {
        // Stage T rows x AT_BK pixels of X and of Y: AT_BK/4 float4 per row; consecutive threads
        // take consecutive float4 of a row (coalesced 256-byte row segments).
        if constexpr (RC > 0) {
            constexpr int ITEMS = 4 * RC * (AT_BK / 4), LPT = (ITEMS + RC * RC - 1) / (RC * RC);
            float4 vx[LPT], vy[LPT];
#pragma unroll
            for (int k = 0; k < LPT; k++) {  // every load in flight before the first store
                const int g = tid + k * RC * RC, r = g / (AT_BK / 4), p = p0 + 4 * (g % (AT_BK / 4));
                vx[k] = at_load_row4<VEC>(Xb + (size_t) r * HW, g < ITEMS && r < rowsX, p, pEnd);
                vy[k] = at_load_row4<VEC>(Yb + (size_t) r * HW, g < ITEMS && r < rowsY, p, pEnd);
            }
#pragma unroll
            for (int k = 0; k < LPT; k++) {
                const int g = tid + k * RC * RC, r = g / (AT_BK / 4), q = g % (AT_BK / 4);
                if (g < ITEMS) {
                    st4(&Xs[r][4 * q], vx[k]);
                    st4(&Ys[r][4 * q], vy[k]);
                }
            }
        } else {
            for (int g = tid; g < T * (AT_BK / 4); g += nthr) {
                const int r = g / (AT_BK / 4), q = g % (AT_BK / 4), p = p0 + 4 * q;
                st4(&Xs[r][4 * q], at_load_row4<VEC>(Xb + (size_t) r * HW, r < rowsX, p, pEnd));
                st4(&Ys[r][4 * q], at_load_row4<VEC>(Yb + (size_t) r * HW, r < rowsY, p, pEnd));
            }
        }
        __syncthreads();
        for (int e = tid; e < 2 * T; e += nthr) {
            if (e < T ? doXn : doYn) {
                // float4 reads: 8 consecutive rows fall in 8 distinct bank groups (AT_SROW).
                const float* row = e < T ? Xs[e] : Ys[e - T];
                float s = nrm[e];
#pragma unroll
                for (int k = 0; k < AT_BK; k += 4) {
                    float v[4];
                    at_unpack(ld4(row + k), v);
                    s += v[0] * v[0] + v[1] * v[1] + v[2] * v[2] + v[3] * v[3];
                }
                nrm[e] = s;
            }
        }
        at_gram_product<AT_BK, 2>(Xs, Ys, ty, R, tx, R, acc);  // unroll 2 keeps ~80 registers, no spills
        __syncthreads();  // the next stage overwrites Xs, Ys
    }

    const int E = c * c + (withNorms ? 2 * c : 0);
    float* out = part + ((size_t) z * nChunks + chunk) * E;
#pragma unroll
    for (int a = 0; a < 4; a++)
#pragma unroll
        for (int b = 0; b < 4; b++) {
            const int i = ti * T + ty + R * a, j = tj * T + tx + R * b;
            if (i < c && j < c) out[i * c + j] = acc[a][b];
        }
    for (int e = tid; e < 2 * T; e += nthr) {
        if (e < T) {
            if (doXn && e < rowsX) out[c * c + ti * T + e] = nrm[e];
        } else {
            if (doYn && e - T < rowsY) out[c * c + c + tj * T + e - T] = nrm[e];
        }
    }
}

#define ATTN_GRAM(NAME, RC, VEC)                                                                           \
    extern "C" __global__ void __launch_bounds__(256)                                                      \
    NAME(const float* X0, const float* Y0, long long xNS0, long long yNS0, const float* X1, const float* Y1, \
         long long xNS1, long long yNS1, float* part, int c, int heads, int NH, int HW, int tiles, int chunkLen, \
         int withNorms) {                                                                                  \
        attn_gram<RC, VEC>(X0, Y0, xNS0, yNS0, X1, Y1, xNS1, yNS1, part, c, heads, NH, HW, tiles, chunkLen, \
                           withNorms);                                                                    \
    }
ATTN_GRAM(fused_attn_gram_v4, 0, true)
ATTN_GRAM(fused_attn_gram_v1, 0, false)

// R fixed: a register cap that leaves room for the staged loads of one stage without spilling
// (R = 12: 3 blocks of 144 threads per SM; R = 16: 2 of 256; R = 8: 6 of 64).
#define ATTN_GRAM_FIXED(RC, MIN_BLOCKS)                                                                  \
    extern "C" __global__ void __launch_bounds__(RC * RC, MIN_BLOCKS)                                    \
    fused_attn_gram_r##RC(const float* X0, const float* Y0, long long xNS0, long long yNS0, const float* X1, \
                          const float* Y1, long long xNS1, long long yNS1, float* part, int c, int heads, int NH, \
                          int HW, int tiles, int chunkLen, int withNorms) {                               \
        attn_gram<RC, true>(X0, Y0, xNS0, yNS0, X1, Y1, xNS1, yNS1, part, c, heads, NH, HW, tiles, chunkLen, \
                            withNorms);                                                                  \
    }
ATTN_GRAM_FIXED(8, 6)
ATTN_GRAM_FIXED(12, 3)
ATTN_GRAM_FIXED(16, 2)

// part[row][chunk][E] -> out[row][E], summing chunks in a fixed order. Block (32, 8): lanes take
// consecutive e (coalesced), the 8 rows of threads split the chunks. Grid (ceil(E/32), rows).
extern "C" __global__ void __launch_bounds__(256)
fused_attn_reduce(const float* __restrict__ part, float* __restrict__ out, int nChunks, int E) {
    FUSED_SHARED(float, red, [8][33]);
    const int e = blockIdx.x * 32 + threadIdx.x, row = blockIdx.y;
    float s = 0.0f;
    if (e < E)
        for (int k = threadIdx.y; k < nChunks; k += 8) s += part[((size_t) row * nChunks + k) * E + e];
    red[threadIdx.y][threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.y == 0 && e < E) {
        float total = 0.0f;
        for (int k = 0; k < 8; k++) total += red[k][threadIdx.x];
        out[(size_t) row * E + e] = total;
    }
}

// ---------------------------------------------------------------------------------- forward softmax
//
// One block per bh. red[bh] = [Q K^T (c*c), |Q_i|^2 (c), |K_j|^2 (c)]. Writes the clamped norms
// (norms[n][h*c+i] for q, norms[n][C+h*c+j] for k), Q K^T into gram[bh] when gram != null (saved
// for the backward, which then needs no second pass over q and k), then A = softmax(S) into
// attn[bh] (S staged in attn itself; __syncthreads makes a block's global writes visible to the block).
extern "C" __global__ void __launch_bounds__(AT_SMALL_THREADS)
fused_attn_softmax(const float* __restrict__ red, const float* __restrict__ temperature, float* __restrict__ attn,
                   float* __restrict__ norms, float* __restrict__ gram, int c, int heads) {
    const int bh = blockIdx.x, n = bh / heads, h = bh % heads, C = c * heads;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int E = c * c + 2 * c;
    const float* r = red + (size_t) bh * E;
    const float t = temperature[h];
    float* A = attn + (size_t) bh * c * c;

    for (int i = threadIdx.x; i < c; i += AT_SMALL_THREADS) {
        norms[(size_t) n * 2 * C + h * c + i] = fmaxf(sqrtf(r[c * c + i]), 1e-12f);
        norms[(size_t) n * 2 * C + C + h * c + i] = fmaxf(sqrtf(r[c * c + c + i]), 1e-12f);
    }
    for (int e = threadIdx.x; e < c * c; e += AT_SMALL_THREADS) {
        const int i = e / c, j = e % c;
        const float qn = fmaxf(sqrtf(r[c * c + i]), 1e-12f), kn = fmaxf(sqrtf(r[c * c + c + j]), 1e-12f);
        A[e] = r[e] / (qn * kn) * t;
        if (gram != nullptr) gram[(size_t) bh * c * c + e] = r[e];
    }
    __syncthreads();
    for (int i = warp; i < c; i += AT_SMALL_THREADS / 32) {  // one warp per row (uniform per warp)
        float* row = A + (size_t) i * c;
        float m = -INFINITY;
        for (int j = lane; j < c; j += 32) m = fmaxf(m, row[j]);
        m = warp_max(m);
        float s = 0.0f;
        for (int j = lane; j < c; j += 32) s += expf(row[j] - m);
        s = warp_sum(s);
        const float inv = 1.0f / s;
        for (int j = lane; j < c; j += 32) row[j] = expf(row[j] - m) * inv;
    }
}

// -------------------------------------------------------------------------------------------- apply
//
// O[i][p] = sum_j M[i][j] * Y[j][p] (+ d[i] * X[i][p] when d != null), for bh = blockIdx.z, rows
// [blockIdx.y*T, +T), pixels [blockIdx.x*AT_PT, +AT_PT). M is [NH][c][c], d is [NH][c]; Y, X, O rows
// start at base + n*nStride + h*c*HW with row stride HW. Block (16, R): thread (tx, ty) owns pixels
// 4tx..4tx+3 (one float4) of rows ty + R*a. PAIR computes a second, independent product (M1, Y1,
// d1, X1 -> O1) in the same pass: the backward's gq = Bq K + dq Q and gk = Bq^T Q + dk K read the
// same Q and K tiles, so each is read from memory once.
// acc[a][0..3] += sum over channels jj < jn of Ms[i0 + di*a][jj] * Ys[jj][4px .. 4px+3]: one staged block
// of channels of the apply's register tile (NA rows i0 + di*a, pixels 4px..4px+3).
template <int NA, typename MTile, typename YTile>
__device__ __forceinline__ void at_tile_product(const MTile& Ms, const YTile& Ys, int i0, int di, int px, int jn,
                                                float (&acc)[NA][4]) {
#pragma unroll 4
    for (int jj = 0; jj < jn; jj += 4) {
        float m[NA][4];
#pragma unroll
        for (int a = 0; a < NA; a++) at_unpack(ld4(&Ms[i0 + di * a][jj]), m[a]);
#pragma unroll
        for (int k = 0; k < 4; k++) {
            float y[4];
            at_unpack(ld4(&Ys[jj + k][4 * px]), y);
#pragma unroll
            for (int a = 0; a < NA; a++)
#pragma unroll
                for (int q = 0; q < 4; q++) acc[a][q] += m[a][k] * y[q];
        }
    }
}

// The apply's epilogue: O[i][p .. p+3] = acc[s][a] (+ d[i] * X[i][p .. p+3] when d != null) for rows
// i = row0 + R*a below c and p below HW, for each product s (operands d0, X0, O0 and d1, X1, O1). VEC
// moves float4s (HW a multiple of 4); else the pixels below HW one by one.
template <bool VEC, int NP>
__device__ __forceinline__ void at_store_rows(const float (&acc)[NP][4][4], int row0, int R, int p, int c, int HW,
                                              int bh, int n, size_t headOff, const float* __restrict__ d0,
                                              const float* __restrict__ X0, long long xNS0, float* __restrict__ O0,
                                              long long oNS0, const float* __restrict__ d1, const float* __restrict__ X1,
                                              long long xNS1, float* __restrict__ O1, long long oNS1) {
#pragma unroll
    for (int s = 0; s < NP; s++) {
        const float* d = s == 0 ? d0 : d1;
        const float* X = s == 0 ? X0 : X1;
        float* O = s == 0 ? O0 : O1;
        const long long xNS = s == 0 ? xNS0 : xNS1, oNS = s == 0 ? oNS0 : oNS1;
#pragma unroll
        for (int a = 0; a < 4; a++) {
            const int i = row0 + R * a;
            if (i >= c || p >= HW) continue;
            float v[4] = {acc[s][a][0], acc[s][a][1], acc[s][a][2], acc[s][a][3]};
            if (d != nullptr) {
                const float di = d[(size_t) bh * c + i];
                float xv[4];
                at_unpack(at_load_row4<VEC>(X + n * xNS + headOff + (size_t) i * HW, true, p, HW), xv);
#pragma unroll
                for (int q = 0; q < 4; q++) v[q] += di * xv[q];
            }
            float* o = O + n * oNS + headOff + (size_t) i * HW + p;
            if (VEC) {
                st4(o, make_float4(v[0], v[1], v[2], v[3]));
            } else {
#pragma unroll
                for (int q = 0; q < 4; q++)
                    if (p + q < HW) o[q] = v[q];
            }
        }
    }
}

template <bool VEC, bool PAIR>
__device__ __forceinline__ void attn_apply(const float* __restrict__ M0, const float* __restrict__ Y0, long long yNS0,
                                           const float* __restrict__ d0, const float* __restrict__ X0, long long xNS0,
                                           float* __restrict__ O0, long long oNS0, const float* __restrict__ M1,
                                           const float* __restrict__ Y1, long long yNS1, const float* __restrict__ d1,
                                           const float* __restrict__ X1, long long xNS1, float* __restrict__ O1,
                                           long long oNS1, int c, int heads, int HW) {
    constexpr int NP = PAIR ? 2 : 1;
    // Channels j per stage: 64 stages all of c <= 64 at once (12 KB of V in flight per block at
    // c = 48, one barrier pair); the pair kernel stages two products, so 32 keeps it under 48 KB of
    // shared memory. Rows per M tile are JK + 4 floats: (JK + 4) / 4 is odd (bank groups, as AT_SROW).
    constexpr int JK = PAIR ? 32 : 64;
    constexpr int MROW = JK + 4;
    FUSED_SHARED(float, Ms, [NP][AT_TMAX][MROW]);
    FUSED_SHARED(float, Ys, [NP][JK][AT_PROW]);

    const int R = blockDim.y, T = 4 * R, nthr = 16 * R;
    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * 16 + tx;
    const int bh = blockIdx.z, n = bh / heads, h = bh % heads;
    const int i0 = blockIdx.y * T, p0 = blockIdx.x * AT_PT;
    const size_t headOff = (size_t) h * c * HW;
    const float* Mb[NP];
    const float* Yb[NP];
    Mb[0] = M0 + (size_t) bh * c * c;
    Yb[0] = Y0 + n * yNS0 + headOff;
    if (PAIR) {
        Mb[NP - 1] = M1 + (size_t) bh * c * c;
        Yb[NP - 1] = Y1 + n * yNS1 + headOff;
    }

    float acc[NP][4][4];
#pragma unroll
    for (int s = 0; s < NP; s++)
#pragma unroll
        for (int a = 0; a < 4; a++)
#pragma unroll
            for (int k = 0; k < 4; k++) acc[s][a][k] = 0.0f;

    for (int j0 = 0; j0 < c; j0 += JK) {
        const int jn = min(JK, (c - j0 + 3) & ~3);  // channels of this stage, rounded up to 4 (zero-filled)
        // M tile: T rows x JK columns (c x c matrices are tiny and stay in L2: plain loads).
        for (int e = tid; e < T * JK; e += nthr) {
            const int r = e / JK, q = e % JK, i = i0 + r, j = j0 + q;
            const bool ok = i < c && j < c;
#pragma unroll
            for (int s = 0; s < NP; s++) Ms[s][r][q] = ok ? Mb[s][(size_t) i * c + j] : 0.0f;
        }
        // Y tile: jn rows (channels j) x AT_PT pixels, float4 per thread, coalesced along pixels.
        for (int e = tid; e < jn * (AT_PT / 4); e += nthr) {
            const int r = e / (AT_PT / 4), q = e % (AT_PT / 4), j = j0 + r, p = p0 + 4 * q;
#pragma unroll
            for (int s = 0; s < NP; s++)
                st4(&Ys[s][r][4 * q], at_load_row4<VEC>(Yb[s] + (size_t) min(j, c - 1) * HW, j < c, p, HW));
        }
        __syncthreads();
#pragma unroll
        for (int s = 0; s < NP; s++) at_tile_product(Ms[s], Ys[s], ty, R, tx, jn, acc[s]);  // only real channels
        __syncthreads();  // the next stage overwrites Ms, Ys
    }
    const int p = p0 + 4 * tx, row0 = i0 + ty;
    at_store_rows<VEC>(acc, row0, R, p, c, HW, bh, n, headOff, d0, X0, xNS0, O0, oNS0, d1, X1, xNS1, O1, oNS1);
}

#define ATTN_APPLY(NAME, VEC, PAIR, MIN_BLOCKS)                                                            \
    extern "C" __global__ void __launch_bounds__(256, MIN_BLOCKS)                                          \
    NAME(const float* M0, const float* Y0, long long yNS0, const float* d0, const float* X0, long long xNS0,  \
         float* O0, long long oNS0, const float* M1, const float* Y1, long long yNS1, const float* d1,      \
         const float* X1, long long xNS1, float* O1, long long oNS1, int c, int heads, int HW) {           \
        attn_apply<VEC, PAIR>(M0, Y0, yNS0, d0, X0, xNS0, O0, oNS0, M1, Y1, yNS1, d1, X1, xNS1, O1, oNS1, c, \
                              heads, HW);                                                                  \
    }
ATTN_APPLY(fused_attn_apply_v4, true, false, 3)
ATTN_APPLY(fused_attn_apply_v1, false, false, 3)
ATTN_APPLY(fused_attn_apply_pair_v4, true, true, 3)
ATTN_APPLY(fused_attn_apply_pair_v1, false, true, 3)

// The apply with R = RC fixed, for c <= T = 4 RC with c % 4 == 0, HW % 4 == 0 and every operand
// 16-byte aligned (the glue checks): one row tile (gridDim.y == 1) and one channel stage, shared
// tiles sized for exactly T channels, and every thread's loads of M (L2) and Y (DRAM) in flight
// before its first shared store. Same arithmetic, summation order and epilogue as attn_apply.
template <int RC, bool PAIR>
__device__ __forceinline__ void attn_apply_fixed(const float* __restrict__ M0, const float* __restrict__ Y0,
                                                 long long yNS0, const float* __restrict__ d0,
                                                 const float* __restrict__ X0, long long xNS0, float* __restrict__ O0,
                                                 long long oNS0, const float* __restrict__ M1,
                                                 const float* __restrict__ Y1, long long yNS1,
                                                 const float* __restrict__ d1, const float* __restrict__ X1,
                                                 long long xNS1, float* __restrict__ O1, long long oNS1, int c,
                                                 int heads, int HW) {
    constexpr int NP = PAIR ? 2 : 1, T = 4 * RC, NTHR = 16 * RC;
    constexpr int MROW = T + 4;  // MROW / 4 = RC + 1 is odd for even RC: rows in distinct bank groups
    constexpr int MITEMS = T * (T / 4), MLPT = (MITEMS + NTHR - 1) / NTHR;
    constexpr int YITEMS = T * (AT_PT / 4), YLPT = (YITEMS + NTHR - 1) / NTHR;
    FUSED_SHARED(float, Ms, [NP][T][MROW]);
    FUSED_SHARED(float, Ys, [NP][T][AT_PROW]);

    const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * 16 + tx;
    const int bh = blockIdx.z, n = bh / heads, h = bh % heads;
    const int p0 = blockIdx.x * AT_PT;
    const size_t headOff = (size_t) h * c * HW;
    const float* Mb[NP];
    const float* Yb[NP];
    Mb[0] = M0 + (size_t) bh * c * c;
    Yb[0] = Y0 + n * yNS0 + headOff;
    if (PAIR) {
        Mb[NP - 1] = M1 + (size_t) bh * c * c;
        Yb[NP - 1] = Y1 + n * yNS1 + headOff;
    }

    // Stage M (c x c, as float4 along j) and Y (c rows x AT_PT pixels); rows and columns past c read 0.
    const float4 zero = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    float4 mv[NP][MLPT], yv[NP][YLPT];
#pragma unroll
    for (int k = 0; k < MLPT; k++) {
        const int e = tid + k * NTHR, r = e / (T / 4), q = e % (T / 4);
        const bool ok = e < MITEMS && r < c && 4 * q < c;
#pragma unroll
        for (int s = 0; s < NP; s++) mv[s][k] = ok ? ld4(Mb[s] + (size_t) r * c + 4 * q) : zero;
    }
#pragma unroll
    for (int k = 0; k < YLPT; k++) {
        const int e = tid + k * NTHR, r = e / (AT_PT / 4), p = p0 + 4 * (e % (AT_PT / 4));
        const bool ok = e < YITEMS && r < c && p < HW;
#pragma unroll
        for (int s = 0; s < NP; s++) yv[s][k] = ok ? ld4(Yb[s] + (size_t) r * HW + p) : zero;
    }
#pragma unroll
    for (int k = 0; k < MLPT; k++) {
        const int e = tid + k * NTHR;
        if (e < MITEMS) {
#pragma unroll
            for (int s = 0; s < NP; s++) st4(&Ms[s][e / (T / 4)][4 * (e % (T / 4))], mv[s][k]);
        }
    }
#pragma unroll
    for (int k = 0; k < YLPT; k++) {
        const int e = tid + k * NTHR;
        if (e < YITEMS) {
#pragma unroll
            for (int s = 0; s < NP; s++) st4(&Ys[s][e / (AT_PT / 4)][4 * (e % (AT_PT / 4))], yv[s][k]);
        }
    }
    __syncthreads();

    float acc[NP][4][4];
#pragma unroll
    for (int s = 0; s < NP; s++)
#pragma unroll
        for (int a = 0; a < 4; a++)
#pragma unroll
            for (int k = 0; k < 4; k++) acc[s][a][k] = 0.0f;
#pragma unroll
    for (int s = 0; s < NP; s++) at_tile_product(Ms[s], Ys[s], ty, RC, tx, c, acc[s]);
    at_store_rows<true>(acc, ty, RC, p0 + 4 * tx, c, HW, bh, n, headOff, d0, X0, xNS0, O0, oNS0, d1, X1, xNS1, O1, oNS1);
}

#define ATTN_APPLY_FIXED(NAME, RC, PAIR, MIN_BLOCKS)                                                       \
    extern "C" __global__ void __launch_bounds__(16 * RC, MIN_BLOCKS)                                      \
    NAME(const float* M0, const float* Y0, long long yNS0, const float* d0, const float* X0, long long xNS0,  \
         float* O0, long long oNS0, const float* M1, const float* Y1, long long yNS1, const float* d1,      \
         const float* X1, long long xNS1, float* O1, long long oNS1, int c, int heads, int HW) {           \
        attn_apply_fixed<RC, PAIR>(M0, Y0, yNS0, d0, X0, xNS0, O0, oNS0, M1, Y1, yNS1, d1, X1, xNS1, O1, oNS1, \
                                   c, heads, HW);                                                          \
    }
ATTN_APPLY_FIXED(fused_attn_apply_r4, 4, false, 12)
ATTN_APPLY_FIXED(fused_attn_apply_r8, 8, false, 6)
ATTN_APPLY_FIXED(fused_attn_apply_r12, 12, false, 4)
ATTN_APPLY_FIXED(fused_attn_apply_r16, 16, false, 3)
// Two products: 64-row tiles of both would exceed 48 KB of static shared memory, so no R = 16.
ATTN_APPLY_FIXED(fused_attn_apply_pair_r4, 4, true, 12)
ATTN_APPLY_FIXED(fused_attn_apply_pair_r8, 8, true, 6)
ATTN_APPLY_FIXED(fused_attn_apply_pair_r12, 12, true, 3)

// ------------------------------------------------------------------------------ backward: c x c part
//
// One block per bh. G: Q K^T (unnormalised) of bh at Gall + bh * gStride (saved by the forward, or
// recomputed); GA = [NH][c*c]: gA = gy V^T.
// With Sh = Q K^T / (qn kn^T) (so S = t*Sh):
//   gS = A * (gA - rowsum(gA * A))                     softmax backward
//   rq_i = sum_j gS_ij Sh_ij, rk_j = sum_i gS_ij Sh_ij  (= q^.gq^ / t and k^.gk^ / t)
//   gt   = sum_ij gS_ij Sh_ij = sum_i rq_i              written per bh to gtPart
//   Bq_ij = t gS_ij / (qn_i kn_j), dq_i = -t rq_i / qn_i^2, dk_j = -t rk_j / kn_j^2
// so that gq = Bq K + diag(dq) Q and gk = Bq^T Q + diag(dk) K (F.normalize's backward), and
// gv = A^T gy. Where a norm was clamped to 1e-12 the normalisation is a constant scale and its
// projection term (dq, dk) vanishes. Writes Bq, BqT, AT ([NH][c][c]), dq, dk ([NH][c]), gtPart
// ([NH]); gS ([NH][c][c]) is scratch.
extern "C" __global__ void __launch_bounds__(AT_SMALL_THREADS)
fused_attn_bwd_coef(const float* __restrict__ Gall, int gStride, const float* __restrict__ GAall, const float* __restrict__ attn,
                    const float* __restrict__ norms,
                    const float* __restrict__ temperature, float* __restrict__ Bq, float* __restrict__ BqT,
                    float* __restrict__ AT, float* __restrict__ dq, float* __restrict__ dk, float* __restrict__ gS,
                    float* __restrict__ gtPart, int c, int heads) {
    FUSED_SHARED(float, wsum, [AT_SMALL_THREADS / 32]);
    const int bh = blockIdx.x, n = bh / heads, h = bh % heads, C = c * heads;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const size_t cc = (size_t) c * c, off = (size_t) bh * cc;
    const float* G = Gall + (size_t) bh * gStride;
    const float* GA = GAall + off;
    const float* A = attn + off;
    const float* qn = norms + (size_t) n * 2 * C + h * c;
    const float* kn = qn + C;
    const float t = temperature[h];

    float gt = 0.0f;  // lane 0 of each warp: sum of its rows' rq
    for (int i = warp; i < c; i += AT_SMALL_THREADS / 32) {  // one warp per row
        float rd = 0.0f;
        for (int j = lane; j < c; j += 32) rd += GA[i * c + j] * A[i * c + j];
        rd = warp_sum(rd);
        float rq = 0.0f;
        for (int j = lane; j < c; j += 32) {
            const float a = A[i * c + j];
            const float g = a * (GA[i * c + j] - rd);
            const float inv = 1.0f / (qn[i] * kn[j]);
            gS[off + i * c + j] = g;
            rq += g * (G[i * c + j] * inv);
            const float b = t * g * inv;
            Bq[off + i * c + j] = b;
            BqT[off + j * c + i] = b;
            AT[off + j * c + i] = a;
        }
        rq = warp_sum(rq);
        if (lane == 0) {
            dq[(size_t) bh * c + i] = qn[i] > 1e-12f ? -t * rq / (qn[i] * qn[i]) : 0.0f;
            gt += rq;
        }
    }
    __syncthreads();  // gS complete and visible to the block
    for (int j = warp; j < c; j += AT_SMALL_THREADS / 32) {  // one warp per column
        float rk = 0.0f;
        for (int i = lane; i < c; i += 32) rk += gS[off + i * c + j] * (G[i * c + j] / (qn[i] * kn[j]));
        rk = warp_sum(rk);
        if (lane == 0) dk[(size_t) bh * c + j] = kn[j] > 1e-12f ? -t * rk / (kn[j] * kn[j]) : 0.0f;
    }
    if (lane == 0) wsum[warp] = gt;
    __syncthreads();
    if (threadIdx.x == 0) {
        float s = 0.0f;
        for (int k = 0; k < AT_SMALL_THREADS / 32; k++) s += wsum[k];
        gtPart[bh] = s;
    }
}

// gtemp[h] = sum_n gtPart[n*heads + h], in order. One block of 32 threads.
extern "C" __global__ void __launch_bounds__(32)
fused_attn_gtemp(const float* __restrict__ gtPart, float* __restrict__ gtemp, int N, int heads) {
    for (int h = threadIdx.x; h < heads; h += 32) {
        float s = 0.0f;
        for (int n = 0; n < N; n++) s += gtPart[(size_t) n * heads + h];
        gtemp[h] = s;
    }
}

// ===================================================================================== pipelined
//
// The kernels for one head of exactly c = T = 4 RC rows (RC = 4, 8, 12; DIRformer's 48 channels per
// head are RC = 12), float4 pixel rows (HW % 4 == 0, 16-byte aligned operands; the glue checks).
// A block of 16 RC threads (192 at RC = 12) belongs to one bh and walks the image's 32-pixel stages
// b, b + G, b + 2G, ... (b = blockIdx.x, G = gridDim.x, sized by the glue to fill the device in one
// wave). Each stage's operand tiles ([T][AP_BK] per operand) come in through cp.async into a ring
// of shared buffers, STAGES - 1 stages ahead of the one being computed (STAGES = 3 in the forward's
// passes, 2 in the backward's), so each block's memory traffic overlaps its own arithmetic. (The
// first H100 checks measured the load-then-compute kernels above at 45-47% of the byte floor: while
// a block waited for its stage, its SM's few other blocks could not keep the FMA units busy, and
// the reverse.) The c x c work that used to be a separate launch between the passes (the softmax;
// the softmax backward and normalisation coefficients) is done by every block of the pass that
// needs it, from a few KB in L2, while its first stage loads.
//
// Thread layouts (a warp covers 4 x 8 distinct rows/columns, so that its 16-byte shared reads hit
// one wavefront each):
//   Gram P = X Y^T (T x T): thread (gi, gj), gi < RC, gj < 16, rows gi + RC a (a < 4), columns
//     gj + 16 b (b < RC / 4): RC accumulators.
//   apply O = M Y (T x AP_BK per stage): thread (rg, px), rg < 2 RC, px < 8, rows rg + 2 RC a
//     (a < 2), pixels 4 px .. 4 px + 3 (one float4): 8 accumulators.
// The per-stage products are the general kernels' at_gram_product and at_tile_product with these strides.
#define AP_BK 32             // pixels per stage
#define AP_ROW (AP_BK + 4)   // stage row stride: 9 float4, odd, so 8 consecutive rows fill 8 bank groups

template <int RC>
struct ApGeo {
    static constexpr int T = 4 * RC, NTHR = 16 * RC, NB = RC / 4;
    static constexpr int MROW = T + 4;  // (T + 4) / 4 = RC + 1 is odd: consecutive M rows in distinct bank groups
};

// Gram and apply coordinates of thread tid (see the layouts above).
__device__ __forceinline__ void ap_gram_coords(int tid, int& gi, int& gj) {
    const int w = tid >> 5, l = tid & 31;
    gi = 4 * (w >> 1) + (l >> 3);
    gj = 8 * (w & 1) + (l & 7);
}

__device__ __forceinline__ void ap_apply_coords(int tid, int& rg, int& px) {
    const int w = tid >> 5, l = tid & 31;
    rg = 4 * w + (l >> 3);
    px = l & 7;
}

// Issues the copies of one stage (pixels [p0, p0 + AP_BK)) of NOPS operands of T rows each into the
// ring slot dst: rows of operand o start at src[o] + r * HW. Float4 past HW are zero-filled. 2 float4
// per thread per operand.
template <int RC, int NOPS>
__device__ __forceinline__ void ap_issue(const float* const (&src)[NOPS], float (&dst)[NOPS][4 * RC][AP_ROW], int p0,
                                         int HW, int tid) {
    constexpr int T = ApGeo<RC>::T, NTHR = ApGeo<RC>::NTHR, ITEMS = T * (AP_BK / 4);
#pragma unroll
    for (int o = 0; o < NOPS; o++)
#pragma unroll
        for (int k = 0; k < ITEMS / NTHR; k++) {
            const int e = tid + k * NTHR, r = e / (AP_BK / 4), q = e % (AP_BK / 4), p = p0 + 4 * q;
            const float* row = src[o] + (size_t) r * HW;
            fused_cp_async16(&dst[o][r][4 * q], p < HW ? row + p : row, p < HW);
        }
}

// How many stages this block runs: stages b0, b0 + G0, ... (b0 = blockIdx.x, G0 = gridDim.x) of the
// ceil(HW / AP_BK) pixel stages.
__device__ __forceinline__ int ap_block_stages(int HW) {
    const int nStages = (HW + AP_BK - 1) / AP_BK, G0 = gridDim.x, b0 = blockIdx.x;
    return b0 < nStages ? (nStages - b0 + G0 - 1) / G0 : 0;
}

// The ring of STAGES slots: the block's stage s is issued into slot s % STAGES (when s < K), and a
// group is committed either way, so that wait<STAGES - 2> always counts the same groups.
template <int RC, int NOPS, int STAGES>
__device__ __forceinline__ void ap_issue_stage(const float* const (&src)[NOPS], float (&buf)[STAGES][NOPS][4 * RC][AP_ROW],
                                               int s, int K, int HW, int tid) {
    if (s < K) ap_issue<RC, NOPS>(src, buf[s % STAGES], (blockIdx.x + s * gridDim.x) * AP_BK, HW, tid);
    fused_cp_async_commit();
}

// Before the loop: the first STAGES - 1 stages in flight.
template <int RC, int NOPS, int STAGES>
__device__ __forceinline__ void ap_prologue(const float* const (&src)[NOPS], float (&buf)[STAGES][NOPS][4 * RC][AP_ROW],
                                            int K, int HW, int tid) {
#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) ap_issue_stage<RC, NOPS, STAGES>(src, buf, s, K, HW, tid);
}

// At the top of loop iteration s: waits until stage s has landed for every thread (which also frees
// the slot stage s - 1 used), then issues stage s + STAGES - 1 into that slot.
template <int RC, int NOPS, int STAGES>
__device__ __forceinline__ void ap_next_stage(const float* const (&src)[NOPS], float (&buf)[STAGES][NOPS][4 * RC][AP_ROW],
                                              int s, int K, int HW, int tid) {
    fused_cp_async_wait<STAGES - 2>();  // this thread's copies of stage s have landed
    __syncthreads();                    // everyone's have, and stage s - 1's slot is free
    ap_issue_stage<RC, NOPS, STAGES>(src, buf, s + STAGES - 1, K, HW, tid);
}

// Stores the apply's 2 x 4 outputs (+ d[i] * X[i][p] from the staged tile Xs when d != null) to the
// rows of O (row stride HW) for the stage at pixel p0.
template <int RC>
__device__ __forceinline__ void ap_apply_store(float* O, const float (&acc)[2][4], const float* d,
                                               const float (*Xs)[AP_ROW], int rg, int px, int p0, int HW) {
    const int p = p0 + 4 * px;
    if (p >= HW) return;
#pragma unroll
    for (int a = 0; a < 2; a++) {
        const int i = rg + 2 * RC * a;
        float v[4] = {acc[a][0], acc[a][1], acc[a][2], acc[a][3]};
        if (d != nullptr) {
            float xv[4];
            at_unpack(ld4(&Xs[i][4 * px]), xv);
#pragma unroll
            for (int q = 0; q < 4; q++) v[q] += d[i] * xv[q];
        }
        st4(O + (size_t) i * HW + p, make_float4(v[0], v[1], v[2], v[3]));
    }
}

// Forward pass 1: partial Q K^T and squared row norms of the block's stages, part[bh][b][E] with
// E = T*T + 2T (as fused_attn_gram with norms), summed by fused_attn_reduce. Grid (G, NH).
template <int RC>
__device__ __forceinline__ void attn_gram_pipe(const float* __restrict__ q, const float* __restrict__ k, long long nStride,
                                               float* __restrict__ part, int heads, int HW) {
    using G = ApGeo<RC>;
    constexpr int T = G::T, NB = G::NB, STAGES = 3;
    FUSED_SHARED(float, buf, [STAGES][2][T][AP_ROW]);
    const int tid = threadIdx.x, bh = blockIdx.y, n = bh / heads, h = bh % heads;
    const int G0 = gridDim.x, b0 = blockIdx.x, K = ap_block_stages(HW);  // stages of this block
    const size_t off = (size_t) n * nStride + (size_t) h * T * HW;
    const float* const src[2] = {q + off, k + off};
    int gi, gj;
    ap_gram_coords(tid, gi, gj);

    ap_prologue<RC, 2, STAGES>(src, buf, K, HW, tid);
    float acc[4][NB] = {};
    float nrm = 0.0f;  // thread e < 2T: squared norm of X row e (e < T) or Y row e - T
    for (int s = 0; s < K; s++) {
        ap_next_stage<RC, 2, STAGES>(src, buf, s, K, HW, tid);
        const float (*Xs)[AP_ROW] = buf[s % STAGES][0];
        const float (*Ys)[AP_ROW] = buf[s % STAGES][1];
        if (tid < 2 * T) {  // 8 float4 of one row; rows of a warp fall in distinct bank groups
            const float* row = tid < T ? Xs[tid] : Ys[tid - T];
#pragma unroll
            for (int kk = 0; kk < AP_BK; kk += 4) {
                float v[4];
                at_unpack(ld4(row + kk), v);
                nrm += v[0] * v[0] + v[1] * v[1] + v[2] * v[2] + v[3] * v[3];
            }
        }
        at_gram_product<AP_BK, 2>(Xs, Ys, gi, RC, gj, 16, acc);
    }

    constexpr int E = T * T + 2 * T;
    float* out = part + ((size_t) bh * G0 + b0) * E;
#pragma unroll
    for (int a = 0; a < 4; a++)
#pragma unroll
        for (int b = 0; b < NB; b++) out[(gi + RC * a) * T + gj + 16 * b] = acc[a][b];
    if (tid < 2 * T) out[T * T + tid] = nrm;
}

// Forward pass 2: A = softmax(t Q K^T / (qn kn^T)) from red[bh] = [Q K^T, |Q_i|^2, |K_j|^2] (every
// block computes it; block 0 of each bh also writes attn, norms and, when gram != null, Q K^T),
// then out = A V over the block's stages. Grid (G, NH).
template <int RC>
__device__ __forceinline__ void attn_apply_softmax_pipe(const float* __restrict__ red, const float* __restrict__ temperature,
                                                        float* __restrict__ attn, float* __restrict__ norms,
                                                        float* __restrict__ gram, const float* __restrict__ v,
                                                        long long vNS, float* __restrict__ out, long long oNS, int heads,
                                                        int HW) {
    using G = ApGeo<RC>;
    constexpr int T = G::T, NTHR = G::NTHR, MROW = G::MROW, STAGES = 3, E = T * T + 2 * T;
    FUSED_SHARED(float, buf, [STAGES][1][T][AP_ROW]);
    FUSED_SHARED(float, Ms, [T][MROW]);
    FUSED_SHARED(float, rn, [2 * T]);  // clamped norms: qn_i, then kn_j
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, bh = blockIdx.y, n = bh / heads, h = bh % heads;
    const int G0 = gridDim.x, b0 = blockIdx.x, K = ap_block_stages(HW);
    const size_t headOff = (size_t) h * T * HW;
    const float* const src[1] = {v + n * vNS + headOff};
    float* O = out + n * oNS + headOff;
    const bool writer = b0 == 0;  // writes attn, norms, gram for this bh
    const int C = T * heads;

    ap_prologue<RC, 1, STAGES>(src, buf, K, HW, tid);

    // The softmax, while the first stages load: Q K^T into Ms, the clamped norms into rn.
    const float* r = red + (size_t) bh * E;
    const float t = temperature[h];
#pragma unroll
    for (int k = 0; k < T * T / NTHR; k++) {
        const int e = tid + k * NTHR, i = e / T, j = e % T;
        const float g = r[e];
        Ms[i][j] = g;
        if (writer && gram != nullptr) gram[(size_t) bh * T * T + e] = g;
    }
    if (tid < 2 * T) {
        const float nv = fmaxf(sqrtf(r[T * T + tid]), 1e-12f);
        rn[tid] = nv;
        if (writer) norms[(size_t) n * 2 * C + (tid < T ? h * T + tid : C + h * T + tid - T)] = nv;
    }
    __syncthreads();
    for (int i = warp; i < T; i += NTHR / 32) {  // one warp per row; T <= 64: lanes take j and j + 32
        const bool one = lane < T, two = lane + 32 < T;
        const float s0 = one ? Ms[i][lane] / (rn[i] * rn[T + lane]) * t : -INFINITY;
        const float s1 = two ? Ms[i][lane + 32] / (rn[i] * rn[T + lane + 32]) * t : -INFINITY;
        const float m = warp_max(fmaxf(s0, s1));
        const float e0 = one ? expf(s0 - m) : 0.0f, e1 = two ? expf(s1 - m) : 0.0f;
        const float inv = 1.0f / warp_sum(e0 + e1);
        if (one) {
            const float a0 = expf(s0 - m) * inv;
            Ms[i][lane] = a0;
            if (writer) attn[((size_t) bh * T + i) * T + lane] = a0;
        }
        if (two) {
            const float a1 = expf(s1 - m) * inv;
            Ms[i][lane + 32] = a1;
            if (writer) attn[((size_t) bh * T + i) * T + lane + 32] = a1;
        }
    }
    // (the first barrier of the loop publishes Ms)

    int rg, px;
    ap_apply_coords(tid, rg, px);
    for (int s = 0; s < K; s++) {
        ap_next_stage<RC, 1, STAGES>(src, buf, s, K, HW, tid);
        float acc[2][4] = {};
        at_tile_product(Ms, buf[s % STAGES][0], rg, 2 * RC, px, T, acc);
        ap_apply_store<RC>(O, acc, nullptr, nullptr, rg, px, (b0 + s * G0) * AP_BK, HW);
    }
}

// Backward pass 1: partial gA = gy V^T of the block's stages (part[bh][b][T*T], summed by
// fused_attn_reduce) and, in the same pass over gy, gv = A^T gy (gv nullable: only the Gram).
// Grid (G, NH).
template <int RC>
__device__ __forceinline__ void attn_gram_gv_pipe(const float* __restrict__ gy, long long gyNS, const float* __restrict__ v,
                                                  long long vNS, const float* __restrict__ attn, float* __restrict__ gv,
                                                  long long gvNS, float* __restrict__ part, int heads, int HW) {
    using G = ApGeo<RC>;
    constexpr int T = G::T, NTHR = G::NTHR, NB = G::NB, MROW = G::MROW, STAGES = 2;
    FUSED_SHARED(float, buf, [STAGES][2][T][AP_ROW]);
    FUSED_SHARED(float, Ms, [T][MROW]);  // A^T
    const int tid = threadIdx.x, bh = blockIdx.y, n = bh / heads, h = bh % heads;
    const int G0 = gridDim.x, b0 = blockIdx.x, K = ap_block_stages(HW);
    const size_t headOff = (size_t) h * T * HW;
    const float* const src[2] = {gy + n * gyNS + headOff, v + n * vNS + headOff};
    float* O = gv != nullptr ? gv + n * gvNS + headOff : nullptr;

    ap_prologue<RC, 2, STAGES>(src, buf, K, HW, tid);
    if (O != nullptr) {
        const float* A = attn + (size_t) bh * T * T;
#pragma unroll
        for (int k = 0; k < T * T / NTHR; k++) {
            const int e = tid + k * NTHR;
            Ms[e % T][e / T] = A[e];
        }
    }  // (the first barrier of the loop publishes Ms)

    int gi, gj, rg, px;
    ap_gram_coords(tid, gi, gj);
    ap_apply_coords(tid, rg, px);
    float acc[4][NB] = {};
    for (int s = 0; s < K; s++) {
        ap_next_stage<RC, 2, STAGES>(src, buf, s, K, HW, tid);
        const float (*GYs)[AP_ROW] = buf[s % STAGES][0];
        // Unroll 1: with the apply's registers live beside the Gram's, unroll 2 spilled 12 bytes at RC = 12.
        at_gram_product<AP_BK, 1>(GYs, buf[s % STAGES][1], gi, RC, gj, 16, acc);
        if (O != nullptr) {
            float o[2][4] = {};
            at_tile_product(Ms, GYs, rg, 2 * RC, px, T, o);
            ap_apply_store<RC>(O, o, nullptr, nullptr, rg, px, (b0 + s * G0) * AP_BK, HW);
        }
    }

    float* out = part + ((size_t) bh * G0 + b0) * T * T;
#pragma unroll
    for (int a = 0; a < 4; a++)
#pragma unroll
        for (int b = 0; b < NB; b++) out[(gi + RC * a) * T + gj + 16 * b] = acc[a][b];
}

// Backward pass 2. Every block first computes its bh's coefficients (as fused_attn_bwd_coef) from
// gA (gA[bh], T x T), Q K^T (G + bh * gStride) and A, into shared memory: Bq, Bq^T, dq, dk; block 0
// of each bh writes gtPart[bh]. Then over the block's stages, from one staged tile each of Q and K:
//   gq = Bq K + diag(dq) Q,  gk = Bq^T Q + diag(dk) K.
// Grid (G, NH).
template <int RC>
__device__ __forceinline__ void attn_pair_pipe(const float* __restrict__ gA, const float* __restrict__ Gall, int gStride,
                                               const float* __restrict__ attn, const float* __restrict__ norms,
                                               const float* __restrict__ temperature, const float* __restrict__ q,
                                               const float* __restrict__ k, long long qkNS, float* __restrict__ gq,
                                               float* __restrict__ gk, long long gNS, float* __restrict__ gtPart, int heads,
                                               int HW) {
    using G = ApGeo<RC>;
    constexpr int T = G::T, NTHR = G::NTHR, MROW = G::MROW, STAGES = 2;
    static_assert(2 * T * AP_ROW >= T * T, "the coefficients' scratch must fit one stage buffer");
    FUSED_SHARED(float, buf, [STAGES][2][T][AP_ROW]);  // [stage][0: K, 1: Q]
    FUSED_SHARED(float, M0, [T][MROW]);                 // gA, then Bq
    FUSED_SHARED(float, M1, [T][MROW]);                 // A, then Bq^T
    FUSED_SHARED(float, rn, [2 * T]);                   // qn_i, then kn_j
    FUSED_SHARED(float, dqk, [2 * T]);                  // dq_i, then dk_j
    FUSED_SHARED(float, wsum, [NTHR / 32]);
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, bh = blockIdx.y, n = bh / heads, h = bh % heads;
    const int G0 = gridDim.x, b0 = blockIdx.x, K = ap_block_stages(HW);
    const int C = T * heads;
    const size_t headOff = (size_t) h * T * HW;
    const float* const src[2] = {k + n * qkNS + headOff, q + n * qkNS + headOff};
    float* GQ = gq + n * gNS + headOff;
    float* GK = gk + n * gNS + headOff;

    ap_prologue<RC, 2, STAGES>(src, buf, K, HW, tid);

    // Coefficients. aux (the second stage buffer, free until the loop) holds Q K^T, then the terms
    // P_ij = gS_ij Sh_ij whose row sums are rq and column sums rk.
    float* aux = &buf[1][0][0][0];
    const float t = temperature[h];
    {
        const float* gAb = gA + (size_t) bh * T * T;
        const float* Ab = attn + (size_t) bh * T * T;
        const float* Gb = Gall + (size_t) bh * gStride;
#pragma unroll
        for (int kk = 0; kk < T * T / NTHR; kk++) {
            const int e = tid + kk * NTHR, i = e / T, j = e % T;
            M0[i][j] = gAb[e];
            M1[i][j] = Ab[e];
            aux[e] = Gb[e];
        }
        if (tid < 2 * T) rn[tid] = norms[(size_t) n * 2 * C + (tid < T ? h * T + tid : C + h * T + tid - T)];
    }
    __syncthreads();
    float gt = 0.0f;  // lane 0 of each warp: the sum of its rows' rq
    for (int i = warp; i < T; i += NTHR / 32) {  // one warp per row; lanes take j and j + 32
        const bool one = lane < T, two = lane + 32 < T;
        const float a0 = one ? M1[i][lane] : 0.0f, g0 = one ? M0[i][lane] : 0.0f;
        const float a1 = two ? M1[i][lane + 32] : 0.0f, g1 = two ? M0[i][lane + 32] : 0.0f;
        const float rd = warp_sum(g0 * a0 + g1 * a1);
        float rq = 0.0f;
        if (one) {
            const float gs = a0 * (g0 - rd), inv = 1.0f / (rn[i] * rn[T + lane]);
            const float p = gs * (aux[i * T + lane] * inv);
            rq += p;
            aux[i * T + lane] = p;
            M0[i][lane] = t * gs * inv;
        }
        if (two) {
            const float gs = a1 * (g1 - rd), inv = 1.0f / (rn[i] * rn[T + lane + 32]);
            const float p = gs * (aux[i * T + lane + 32] * inv);
            rq += p;
            aux[i * T + lane + 32] = p;
            M0[i][lane + 32] = t * gs * inv;
        }
        rq = warp_sum(rq);
        if (lane == 0) {
            dqk[i] = rn[i] > 1e-12f ? -t * rq / (rn[i] * rn[i]) : 0.0f;
            gt += rq;
        }
    }
    if (lane == 0) wsum[warp] = gt;
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < T * T / NTHR; kk++) {
        const int e = tid + kk * NTHR, i = e / T, j = e % T;
        M1[j][i] = M0[i][j];
    }
    {  // rk_j: 4 consecutive lanes per column j (4T threads), each summing every 4th row, then 2 shuffles
        const int j = tid >> 2, part4 = tid & 3;
        float rk = 0.0f;
#pragma unroll 4
        for (int i = part4; i < T; i += 4) rk += aux[i * T + j];
        rk += __shfl_xor_sync(FULL_MASK, rk, 1);
        rk += __shfl_xor_sync(FULL_MASK, rk, 2);
        const float kn = rn[T + j];
        if (part4 == 0) dqk[T + j] = kn > 1e-12f ? -t * rk / (kn * kn) : 0.0f;
    }
    if (b0 == 0 && tid == 0) {
        float s = 0.0f;
        for (int w = 0; w < NTHR / 32; w++) s += wsum[w];
        gtPart[bh] = s;
    }
    // (the first barrier of the loop publishes M1 and dk, and ends the reads of aux)

    int rg, px;
    ap_apply_coords(tid, rg, px);
    for (int s = 0; s < K; s++) {
        ap_next_stage<RC, 2, STAGES>(src, buf, s, K, HW, tid);
        const float (*Ks)[AP_ROW] = buf[s % STAGES][0];
        const float (*Qs)[AP_ROW] = buf[s % STAGES][1];
        const int p0 = (b0 + s * G0) * AP_BK;
        {
            float o[2][4] = {};
            at_tile_product(M0, Ks, rg, 2 * RC, px, T, o);
            ap_apply_store<RC>(GQ, o, dqk, Qs, rg, px, p0, HW);
        }
        {
            float o[2][4] = {};
            at_tile_product(M1, Qs, rg, 2 * RC, px, T, o);
            ap_apply_store<RC>(GK, o, dqk + T, Ks, rg, px, p0, HW);
        }
    }
}

#define ATTN_PIPE(RC, MIN_BLOCKS)                                                                              \
    extern "C" __global__ void __launch_bounds__(16 * RC, MIN_BLOCKS)                                          \
    fused_attn_gram_pipe_r##RC(const float* q, const float* k, long long nStride, float* part, int heads, int HW) { \
        attn_gram_pipe<RC>(q, k, nStride, part, heads, HW);                                                    \
    }                                                                                                          \
    extern "C" __global__ void __launch_bounds__(16 * RC, MIN_BLOCKS)                                          \
    fused_attn_apply_softmax_r##RC(const float* red, const float* temperature, float* attn, float* norms, float* gram, \
                                   const float* v, long long vNS, float* out, long long oNS, int heads, int HW) {      \
        attn_apply_softmax_pipe<RC>(red, temperature, attn, norms, gram, v, vNS, out, oNS, heads, HW);         \
    }                                                                                                          \
    extern "C" __global__ void __launch_bounds__(16 * RC, MIN_BLOCKS)                                          \
    fused_attn_gram_gv_r##RC(const float* gy, long long gyNS, const float* v, long long vNS, const float* attn,  \
                             float* gv, long long gvNS, float* part, int heads, int HW) {                      \
        attn_gram_gv_pipe<RC>(gy, gyNS, v, vNS, attn, gv, gvNS, part, heads, HW);                              \
    }                                                                                                          \
    extern "C" __global__ void __launch_bounds__(16 * RC, MIN_BLOCKS)                                          \
    fused_attn_pair_r##RC(const float* gA, const float* G, int gStride, const float* attn, const float* norms,   \
                          const float* temperature, const float* q, const float* k, long long qkNS, float* gq,  \
                          float* gk, long long gNS, float* gtPart, int heads, int HW) {                        \
        attn_pair_pipe<RC>(gA, G, gStride, attn, norms, temperature, q, k, qkNS, gq, gk, gNS, gtPart, heads, HW); \
    }
ATTN_PIPE(4, 12)
ATTN_PIPE(8, 6)
ATTN_PIPE(12, 4)
