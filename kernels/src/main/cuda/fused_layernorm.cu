// Channel LayerNorm of NCHW tensors (per pixel over C), optionally followed by DiffIR's dynamic
// modulation y*k1 + k2, forward and backward. Glue: diffir.kernels.fused.ModulatedLayerNormKernels.
//
// Layout: x[n][c][p] with p = h*W + w over HW pixels. Threads own pixels and loop over the C
// channels: consecutive threads touch consecutive pixels, so every load is coalesced along W, and
// the per-pixel statistics stay in registers. Two variants:
//  - register path (C <= CMAX, the level sizes of DIRformer): one pixel per thread, all C values of
//    the pixel held in registers (fully unrolled over CMAX, guarded by c < C), so x (and gy) are
//    read from DRAM exactly once. This matters: the whole tensor is in flight at once, so a second
//    pass over x would mostly miss L2 at the level-1 size (50 MB at batch 4, C = 48, 256x256).
//  - streaming path (any C): V consecutive pixels per thread (V = 4: 16-byte accesses, needs
//    HW % 4 == 0 and aligned tensors; V = 1 otherwise), Welford statistics in one pass, then a
//    second pass over x (and gy) for the outputs.
//
// Grid (tiles, N): blockIdx.y is the image, blockIdx.x the pixel tile of LN_THREADS*V pixels (V = 1
// on the register path).
#include "fused_common.cuh"

#define LN_THREADS 128
#define LN_WARPS (LN_THREADS / 32)
// __launch_bounds__(LN_THREADS, 1) throughout: without the explicit minimum, ptxas capped some
// variants at 64 registers and spilled the cached channel values.

// ------------------------------------------------------------------------------------------ forward

// WithBias (b != null): y = (x-mu)*rstd*w + b. BiasFree (b == null): y = x*rstd*w (var still about mu).
// With mod: out = y*k1 + k2, k1 = mod[n][c], k2 = mod[n][C+c]. Folded per channel into one
// scale and one shift: out = xh*(w*k1) + (b*k1 + k2), xh = (x - centre)*rstd.
template <int V>
__device__ __forceinline__ void ln_forward(const float* __restrict__ x, const float* __restrict__ w,
                                           const float* __restrict__ b, const float* __restrict__ mod, float eps,
                                           float* __restrict__ out, float* __restrict__ mean,
                                           float* __restrict__ rstd, int C, int HW) {
    const int n = blockIdx.y;
    const int p0 = (blockIdx.x * LN_THREADS + threadIdx.x) * V;
    if (p0 >= HW) return;  // no barriers below; with V = 4, HW % 4 == 0 so p0+3 < HW too
    const size_t base = (size_t) n * C * HW + p0;
    const float* xn = x + base;

    // Welford over channels: one pass, numerically stable (no E[x^2] - E[x]^2 cancellation).
    float m[V], m2[V];
#pragma unroll
    for (int k = 0; k < V; k++) m[k] = m2[k] = 0.0f;
#pragma unroll 4
    for (int c = 0; c < C; c++) {
        float v[V];
        fused_load_vec<V>(xn + (size_t) c * HW, v);
        const float inv = 1.0f / (float) (c + 1);
#pragma unroll
        for (int k = 0; k < V; k++) {
            float d = v[k] - m[k];
            m[k] += d * inv;
            m2[k] += d * (v[k] - m[k]);
        }
    }
    float r[V], centre[V];
#pragma unroll
    for (int k = 0; k < V; k++) {
        r[k] = 1.0f / sqrtf(m2[k] / (float) C + eps);
        centre[k] = b != nullptr ? m[k] : 0.0f;
    }
    fused_store_vec<V>(mean + (size_t) n * HW + p0, m);
    fused_store_vec<V>(rstd + (size_t) n * HW + p0, r);

    // Second read of x: this block's rows were just read, so it mostly hits L1/L2, not DRAM.
    const float* k1 = mod != nullptr ? mod + (size_t) n * 2 * C : nullptr;
    float* on = out + base;
    for (int c = 0; c < C; c++) {
        float scale = w[c];
        float shift = b != nullptr ? b[c] : 0.0f;
        if (k1 != nullptr) {
            float a = k1[c];
            scale *= a;
            shift = shift * a + k1[C + c];
        }
        float v[V];
        fused_load_vec<V>(xn + (size_t) c * HW, v);
#pragma unroll
        for (int k = 0; k < V; k++) v[k] = (v[k] - centre[k]) * r[k] * scale + shift;
        fused_store_vec<V>(on + (size_t) c * HW, v);
    }
}

