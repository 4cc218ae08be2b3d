package diffir.engine.ops;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;

/** Batched matrix product with optional transposes; batch axes are equal or one operand is unbatched. */
final class MatMul {
    private MatMul() {}

    static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        Elementwise.checkSameDevice(a, b);
        int[] as = a.shape(), bs = b.shape();
        if (as.length < 2 || bs.length < 2)
            throw new IllegalArgumentException("matmul needs rank >= 2, got " + Shapes.str(as) + " and " + Shapes.str(bs));
        int m = transA ? as[as.length - 1] : as[as.length - 2];
        int ka = transA ? as[as.length - 2] : as[as.length - 1];
        int kb = transB ? bs[bs.length - 1] : bs[bs.length - 2];
        int n = transB ? bs[bs.length - 2] : bs[bs.length - 1];
        if (ka != kb) throw new IllegalArgumentException("matmul inner sizes differ: " + Shapes.str(as) + " @ " + Shapes.str(bs));
        long batchA = a.numel() / ((long) as[as.length - 1] * as[as.length - 2]);
        long batchB = b.numel() / ((long) bs[bs.length - 1] * bs[bs.length - 2]);
        int[] lead = as.length >= bs.length ? as : bs;
        if (batchA != batchB && batchA != 1 && batchB != 1)
            throw new IllegalArgumentException("matmul batch axes differ: " + Shapes.str(as) + " @ " + Shapes.str(bs));
        if (batchA == 1 && batchB != 1) lead = bs;
        int[] outShape = lead.clone();
        outShape[outShape.length - 2] = m;
        outShape[outShape.length - 1] = n;
        Tensor out = Tensor.empty(a.device(), outShape);
        a.backend().matmul(a, b, out, transA, transB, 1f, 0f);
        return Autograd.record("matmul", out, new Tensor[]{a, b}, g -> new Tensor[]{
                Autograd.wants(a) ? gradA(g, a, b, transA, transB, batchA) : null,
                Autograd.wants(b) ? gradB(g, a, b, transA, transB, batchB) : null});
    }

    // out = A B with A = op(a), B = op(b).  dA = g B^T, dB = A^T g.

    private static Tensor gradA(Tensor g, Tensor a, Tensor b, boolean transA, boolean transB, long batchA) {
        long batchG = g.numel() / ((long) g.dim(-1) * g.dim(-2));
        if (batchA == 1 && batchG != 1) {
            // a shared by every batch: dA = sum over batch; computed batched then summed.
            Tensor full = gradAFull(g, b, transA, transB);
            int[] s = full.shape();
            Tensor flat = full.reshapeView(-1, s[s.length - 2], s[s.length - 1]);
            Tensor summed = Tensor.empty(g.device(), 1, s[s.length - 2], s[s.length - 1]);
            g.backend().sum(flat, summed);
            return summed.reshapeView(a.shape());
        }
        return gradAFull(g, b, transA, transB).reshapeView(a.shape());
    }

    private static Tensor gradAFull(Tensor g, Tensor b, boolean transA, boolean transB) {
        // transA: a holds A^T, so da = (g B^T)^T = B g^T.
        Tensor out;
        if (!transA) {
            out = raw(g, b, false, !transB);
        } else {
            out = raw(b, g, transB, true);
        }
        return out;
    }

    private static Tensor gradB(Tensor g, Tensor a, Tensor b, boolean transA, boolean transB, long batchB) {
        long batchG = g.numel() / ((long) g.dim(-1) * g.dim(-2));
        long batchA = a.numel() / ((long) a.dim(-1) * a.dim(-2));
        if (batchB == 1 && batchG != 1 && batchA == batchG && !transA) {
            // Shared b (a weight): fold the batch into the rows, one GEMM. a [B,M,K] -> [B*M, K].
            Tensor a2 = a.reshapeView(-1, a.dim(-1));
            Tensor g2 = g.reshapeView(-1, g.dim(-1));
            return (transB ? raw(g2, a2, true, false) : raw(a2, g2, true, false)).reshapeView(b.shape());
        }
        Tensor full = transB ? raw(g, a, true, transA) : raw(a, g, !transA, false);
        if (batchB == 1 && batchG != 1) {
            int[] s = full.shape();
            Tensor flat = full.reshapeView(-1, s[s.length - 2], s[s.length - 1]);
            Tensor summed = Tensor.empty(g.device(), 1, s[s.length - 2], s[s.length - 1]);
            g.backend().sum(flat, summed);
            return summed.reshapeView(b.shape());
        }
        return full.reshapeView(b.shape());
    }

    /** op(x) op(y) without autograd. */
    private static Tensor raw(Tensor x, Tensor y, boolean tx, boolean ty) {
        try (var s = Autograd.noGrad()) {
            return matmul(x, y, tx, ty);
        }
    }
}
