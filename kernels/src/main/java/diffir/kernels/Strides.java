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

    /**
     * True when the last axis can be walked four elements at a time: its length is a multiple of 4
     * and it is contiguous in stride set 1 (the destination, or the output's side), whose rows then
     * start 16-byte aligned when every leading stride is a multiple of 4 and the base is aligned.
     */
    boolean rowsOf4(long base1) {
        int r = rank();
        if (shape[r - 1] % 4 != 0 || s1[r - 1] != 1 || base1 % 16 != 0) return false;
        return leadingMultiplesOf4(s1);
    }

    /** True when stride set 0 reads the last axis contiguously with 16-byte aligned row starts. */
    boolean rowsOf4Aligned0(long base0) {
        return s0[rank() - 1] == 1 && base0 % 16 == 0 && leadingMultiplesOf4(s0);
    }

    private boolean leadingMultiplesOf4(long[] strides) {
        for (int i = 0; i < rank() - 1; i++) if (strides[i] % 4 != 0) return false;
        return true;
    }

    /** The leading axes (all but the last) as a kernel struct: the rows of a rows-of-4 walk. */
    int[] packRows(String what) {
        int r = rank() - 1;
        return new Strides(Arrays.copyOf(shape, r), Arrays.copyOf(s0, r), Arrays.copyOf(s1, r)).packAny(what);
    }

    /** Elements in one row of a rows-of-4 walk. */
    int rowLength() {
        return shape[rank() - 1];
    }

    /** Rows of a rows-of-4 walk. */
    long rows() {
        return numel() / rowLength();
    }

    /** The kernel struct; fails clearly beyond rank 8 or 32-bit offsets. */
    int[] pack(String what) {
        return packAny(what);
    }

    private int[] packAny(String what) {
        int r = rank();
        if (r > MAX_RANK)
            throw new IllegalArgumentException(what + ": index space " + Arrays.toString(shape) + " has more than "
                    + MAX_RANK + " non-mergeable axes");
        int[] out = new int[2 + 3 * MAX_RANK];
        out[0] = r;
        out[1] = Math.toIntExact(r == 0 ? 1 : numel());
        for (int i = 0; i < r; i++) {
            out[2 + i] = shape[i];
            out[2 + MAX_RANK + i] = Math.toIntExact(s0[i]);
            out[2 + 2 * MAX_RANK + i] = Math.toIntExact(s1[i]);
        }
        return out;
    }
}