// Register path: the same math with exact two-pass statistics over the cached values.
template <int CMAX>
__device__ __forceinline__ void ln_forward_regs(const float* __restrict__ x, const float* __restrict__ w,
                                                const float* __restrict__ b, const float* __restrict__ mod, float eps,
                                                float* __restrict__ out, float* __restrict__ mean,
                                                float* __restrict__ rstd, int C, int HW) {
    FUSED_SHARED(float, scale, [CMAX]);
    FUSED_SHARED(float, shift, [CMAX]);
    const int n = blockIdx.y;
    const int p = blockIdx.x * LN_THREADS + threadIdx.x;
    // Per-channel scale and shift of this image, once per block (shared reads are broadcasts; holding
    // them in registers as well would crowd out the cached x).
    const float* k1 = mod != nullptr ? mod + (size_t) n * 2 * C : nullptr;
    for (int c = threadIdx.x; c < C; c += LN_THREADS) {
        float sc = w[c], sh = b != nullptr ? b[c] : 0.0f;
        if (k1 != nullptr) {
            sh = sh * k1[c] + k1[C + c];
            sc *= k1[c];
        }
        scale[c] = sc;
        shift[c] = sh;
    }
    __syncthreads();
    if (p >= HW) return;  // no barriers below
    const size_t base = (size_t) n * C * HW + p;
    const float* xn = x + base;
    float v[CMAX];  // constant indices only (full unroll), so this stays in registers
#pragma unroll
    for (int c = 0; c < CMAX; c++) v[c] = c < C ? xn[(size_t) c * HW] : 0.0f;  // all loads in flight at once
    float sum = 0.0f;
#pragma unroll
    for (int c = 0; c < CMAX; c++) sum += v[c];  // entries past C are 0
    const float m = sum / (float) C;
    float sq = 0.0f;
#pragma unroll
    for (int c = 0; c < CMAX; c++) {
        const float d = c < C ? v[c] - m : 0.0f;
        sq += d * d;
    }
    const float r = 1.0f / sqrtf(sq / (float) C + eps);
    mean[(size_t) n * HW + p] = m;
    rstd[(size_t) n * HW + p] = r;
    const float centre = b != nullptr ? m : 0.0f;
    float* on = out + base;
#pragma unroll
    for (int c = 0; c < CMAX; c++)
        if (c < C) on[(size_t) c * HW] = (v[c] - centre) * r * scale[c] + shift[c];
}

// Minimum resident blocks per SM of the register-path forward: as many as the cached values allow,
// since the level-1 grid is a few waves long and a fuller last wave wastes less (C = 48: 8 blocks at
// 64 registers, 1.94 waves at level 1, against 6 blocks and 2.59 waves at the 74 registers ptxas
// takes unbounded; one spilled value, read twice from L1).
#define LN_FWD_MIN_BLOCKS(CMAX) ((CMAX) <= 48 ? 8 : (CMAX) <= 64 ? 5 : (CMAX) <= 96 ? 4 : 3)
#define LN_FWD_REGS(CMAX)                                                                                \
    extern "C" __global__ void __launch_bounds__(LN_THREADS, LN_FWD_MIN_BLOCKS(CMAX))                       \
    fused_ln_fwd_c##CMAX(const float* x, const float* w, const float* b, const float* mod, float eps,     \
                         float* out, float* mean, float* rstd, int C, int HW) {                          \
        ln_forward_regs<CMAX>(x, w, b, mod, eps, out, mean, rstd, C, HW);                                \
    }
LN_FWD_REGS(16)
LN_FWD_REGS(32)
LN_FWD_REGS(48)
LN_FWD_REGS(64)
LN_FWD_REGS(96)
LN_FWD_REGS(128)

extern "C" __global__ void __launch_bounds__(LN_THREADS, 1)
fused_ln_fwd_v4(const float* x, const float* w, const float* b, const float* mod, float eps,
                float* out, float* mean, float* rstd, int C, int HW) {
    ln_forward<4>(x, w, b, mod, eps, out, mean, rstd, C, HW);
}

