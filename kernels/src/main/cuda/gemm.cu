// Fallback SGEMM for machines without cuBLAS (and the CPU emulator the tests use): row-major
// C = alpha op(A) op(B) + beta C, batched through blockIdx.z with element strides (0 = shared operand).
// 64x64 tiles, K in steps of 16, 256 threads each computing a 4x4 block of C.
#include "common.cuh"

#define BM 64
#define BN 64
#define BK 16

extern "C" __global__ void __launch_bounds__(256) gemm_f32(int transA, int transB, int M, int N, int K, float alpha,
                                                           const float* A, int lda, long long strideA,
                                                           const float* B, int ldb, long long strideB, float beta,
                                                           float* C, int ldc, long long strideC) {
    __shared__ float As[BK][BM + 4];
    __shared__ float Bs[BK][BN + 4];
    A += blockIdx.z * strideA;
    B += blockIdx.z * strideB;
    C += blockIdx.z * strideC;
    int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    int tid = threadIdx.x, tx = tid & 15, ty = tid >> 4;
    float acc[4][4];
#pragma unroll
    for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int c = 0; c < 4; ++c) acc[r][c] = 0.0f;

    for (int k0 = 0; k0 < K; k0 += BK) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            int idx = tid + e * 256;
            // A tile (BM x BK): walk along A's contiguous axis so loads coalesce.
            int am, ak;
            if (transA) { am = idx % BM; ak = idx / BM; } else { ak = idx % BK; am = idx / BK; }
            int gm = m0 + am, gk = k0 + ak;
            float av = 0.0f;
            if (gm < M && gk < K) av = transA ? A[(long long)gk * lda + gm] : A[(long long)gm * lda + gk];
            As[ak][am] = av;
            int bn, bk;
            if (transB) { bk = idx % BK; bn = idx / BK; } else { bn = idx % BN; bk = idx / BN; }
            int gn = n0 + bn;
            gk = k0 + bk;
            float bv = 0.0f;
            if (gn < N && gk < K) bv = transB ? B[(long long)gn * ldb + gk] : B[(long long)gk * ldb + gn];
            Bs[bk][bn] = bv;
        }
        __syncthreads();
#pragma unroll
        for (int k = 0; k < BK; ++k) {
            float a[4], b[4];
#pragma unroll
            for (int r = 0; r < 4; ++r) a[r] = As[k][ty + 16 * r];
#pragma unroll
            for (int c = 0; c < 4; ++c) b[c] = Bs[k][tx + 16 * c];
#pragma unroll
            for (int r = 0; r < 4; ++r)
#pragma unroll
                for (int c = 0; c < 4; ++c) acc[r][c] = fmaf(a[r], b[c], acc[r][c]);
        }
        __syncthreads();
    }
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        int gm = m0 + ty + 16 * r;
        if (gm >= M) continue;
#pragma unroll
        for (int c = 0; c < 4; ++c) {
            int gn = n0 + tx + 16 * c;
            if (gn >= N) continue;
            float* out = C + (long long)gm * ldc + gn;
            // beta == 0 must ignore C entirely (it may hold NaN).
            *out = beta == 0.0f ? alpha * acc[r][c] : alpha * acc[r][c] + beta * *out;
        }
    }
}
