package diffir.kernels;

import diffir.engine.Shapes;
import diffir.engine.Tensor;

import java.lang.ref.Reference;

/**
 * Matrix products: {@link diffir.engine.backend.Backend#matmul} and the row-major GEMM the convolution
 * glue builds on. cuBLAS when the machine has it (its column-major call computes C^T = op(B)^T op(A)^T,
 * which is row-major C), else the gemm_f32 kernel.
 */
final class GemmKernels {
    private GemmKernels() {}

    static void matmul(CudaBackend b, Tensor a, Tensor c, Tensor out, boolean transA, boolean transB, float alpha, float beta) {
        int[] as = a.shape(), bs = c.shape(), os = out.shape();
        if (as.length < 2 || bs.length < 2 || os.length < 2)
            throw new IllegalArgumentException("matmul needs rank >= 2, got " + Shapes.str(as) + ", " + Shapes.str(bs) + " -> " + Shapes.str(os));
        int m = os[os.length - 2], n = os[os.length - 1];
        int am = transA ? as[as.length - 1] : as[as.length - 2], k = transA ? as[as.length - 2] : as[as.length - 1];
        int bk = transB ? bs[bs.length - 1] : bs[bs.length - 2], bn = transB ? bs[bs.length - 2] : bs[bs.length - 1];
        if (am != m || bn != n || bk != k)
            throw new IllegalArgumentException("matmul: " + Shapes.str(as) + (transA ? "^T" : "") + " @ " + Shapes.str(bs)
                    + (transB ? "^T" : "") + " does not give " + Shapes.str(os));
        long batch = out.numel() / Math.max(1L, (long) m * n);
        long batchA = a.numel() / Math.max(1L, (long) m * k), batchB = c.numel() / Math.max(1L, (long) k * n);
        if ((batchA != batch && batchA != 1) || (batchB != batch && batchB != 1))
            throw new IllegalArgumentException("matmul batch axes: " + Shapes.str(as) + " @ " + Shapes.str(bs) + " -> " + Shapes.str(os));
        if (m == 0 || n == 0 || batch == 0) return;
        if (k == 0) { // empty sum: C = beta C
            if (beta == 0) b.fill(out, 0f);
            else ElementwiseKernels.scalar(b, diffir.engine.backend.ScalarOp.MUL, out, beta, out);
            return;
        }
        long sa = batchA == 1 ? 0 : (long) m * k, sb = batchB == 1 ? 0 : (long) k * n;
        int lda = transA ? m : k, ldb = transB ? k : n;
        if (batch > 1 && batchA == batch && batchB == 1 && !transA) {
            // A shared right operand (a weight): the batch folds into the rows of one GEMM.
            gemm(b, false, transB, Math.toIntExact(batch * m), n, k, alpha, b.ptr(a), lda, 0, b.ptr(c), ldb, 0,
                    beta, b.ptr(out), n, 0, 1);
        } else {
            gemm(b, transA, transB, m, n, k, alpha, b.ptr(a), lda, sa, b.ptr(c), ldb, sb,
                    beta, b.ptr(out), n, (long) m * n, Math.toIntExact(batch));
        }
        Reference.reachabilityFence(a);
        Reference.reachabilityFence(c);
        Reference.reachabilityFence(out);
    }

    /**
     * Row-major {@code C_i = alpha op(A_i) op(B_i) + beta C_i}, i < batch, on raw device addresses
     * (bytes) with leading dimensions and batch strides in elements. The caller keeps the memory alive.
     */
    static void gemm(CudaBackend b, boolean transA, boolean transB, int m, int n, int k, float alpha,
                     long a, int lda, long strideA, long c, int ldb, long strideB,
                     float beta, long out, int ldc, long strideC, int batch) {
        Blas blas = b.blas();
        if (blas != null) {
            // Column-major view: C^T (n x m) = op(B)^T (n x k) op(A)^T (k x m).
            blas.sgemm(transB, transA, n, m, k, alpha, c, ldb, strideB, a, lda, strideA, beta, out, ldc, strideC, batch);
            return;
        }
        for (int done = 0; done < batch; done += 65535) { // gridDim.z limit
            int part = Math.min(65535, batch - done);
            b.launch("gemm_f32", Dim3.of(Dim3.blocks(n, 64), Dim3.blocks(m, 64), part), CudaBackend.block(), 0,
                    transA ? 1 : 0, transB ? 1 : 0, m, n, k, alpha,
                    new Ptr(a + 4 * strideA * done), lda, strideA, new Ptr(c + 4 * strideB * done), ldb, strideB,
                    beta, new Ptr(out + 4 * strideC * done), ldc, strideC);
        }
    }
}