extern "C" __global__ void __launch_bounds__(LN_THREADS, 1)
fused_ln_fwd_v1(const float* x, const float* w, const float* b, const float* mod, float eps,
                float* out, float* mean, float* rstd, int C, int HW) {
    ln_forward<1>(x, w, b, mod, eps, out, mean, rstd, C, HW);
}

// ----------------------------------------------------------------------------------------- backward
//
// With g = d out, kw = w*k1 (k1 = 1 without mod), gxh = g*kw and xh the normalised value used in y
// (WithBias: (x-mu)*rstd, BiasFree: x*rstd):
//   gx = rstd * (gxh - [WithBias] mean_c(gxh) - (x-mu)*rstd * mean_c(gxh*xh))
// (BiasFree: d rstd/dx_i = -rstd^3 (x_i-mu)/C, and x_j*rstd = xh_j, which gives the same last term.)
// Parameter gradients all reduce to two per-(n, c) sums over pixels, S0 = sum g, S1 = sum g*xh:
//   gw[c] = sum_n k1*S1, gb[c] = sum_n k1*S0, gk1[n,c] = w*S1 + b*S0 (= sum g*y), gk2[n,c] = S0.
// The main kernel writes partials of S0, S1 to part[n][c][q][2]: one per block on the register
// path (q = tile, Q = tiles), one per warp on the streaming path (q = tile*LN_WARPS + warp). Then
// fused_ln_bwd_reduce sums them per (n, c) and then over n, in a fixed order (deterministic, no
// atomics).
template <int V>
__device__ __forceinline__ void ln_backward(const float* __restrict__ x, const float* __restrict__ w,
                                            const float* __restrict__ mod, const float* __restrict__ mean,
                                            const float* __restrict__ rstd, const float* __restrict__ gy,
                                            int withBias, float* __restrict__ gx, float* __restrict__ part,
                                            int C, int HW) {
    const int n = blockIdx.y;
    const int p0 = (blockIdx.x * LN_THREADS + threadIdx.x) * V;
    // Threads past the last pixel stay (contributing zeros): the warp sums below need all 32 lanes.
    const bool valid = p0 < HW;
    const size_t base = (size_t) n * C * HW + (valid ? p0 : 0);
    const float* xn = x + base;
    const float* gn = gy + base;
    const float* k1 = mod != nullptr ? mod + (size_t) n * 2 * C : nullptr;
    const int lane = threadIdx.x & 31;
    const int Q = gridDim.x * LN_WARPS;
    const int q = blockIdx.x * LN_WARPS + (threadIdx.x >> 5);

    float mu[V], r[V], centre[V];
#pragma unroll
    for (int k = 0; k < V; k++) mu[k] = r[k] = 0.0f;
    if (valid) {
        fused_load_vec<V>(mean + (size_t) n * HW + p0, mu);
        fused_load_vec<V>(rstd + (size_t) n * HW + p0, r);
    }
#pragma unroll
    for (int k = 0; k < V; k++) centre[k] = withBias ? mu[k] : 0.0f;

    float sa[V], sb[V];  // per pixel: sum_c gxh and sum_c gxh*xh
#pragma unroll
    for (int k = 0; k < V; k++) sa[k] = sb[k] = 0.0f;
    for (int c = 0; c < C; c++) {
        float xv[V], g[V];
#pragma unroll
        for (int k = 0; k < V; k++) xv[k] = g[k] = 0.0f;
        if (valid) {
            fused_load_vec<V>(xn + (size_t) c * HW, xv);
            fused_load_vec<V>(gn + (size_t) c * HW, g);
        }
        const float kw = w[c] * (k1 != nullptr ? k1[c] : 1.0f);
        float s0 = 0.0f, s1 = 0.0f;
#pragma unroll
        for (int k = 0; k < V; k++) {
            float xh = (xv[k] - centre[k]) * r[k];  // 0 for invalid pixels (r = 0)
            float gxh = g[k] * kw;
            sa[k] += gxh;
            sb[k] += gxh * xh;
            s0 += g[k];
            s1 += g[k] * xh;
        }
        if (part != nullptr) {  // uniform branch: every lane takes it
            s0 = warp_sum(s0);
            s1 = warp_sum(s1);
            if (lane == 0) {
                float* pp = part + (((size_t) n * C + c) * Q + q) * 2;
                pp[0] = s0;
                pp[1] = s1;
            }
        }
    }
    if (gx == nullptr || !valid) return;  // no barriers or shuffles after this point

    const float invC = 1.0f / (float) C;
    float* gxn = gx + base;
    for (int c = 0; c < C; c++) {
        float xv[V], g[V], o[V];
        fused_load_vec<V>(xn + (size_t) c * HW, xv);
        fused_load_vec<V>(gn + (size_t) c * HW, g);
        const float kw = w[c] * (k1 != nullptr ? k1[c] : 1.0f);
#pragma unroll
        for (int k = 0; k < V; k++) {
            float gxh = g[k] * kw;
            float dev = (xv[k] - mu[k]) * r[k];  // (x - mu)*rstd in both variants
            float meanA = withBias ? sa[k] * invC : 0.0f;
            o[k] = r[k] * (gxh - meanA - dev * (sb[k] * invC));
        }
        fused_store_vec<V>(gxn + (size_t) c * HW, o);
    }
}

