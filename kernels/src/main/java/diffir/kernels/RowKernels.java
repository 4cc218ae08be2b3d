package diffir.kernels;

import diffir.engine.Shapes;
import diffir.engine.Tensor;

/** Glue for rows.cu: softmax and L2 normalisation over the last axis, forward and backward. */
final class RowKernels {
    private RowKernels() {}

    /** Rows up to this length get a warp each; longer rows a 256-thread block. */
    private static final int WARP_ROW = 1024;

    static void softmax(CudaBackend b, Tensor x, boolean log, Tensor out) {
        same("softmax", x, out);
        if (x.numel() == 0) return;
        int len = x.dim(-1), rows = rows(x);
        launch(b, "softmax", rows, len, x, out, rows, len, log ? 1 : 0);
    }

    static void softmaxBackward(CudaBackend b, Tensor y, Tensor gy, boolean log, Tensor gx) {
        same("softmax backward", y, gy);
        same("softmax backward", y, gx);
        if (y.numel() == 0) return;
        int len = y.dim(-1), rows = rows(y);
        launch(b, "softmax_backward", rows, len, y, gy, gx, rows, len, log ? 1 : 0);
    }

    static void l2Normalize(CudaBackend b, Tensor x, float eps, Tensor out, Tensor norm) {
        same("l2Normalize", x, out);
        checkNorm(x, norm);
        if (x.numel() == 0) return;
        int len = x.dim(-1), rows = rows(x);
        int splits = splits(b, rows, len);
        if (splits > 1) {
            int chunk = chunk(len, splits);
            int vec = vec(len, x, out) ? 1 : 0;
            Tensor part = b.scratch(rows, splits, 2);
            b.launch("l2norm_partial", Dim3.of(splits, rows), CudaBackend.block(), 0, x, null, part, len, chunk, vec);
            b.launch("l2norm_apply", Dim3.of(splits, rows), CudaBackend.block(), 0, x, part, out, norm, len, chunk, eps, vec);
            return;
        }
        launch(b, "l2norm", rows, len, x, out, norm, rows, len, eps);
    }

    static void l2NormalizeBackward(CudaBackend b, Tensor x, Tensor norm, Tensor gy, float eps, Tensor gx) {
        same("l2Normalize backward", x, gy);
        same("l2Normalize backward", x, gx);
        checkNorm(x, norm);
        if (x.numel() == 0) return;
        int len = x.dim(-1), rows = rows(x);
        int splits = splits(b, rows, len);
        if (splits > 1) {
            int chunk = chunk(len, splits);
            int vec = vec(len, x, gy, gx) ? 1 : 0;
            Tensor part = b.scratch(rows, splits, 2);
            b.launch("l2norm_partial", Dim3.of(splits, rows), CudaBackend.block(), 0, x, gy, part, len, chunk, vec);
            b.launch("l2norm_backward_apply", Dim3.of(splits, rows), CudaBackend.block(), 0, x, norm, gy, part, gx, len, chunk, eps, vec);
            return;
        }
        launch(b, "l2norm_backward", rows, len, x, norm, gy, gx, rows, len, eps);
    }

    /** Rows at least this long, when too few to fill the device a block each, are split across blocks. */
    private static final int SPLIT_ROW = 4096;

    /** Blocks per row: 1 unless rows are long and too few for the device's resident blocks. */
    private static int splits(CudaBackend b, int rows, int len) {
        if (len < SPLIT_ROW || rows > 65535) return 1;
        long slots = (long) b.residentBlocks("l2norm_partial", CudaBackend.THREADS) * b.multiprocessors();
        if (rows >= slots) return 1;
        return (int) Math.max(1, Math.min(slots / rows, len / 2048));
    }

    /** Elements per split, a multiple of 4 (the float4 path's chunks start aligned). */
    private static int chunk(int len, int splits) {
        return ((len + splits - 1) / splits + 3) & ~3;
    }

    private static boolean vec(int len, Tensor... ts) {
        if (len % 4 != 0) return false;
        for (Tensor t : ts) if (t.offset() % 4 != 0) return false;
        return true;
    }

    private static void launch(CudaBackend b, String kernel, int rows, int len, Object... args) {
        if (len <= WARP_ROW) {
            b.launch(kernel + "_warp", Dim3.of(Dim3.blocks(rows, CudaBackend.THREADS / 32)), CudaBackend.block(), 0, args);
        } else {
            b.launch(kernel + "_block", Dim3.of(rows), CudaBackend.block(), 0, args);
        }
    }

    private static int rows(Tensor t) {
        if (t.rank() == 0) throw new IllegalArgumentException("row kernels need rank >= 1, got a scalar");
        return Math.toIntExact(t.numel() / t.dim(-1));
    }

    private static void same(String what, Tensor a, Tensor b) {
        if (!Shapes.same(a.shape(), b.shape()))
            throw new IllegalArgumentException(what + ": " + Shapes.str(a.shape()) + " and " + Shapes.str(b.shape()) + " differ");
    }

    private static void checkNorm(Tensor x, Tensor norm) {
        if (x.rank() == 0 || norm.numel() != x.numel() / Math.max(1, x.dim(-1)))
            throw new IllegalArgumentException("l2Normalize: norm " + Shapes.str(norm.shape()) + " for rows of " + Shapes.str(x.shape()));
    }
}
