package diffir.engine;

import java.util.Arrays;

/** Helpers on shapes held as {@code int[]} (row-major, contiguous). */
public final class Shapes {
    private Shapes() {}

    public static long numel(int[] shape) {
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + str(shape));
            n *= d;
        }
        return n;
    }

    /** Contiguous row-major strides, in elements. */
    public static long[] strides(int[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    /** NumPy broadcasting of two shapes; throws with both shapes named if they do not broadcast. */
    public static int[] broadcast(int[] a, int[] b) {
        int r = Math.max(a.length, b.length);
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i < r - a.length ? 1 : a[i - (r - a.length)];
            int db = i < r - b.length ? 1 : b[i - (r - b.length)];
            if (da != db && da != 1 && db != 1)
                throw new IllegalArgumentException("shapes " + str(a) + " and " + str(b) + " do not broadcast");
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /**
     * Strides that read {@code shape} (right-aligned) as if broadcast to {@code target}: size-1 and
     * missing leading axes get stride 0.
     */
    public static long[] broadcastStrides(int[] shape, int[] target) {
        long[] own = strides(shape);
        long[] out = new long[target.length];
        int off = target.length - shape.length;
        for (int i = 0; i < target.length; i++) {
            int j = i - off;
            out[i] = (j < 0 || shape[j] == 1) ? 0 : own[j];
        }
        return out;
    }

    /** Normalises a possibly negative axis against a rank. */
    public static int axis(int axis, int rank) {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new IllegalArgumentException("axis " + axis + " out of range for rank " + rank);
        return a;
    }

    public static boolean same(int[] a, int[] b) {
        return Arrays.equals(a, b);
    }

    public static String str(int[] shape) {
        return Arrays.toString(shape);
    }

    /** Resolves one {@code -1} in a reshape target against a known element count. */
    public static int[] inferReshape(int[] target, long numel) {
        int[] out = target.clone();
        int unknown = -1;
        long known = 1;
        for (int i = 0; i < out.length; i++) {
            if (out[i] == -1) {
                if (unknown >= 0) throw new IllegalArgumentException("reshape " + str(target) + " has more than one -1");
                unknown = i;
            } else {
                known *= out[i];
            }
        }
        if (unknown >= 0) {
            if (known == 0 || numel % known != 0)
                throw new IllegalArgumentException("cannot reshape " + numel + " elements to " + str(target));
            out[unknown] = (int) (numel / known);
        }
        if (numel(out) != numel)
            throw new IllegalArgumentException("cannot reshape " + numel + " elements to " + str(target));
        return out;
    }
}