// Register path of the backward: x and gy of the pixel cached (C <= CMAX), one pixel per thread.
// Order: the per-pixel sums, then gx (stored), then the per-channel sums S1 = sum g*xh and S0 = sum g
// of the warp's 32 pixels, built in place over the cached values and summed across the lanes in one
// transposed reduction (93 shuffles for 2 x 48 values, against 480 for 96 separate warp sums),
// then across the block's warps into one partial per (image, channel, block).
template <int CMAX>
__device__ __forceinline__ void ln_backward_regs(const float* __restrict__ x, const float* __restrict__ w,
                                                 const float* __restrict__ mod, const float* __restrict__ mean,
                                                 const float* __restrict__ rstd, const float* __restrict__ gy,
                                                 int withBias, float* __restrict__ gx, float* __restrict__ part,
                                                 int C, int HW) {
    constexpr int V = 2 * CMAX, K = V / 32;  // values per lane in and after the transposed sum
    FUSED_SHARED(float, kws, [CMAX]);  // w*k1 per channel of this image
    FUSED_SHARED(float, red, [LN_WARPS][V]);  // per-warp sums: [0, CMAX) S1, [CMAX, 2 CMAX) S0
    const int n = blockIdx.y;
    const int p = blockIdx.x * LN_THREADS + threadIdx.x;
    const bool valid = p < HW;  // invalid threads stay for the warp sums, with zeros
    const size_t base = (size_t) n * C * HW + (valid ? p : 0);
    const float* k1 = mod != nullptr ? mod + (size_t) n * 2 * C : nullptr;
    for (int c = threadIdx.x; c < C; c += LN_THREADS) kws[c] = w[c] * (k1 != nullptr ? k1[c] : 1.0f);
    __syncthreads();
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;

    const float mu = valid ? mean[(size_t) n * HW + p] : 0.0f;
    const float r = valid ? rstd[(size_t) n * HW + p] : 0.0f;
    const float centre = withBias ? mu : 0.0f;
    float v[V];  // [0, CMAX) x, then g*xh; [CMAX, V) gy (constant indices only: registers)
#pragma unroll
    for (int c = 0; c < CMAX; c++) {
        const bool ok = valid && c < C;
        v[c] = ok ? x[base + (size_t) c * HW] : 0.0f;
        v[CMAX + c] = ok ? gy[base + (size_t) c * HW] : 0.0f;
    }
    float sa = 0.0f, sb = 0.0f;
#pragma unroll
    for (int c = 0; c < CMAX; c++) {
        if (c < C) {
            const float gxh = v[CMAX + c] * kws[c];
            sa += gxh;
            sb += gxh * ((v[c] - centre) * r);  // xh is 0 for invalid pixels (r = 0)
        }
    }
    if (gx != nullptr && valid) {
        const float invC = 1.0f / (float) C;
        const float meanA = withBias ? sa * invC : 0.0f;
        const float meanB = sb * invC;
#pragma unroll
        for (int c = 0; c < CMAX; c++)
            if (c < C) gx[base + (size_t) c * HW] = r * (v[CMAX + c] * kws[c] - meanA - (v[c] - mu) * r * meanB);
    }
    if (part == nullptr) return;  // uniform: the whole block leaves together

#pragma unroll
    for (int c = 0; c < CMAX; c++) v[c] = v[CMAX + c] * ((v[c] - centre) * r);  // g * xh (0 past C: g = 0)
    fused_warp_transpose_sum<V>(v);
#pragma unroll
    for (int k = 0; k < K; k++) red[warp][lane * K + k] = v[k];
    __syncthreads();
    for (int c = threadIdx.x; c < C; c += LN_THREADS) {  // one partial per (image, channel, block), Q = gridDim.x
        float s0 = 0.0f, s1 = 0.0f;
#pragma unroll
        for (int k = 0; k < LN_WARPS; k++) {
            s0 += red[k][CMAX + c];
            s1 += red[k][c];
        }
        float* pp = part + (((size_t) n * C + c) * gridDim.x + blockIdx.x) * 2;
        pp[0] = s0;
        pp[1] = s1;
    }
}

