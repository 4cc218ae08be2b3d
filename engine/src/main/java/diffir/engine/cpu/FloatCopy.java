package diffir.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * Short copies and fills, the bulk of GEMM packing (runs of a few dozen floats): whole vectors, then
 * one masked vector, where System.arraycopy and Arrays.fill spend more on their call than on the data.
 */
final class FloatCopy {
    private FloatCopy() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int V = S.length();
    /** Above this length the library calls win. */
    private static final int SHORT = 64;

    static void copy(float[] src, int s, float[] dst, int d, int n) {
        if (n > SHORT) {
            System.arraycopy(src, s, dst, d, n);
            return;
        }
        int i = 0;
        for (; i <= n - V; i += V) FloatVector.fromArray(S, src, s + i).intoArray(dst, d + i);
        if (i == n) return;
        // A masked vector whose full width would run past either array's end takes the Vector API's
        // lane-by-lane checking path (slower than scalars); packed panels end exactly at such ends.
        if (s + i + V <= src.length && d + i + V <= dst.length) {
            VectorMask<Float> m = S.indexInRange(i, n);
            FloatVector.fromArray(S, src, s + i, m).intoArray(dst, d + i, m);
        } else {
            for (; i < n; i++) dst[d + i] = src[s + i];
        }
    }

    static void zero(float[] dst, int d, int n) {
        if (n > SHORT) {
            Arrays.fill(dst, d, d + n, 0f);
            return;
        }
        FloatVector z = FloatVector.zero(S);
        int i = 0;
        for (; i <= n - V; i += V) z.intoArray(dst, d + i);
        if (i == n) return;
        if (d + i + V <= dst.length) z.intoArray(dst, d + i, S.indexInRange(i, n));
        else for (; i < n; i++) dst[d + i] = 0f;
    }
}
