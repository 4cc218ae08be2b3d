// Sums over axes. The host reduces one contiguous group of axes per pass, seen as
// [outer, len, inner] -> [outer, inner]; long reductions are split into chunks whose partial sums a
// second pass adds. Accumulation is in double (cheap on sm_80/sm_90) so results match a float64
// reference to float32 rounding whatever the length.
#include "common.cuh"

// inner == 1, short rows: one warp per row, 8 rows per 256-thread block. Rows of a multiple of 4 floats
// (aligned) are read as float4, two in flight per lane.
extern "C" __global__ void reduce_rows_warp(const float* in, float* out, int rows, int len) {
    int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    int lane = threadIdx.x & 31;
    if (row >= rows) return;  // whole warps leave together
    const float* r = in + (long long)row * len;
    double acc = 0.0, acc2 = 0.0;
    if ((len & 3) == 0 && aligned16(in)) {
        int n4 = len >> 2, j = lane;
        for (; j + 32 < n4; j += 64) {
            float4 v = ld4(r + 4 * j), u = ld4(r + 4 * (j + 32));
            acc += ((double) v.x + (double) v.y) + ((double) v.z + (double) v.w);
            acc2 += ((double) u.x + (double) u.y) + ((double) u.z + (double) u.w);
        }
        if (j < n4) {
            float4 v = ld4(r + 4 * j);
            acc += ((double) v.x + (double) v.y) + ((double) v.z + (double) v.w);
        }
    } else {
        for (int j = lane; j < len; j += 32) acc += r[j];
    }
    acc = warp_sum(acc + acc2);
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
        // 16-byte loads, four in flight per thread: the chunk's bounds are multiples of 4 floats and
        // every row starts aligned.
        const float* r0 = r + begin;
        int n4 = (end - begin) >> 2, j = threadIdx.x;
        for (; j + 3 * bs < n4; j += 4 * bs) {
            float4 v0 = ld4(r0 + 4 * j), v1 = ld4(r0 + 4 * (j + bs)), v2 = ld4(r0 + 4 * (j + 2 * bs)), v3 = ld4(r0 + 4 * (j + 3 * bs));
            a0 += (double) v0.x + (double) v1.x + (double) v2.x + (double) v3.x;
            a1 += (double) v0.y + (double) v1.y + (double) v2.y + (double) v3.y;
            a2 += (double) v0.z + (double) v1.z + (double) v2.z + (double) v3.z;
            a3 += (double) v0.w + (double) v1.w + (double) v2.w + (double) v3.w;
        }
        for (; j < n4; j += bs) {
            float4 v = ld4(r0 + 4 * j);
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