#define LN_BWD_REGS(CMAX)                                                                                \
    extern "C" __global__ void __launch_bounds__(LN_THREADS, 1)                                             \
    fused_ln_bwd_c##CMAX(const float* x, const float* w, const float* mod, const float* mean,             \
                         const float* rstd, const float* gy, int withBias, float* gx, float* part, int C, \
                         int HW) {                                                                       \
        ln_backward_regs<CMAX>(x, w, mod, mean, rstd, gy, withBias, gx, part, C, HW);                    \
    }
LN_BWD_REGS(16)
LN_BWD_REGS(32)
LN_BWD_REGS(48)
LN_BWD_REGS(64)
LN_BWD_REGS(96)

extern "C" __global__ void __launch_bounds__(LN_THREADS, 1)
fused_ln_bwd_v4(const float* x, const float* w, const float* mod, const float* mean, const float* rstd,
                const float* gy, int withBias, float* gx, float* part, int C, int HW) {
    ln_backward<4>(x, w, mod, mean, rstd, gy, withBias, gx, part, C, HW);
}

extern "C" __global__ void __launch_bounds__(LN_THREADS, 1)
fused_ln_bwd_v1(const float* x, const float* w, const float* mod, const float* mean, const float* rstd,
                const float* gy, int withBias, float* gx, float* part, int C, int HW) {
    ln_backward<1>(x, w, mod, mean, rstd, gy, withBias, gx, part, C, HW);
}

// Block c: for each image n in order, S0, S1 = the sum of the Q partials of (n, c) (threads stride
// over q, then warp sums, then the warps in order); gmod[n] = (w*S1 + b*S0, S0) when gmod != null;
// and over the images in order gw[c] = sum_n k1*S1, gb[c] = sum_n k1*S0 (k1 = 1 without mod) when
// non-null, so that with no images they are 0. Grid C, LN_THREADS threads. One launch for all the
// parameter gradients: the partials are small (0.8 MB at level 1).
extern "C" __global__ void __launch_bounds__(LN_THREADS, 1)
fused_ln_bwd_reduce(const float* __restrict__ part, const float* __restrict__ w, const float* __restrict__ b,
                    const float* __restrict__ mod, float* __restrict__ gw, float* __restrict__ gb,
                    float* __restrict__ gmod, int N, int C, int Q) {
    FUSED_SHARED(float, red, [2][LN_WARPS]);
    const int c = blockIdx.x;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    float accW = 0.0f, accB = 0.0f;  // thread 0's
    for (int n = 0; n < N; n++) {  // uniform
        const float* pp = part + ((size_t) n * C + c) * Q * 2;
        float s0 = 0.0f, s1 = 0.0f;
#pragma unroll 4
        for (int q = threadIdx.x; q < Q; q += LN_THREADS) {
            s0 += pp[2 * q];
            s1 += pp[2 * q + 1];
        }
        s0 = warp_sum(s0);
        s1 = warp_sum(s1);
        if (lane == 0) {
            red[0][warp] = s0;
            red[1][warp] = s1;
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            float S0 = 0.0f, S1 = 0.0f;
            for (int k = 0; k < LN_WARPS; k++) {
                S0 += red[0][k];
                S1 += red[1][k];
            }
            if (gmod != nullptr) {
                gmod[(size_t) n * 2 * C + c] = w[c] * S1 + (b != nullptr ? b[c] * S0 : 0.0f);
                gmod[(size_t) n * 2 * C + C + c] = S0;
            }
            const float k1 = mod != nullptr ? mod[(size_t) n * 2 * C + c] : 1.0f;
            accB += k1 * S0;
            accW += k1 * S1;
        }
        __syncthreads();  // red is reused by the next image
    }
    if (threadIdx.x == 0) {
        if (gw != nullptr) gw[c] = accW;
        if (gb != nullptr) gb[c] = accB;
    }
}
