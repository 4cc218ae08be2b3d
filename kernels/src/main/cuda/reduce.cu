// Sums over axes. The host reduces one contiguous group of axes per pass, seen as
// [outer, len, inner] -> [outer, inner]; long reductions are split into chunks whose partial sums a
// second pass adds. Accumulation is in double (cheap on sm_80/sm_90) so results match a float64
// reference to float32 rounding whatever the length.
#include "common.cuh"

// inner == 1, short rows: one warp per row, 8 rows per 256-thread block.
extern "C" __global__ void reduce_rows_warp(const float* in, float* out, int rows, int len) {
    int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (row >= rows) return;  // whole warps leave together
    const float* r = in + (long long)row * len;
    double acc = 0.0;
    for (int j = lane; j < len; j += 32) acc += r[j];
    acc = warp_sum(acc);
    if (lane == 0) out[row] = (float)acc;
}

// inner == 1, long rows: block b sums chunk (b % splits) of row (b / splits) into out[b], so out is
// [rows, splits] with splits = ceil(len / chunk).
extern "C" __global__ void reduce_rows_block(const float* in, float* out, int rows, int len, int chunk) {
    int splits = (len + chunk - 1) / chunk;
    int row = blockIdx.x / splits, split = blockIdx.x - row * splits;
    const float* r = in + (long long)row * len;
    int begin = split * chunk;
    int end = min(len, begin + chunk);
    int bs = blockDim.x;
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0;
    if ((len & 3) == 0 && (chunk & 3) == 0 && aligned16(in)) {
        // 16-byte loads: the chunk's bounds are multiples of 4 floats and every row starts aligned.
        const float4* r4 = reinterpret_cast<const float4*>(r);
        for (int j = (begin >> 2) + threadIdx.x; j < (end >> 2); j += bs) {
            float4 v = r4[j];
            a0 += v.x;
            a1 += v.y;
            a2 += v.z;
            a3 += v.w;
        }
    } else {
        int j = begin + threadIdx.x;
        for (; j + 3 * bs < end; j += 4 * bs) {  // four loads in flight per thread
            a0 += r[j];
            a1 += r[j + bs];
            a2 += r[j + 2 * bs];
            a3 += r[j + 3 * bs];
        }
        for (; j < end; j += bs) a0 += r[j];
    }
    double total = block_sum((a0 + a1) + (a2 + a3));
    if (threadIdx.x == 0) out[blockIdx.x] = (float)total;
}

// inner >= 1: thread per (o, i) of blockIdx.y's chunk of len; reads coalesced along inner.
// out is [outer, gridDim.y, inner].
extern "C" __global__ void reduce_cols(const float* in, float* out, int outer, int len, int inner, int chunk) {
    int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= outer * inner) return;
    int o = idx / inner, i = idx - o * inner;
    int split = blockIdx.y, splits = gridDim.y;
    int begin = split * chunk;
    int end = min(len, begin + chunk);
    const float* p = in + ((long long)o * len) * inner + i;
    double a0 = 0.0, a1 = 0.0;
    int r = begin;
    for (; r + 1 < end; r += 2) {
        a0 += p[(long long)r * inner];
        a1 += p[(long long)(r + 1) * inner];
    }
    if (r < end) a0 += p[(long long)r * inner];
    out[((long long)o * splits + split) * inner + i] = (float)(a0 + a1);
}
