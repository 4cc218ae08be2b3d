package diffir.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised primitives over one contiguous run of floats ({@code a[off .. off+len)}), shared by the
 * normalisation and fused kernels. Sums run in float lanes over short blocks and in double across
 * blocks, so long rows (a whole image plane) keep float32-level relative accuracy.
 */
final class RowKernels {
    private RowKernels() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int VL = S.length();
    /** Floats summed in float lanes before folding into a double. */
    private static final int BLOCK = 1024;

    static float max(float[] a, int off, int len) {
        float m = Float.NEGATIVE_INFINITY;
        int i = 0;
        if (len >= VL) {
            FloatVector acc = FloatVector.fromArray(S, a, off);
            for (i = VL; i <= len - VL; i += VL) acc = acc.max(FloatVector.fromArray(S, a, off + i));
            m = acc.reduceLanes(VectorOperators.MAX);
        }
        for (; i < len; i++) m = Math.max(m, a[off + i]);
        return m;
    }

    static double sum(float[] a, int off, int len) {
        double s = 0;
        for (int b = 0; b < len; b += BLOCK) {
            int e = Math.min(len, b + BLOCK), i = b;
            FloatVector acc = FloatVector.zero(S);
            for (; i <= e - VL; i += VL) acc = acc.add(FloatVector.fromArray(S, a, off + i));
            float t = Lanes.sum(acc);
            for (; i < e; i++) t += a[off + i];
            s += t;
        }
        return s;
    }

    /** sum a[ao+i] * b[bo+i]. */
    static double dot(float[] a, int ao, float[] b, int bo, int len) {
        double s = 0;
        for (int blk = 0; blk < len; blk += BLOCK) {
            int e = Math.min(len, blk + BLOCK), i = blk;
            // Two accumulators: independent FMA chains hide the FMA latency.
            FloatVector acc = FloatVector.zero(S), acc2 = acc;
            for (; i <= e - 2 * VL; i += 2 * VL) {
                acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
                acc2 = FloatVector.fromArray(S, a, ao + i + VL).fma(FloatVector.fromArray(S, b, bo + i + VL), acc2);
            }
            for (; i <= e - VL; i += VL)
                acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
            float t = Lanes.sum(acc.add(acc2));
            for (; i < e; i++) t += a[ao + i] * b[bo + i];
            s += t;
        }
        return s;
    }

    /** y += alpha * x. */
    static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int len) {
        FloatVector va = FloatVector.broadcast(S, alpha);
        int i = 0;
        for (; i <= len - VL; i += VL)
            FloatVector.fromArray(S, x, xo + i).fma(va, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        for (; i < len; i++) y[yo + i] += alpha * x[xo + i];
    }

    /** y += x. */
    static void add(float[] x, int xo, float[] y, int yo, int len) {
        int i = 0;
        for (; i <= len - VL; i += VL)
            FloatVector.fromArray(S, x, xo + i).add(FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        for (; i < len; i++) y[yo + i] += x[xo + i];
    }

    /** out = s * a (out may be a). */
    static void scale(float[] a, int ao, float s, float[] out, int oo, int len) {
        FloatVector vs = FloatVector.broadcast(S, s);
        int i = 0;
        for (; i <= len - VL; i += VL) FloatVector.fromArray(S, a, ao + i).mul(vs).intoArray(out, oo + i);
        for (; i < len; i++) out[oo + i] = a[ao + i] * s;
    }
}
