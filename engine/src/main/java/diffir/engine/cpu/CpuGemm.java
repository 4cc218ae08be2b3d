package diffir.engine.cpu;

import diffir.engine.Shapes;
import diffir.engine.Tensor;

import static diffir.engine.cpu.CpuBackend.data;

/** Batched {@code out = alpha * op(a) op(b) + beta * out} on CPU tensors, through {@link Sgemm}. */
final class CpuGemm {
    private CpuGemm() {}

    static void matmul(Tensor a, Tensor b, Tensor out, boolean transA, boolean transB, float alpha, float beta) {
        int[] as = a.shape(), bs = b.shape(), os = out.shape();
        if (as.length < 2 || bs.length < 2 || os.length < 2)
            throw new IllegalArgumentException("matmul needs rank >= 2, got a " + Shapes.str(as) + ", b " + Shapes.str(bs) + ", out " + Shapes.str(os));
        int m = transA ? as[as.length - 1] : as[as.length - 2];
        int k = transA ? as[as.length - 2] : as[as.length - 1];
        int kb = transB ? bs[bs.length - 1] : bs[bs.length - 2];
        int n = transB ? bs[bs.length - 2] : bs[bs.length - 1];
        if (k != kb || os[os.length - 2] != m || os[os.length - 1] != n)
            throw new IllegalArgumentException("matmul shapes do not fit: a " + Shapes.str(as) + (transA ? "^T" : "")
                    + " @ b " + Shapes.str(bs) + (transB ? "^T" : "") + " -> out " + Shapes.str(os));
        long batch = batchOf(os), batchA = batchOf(as), batchB = batchOf(bs);
        if ((batchA != batch && batchA != 1) || (batchB != batch && batchB != 1))
            throw new IllegalArgumentException("matmul batch sizes differ: a " + Shapes.str(as) + ", b " + Shapes.str(bs)
                    + ", out " + Shapes.str(os) + " (each operand's batch must be out's or 1)");
        // Operands are indexed (k, j): j is A's row and B's column.
        DenseOperand ga = new DenseOperand(data(a), BatchOffsets.of(a.offset(), batchA == 1 ? 0 : (long) m * k),
                transA ? m : 1, transA ? 1 : k);
        DenseOperand gb = new DenseOperand(data(b), BatchOffsets.of(b.offset(), batchB == 1 ? 0 : (long) k * n),
                transB ? 1 : n, transB ? k : 1);
        Sgemm.gemm(Math.toIntExact(batch), m, n, k, ga, gb, alpha, beta,
                data(out), BatchOffsets.of(out.offset(), (long) m * n), n);
    }

    private static long batchOf(int[] shape) {
        long b = 1;
        for (int i = 0; i < shape.length - 2; i++) b *= shape[i];
        return b;
    }
}
