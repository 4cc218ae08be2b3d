/* A stand-in for libcublas.so.13 on machines without a GPU: the cuBLAS entry points the backend calls,
 * computed naively on host memory (the emulated device's memory), with cuBLAS's argument checks, so the
 * backend's FFM bindings and its row-major to column-major mapping are exercised by the CPU tests. */
#include <stdlib.h>

typedef struct { int math; void* stream; } Handle;

enum { OK = 0, NOT_INITIALIZED = 1, INVALID_VALUE = 7 };

int cublasCreate_v2(void** handle) { *handle = calloc(1, sizeof(Handle)); return OK; }
int cublasSetStream_v2(void* h, void* stream) { ((Handle*)h)->stream = stream; return OK; }
int cublasGetVersion_v2(void* h, int* version) { (void)h; *version = 130001; return OK; }
int cublasSetMathMode(void* h, int mode) { ((Handle*)h)->math = mode; return OK; }

static int gemm(void* h, int ta, int tb, int m, int n, int k, const float* alpha, const float* A, int lda,
                const float* B, int ldb, const float* beta, float* C, int ldc) {
    if (h == NULL || ((Handle*)h)->stream == NULL) return NOT_INITIALIZED;
    if (m < 0 || n < 0 || k < 0) return INVALID_VALUE;
    if (lda < (ta ? (k > 1 ? k : 1) : (m > 1 ? m : 1))) return INVALID_VALUE;
    if (ldb < (tb ? (n > 1 ? n : 1) : (k > 1 ? k : 1))) return INVALID_VALUE;
    if (ldc < (m > 1 ? m : 1)) return INVALID_VALUE;
    for (int j = 0; j < n; ++j)
        for (int i = 0; i < m; ++i) {
            double s = 0;
            for (int p = 0; p < k; ++p) {
                float a = ta ? A[p + (long)i * lda] : A[i + (long)p * lda];
                float b = tb ? B[j + (long)p * ldb] : B[p + (long)j * ldb];
                s += (double)a * b;
            }
            float* c = C + i + (long)j * ldc;
            *c = *beta == 0.0f ? (float)(*alpha * s) : (float)(*alpha * s + *beta * (double)*c);
        }
    return OK;
}

int cublasSgemm_v2(void* h, int ta, int tb, int m, int n, int k, const float* alpha, const float* A, int lda,
                   const float* B, int ldb, const float* beta, float* C, int ldc) {
    return gemm(h, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

int cublasSgemmStridedBatched(void* h, int ta, int tb, int m, int n, int k, const float* alpha, const float* A, int lda,
                              long long strideA, const float* B, int ldb, long long strideB, const float* beta,
                              float* C, int ldc, long long strideC, int batch) {
    if (batch < 0) return INVALID_VALUE;
    for (int i = 0; i < batch; ++i) {
        int rc = gemm(h, ta, tb, m, n, k, alpha, A + i * strideA, lda, B + i * strideB, ldb, beta, C + i * strideC, ldc);
        if (rc != OK) return rc;
    }
    return OK;
}
