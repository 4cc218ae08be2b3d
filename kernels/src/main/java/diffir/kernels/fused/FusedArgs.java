package diffir.kernels.fused;

import diffir.engine.Shapes;
import diffir.engine.Tensor;

import java.util.Arrays;

/** Argument checks and small helpers shared by the fused kernels' glue: one clear message per mistake. */
final class FusedArgs {
    private FusedArgs() {}

    /** Largest grid y or z extent CUDA accepts. */
    static final int MAX_GRID_YZ = 65535;

    /** The (N, C, H, W) of a rank-4 tensor. */
    static int[] nchw(String what, Tensor t) {
        if (t == null) throw new IllegalArgumentException(what + " is null");
        if (t.rank() != 4) throw new IllegalArgumentException(what + " must be NCHW (rank 4), got " + Shapes.str(t.shape()));
        return t.shape();
    }

    /** Fails unless t (when non-null) has exactly the given shape. */
    static void shape(String what, Tensor t, int... expected) {
        if (t == null) return;
        if (!Arrays.equals(t.shape(), expected))
            throw new IllegalArgumentException(what + " has shape " + Shapes.str(t.shape()) + ", expected " + Shapes.str(expected));
    }

    /** Fails unless t is non-null and has exactly the given shape. */
    static void required(String what, Tensor t, int... expected) {
        if (t == null) throw new IllegalArgumentException(what + " is null");
        shape(what, t, expected);
    }

    static void gridLimit(String what, long extent) {
        if (extent > MAX_GRID_YZ)
            throw new IllegalArgumentException(what + " of " + extent + " exceeds the CUDA grid limit of " + MAX_GRID_YZ);
    }

    /**
     * True when 16-byte vector accesses are safe: rows of {@code rowLength} floats keep a multiple of 4,
     * and every tensor's offset is a multiple of 4 floats (device allocations themselves are aligned).
     */
    static boolean vectorizable(int rowLength, Tensor... tensors) {
        if (rowLength % 4 != 0) return false;
        for (Tensor t : tensors) if (t != null && t.offset() % 4 != 0) return false;
        return true;
    }

    /** A flat view of t starting {@code offset} floats in, to the end of t (no copy). */
    static Tensor tail(Tensor t, long offset) {
        long rest = t.numel() - offset;
        if (offset < 0 || rest < 0) throw new IllegalArgumentException("view at " + offset + " outside " + Shapes.str(t.shape()));
        return new Tensor(new int[]{Math.toIntExact(rest)}, t.storage(), t.offset() + offset, t.device());
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }
}
