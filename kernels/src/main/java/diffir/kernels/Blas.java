package diffir.kernels;

/** Strided-batched SGEMM on the device's stream (cuBLAS's column-major convention). */
public interface Blas {
    String describe();

    /**
     * {@code C_i = alpha * op(A_i) op(B_i) + beta * C_i} for i < batch, column-major, with
     * {@code X_i = x + i * strideX} (addresses in bytes, strides in elements; stride 0 shares an operand).
     * With beta 0, C is not read.
     */
    void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
               long a, int lda, long strideA, long b, int ldb, long strideB,
               float beta, long c, int ldc, long strideC, int batch);

    /** Allows TF32 tensor-core math (about 10 mantissa bits); off by default. */
    void setTf32(boolean enabled);

    boolean tf32();
}
