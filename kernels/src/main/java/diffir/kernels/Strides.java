package diffir.kernels;

import diffir.engine.Shapes;

import java.util.Arrays;

/**
 * An index space walked with two stride sets, collapsed to as few axes as the layout allows (size-1
 * axes dropped, axes merged where both stride sets are contiguous across them), packed as the
 * kernels' {@code Strides2} struct: {rank, n, shape[8], s0[8], s1[8]} as 26 ints.
 */
final class Strides {
    static final int MAX_RANK = 8;

    final int[] shape;
    final long[] s0, s1;

    private Strides(int[] shape, long[] s0, long[] s1) {
        this.shape = shape;
        this.s0 = s0;
        this.s1 = s1;
    }

    static Strides collapse(int[] shape, long[] s0, long[] s1) {
        int r = shape.length;
        int[] sh = new int[r];
        long[] a = new long[r], b = new long[r];
        int n = 0;
        for (int i = 0; i < r; i++) {
            if (shape[i] == 1) continue;
            if (n > 0 && a[n - 1] == s0[i] * shape[i] && b[n - 1] == s1[i] * shape[i]) {
                sh[n - 1] *= shape[i];
                a[n - 1] = s0[i];
                b[n - 1] = s1[i];
            } else {
                sh[n] = shape[i];
                a[n] = s0[i];
                b[n] = s1[i];
                n++;
            }
        }
        if (n == 0) return new Strides(new int[]{1}, new long[]{0}, new long[]{0});
        return new Strides(Arrays.copyOf(sh, n), Arrays.copyOf(a, n), Arrays.copyOf(b, n));
    }

    int rank() {
        return shape.length;
    }

    long numel() {
        return Shapes.numel(shape);
    }

    /** True when both stride sets walk memory contiguously in index order. */
    boolean contiguous() {
        return rank() == 1 && s0[0] == 1 && s1[0] == 1;
    }

    /** The kernel struct; fails clearly beyond rank 8 or 32-bit offsets. */
    int[] pack(String what) {
        int r = rank();
        if (r > MAX_RANK)
            throw new IllegalArgumentException(what + ": index space " + Arrays.toString(shape) + " has more than "
                    + MAX_RANK + " non-mergeable axes");
        int[] out = new int[2 + 3 * MAX_RANK];
        out[0] = r;
        out[1] = Math.toIntExact(numel());
        for (int i = 0; i < r; i++) {
            out[2 + i] = shape[i];
            out[2 + MAX_RANK + i] = Math.toIntExact(s0[i]);
            out[2 + 2 * MAX_RANK + i] = Math.toIntExact(s1[i]);
        }
        return out;
    }
}
