package diffir.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static diffir.engine.cpu.RowKernels.S;
import static diffir.engine.cpu.RowKernels.VL;

/**
 * Products of a few long rows, the shape of MDTA's transposed attention: rows are channels of one
 * image (stride H*W apart), the dimension summed or swept is the pixel range [p0, p1). Both kernels
 * tile the pixel range so a tile of every row stays in cache while it is reused, and block rows so
 * each loaded vector feeds several FMAs.
 */
final class RowProducts {
    private RowProducts() {}

    /** Pixels per tile: 48 rows of 256 floats (48 KB) stay in L1/L2 while all row blocks reuse them. */
    private static final int TILE = 256;

    /**
     * Gram block: {@code out[oo + i*n + j] += sum_{p in [p0,p1)} a[ab + i*stride + p] * b[bb + j*stride + p]}
     * for i < m, j < n. Sums run in float over one tile and in double across tiles.
     */
    static void gram(float[] a, int ab, int m, float[] b, int bb, int n, int stride, int p0, int p1, double[] out, int oo) {
        for (int t0 = p0; t0 < p1; t0 += TILE) {
            int t1 = Math.min(p1, t0 + TILE);
            // 2 rows of a by 4 rows of b: 6 loads feed 8 FMAs. Missing rows at the edges repeat the
            // last row; their sums are computed but not added.
            for (int i = 0; i < m; i += 2) {
                int i1 = Math.min(i + 1, m - 1);
                int ra0 = ab + i * stride, ra1 = ab + i1 * stride;
                for (int j = 0; j < n; j += 4) {
                    int rb0 = bb + j * stride, rb1 = bb + Math.min(j + 1, n - 1) * stride;
                    int rb2 = bb + Math.min(j + 2, n - 1) * stride, rb3 = bb + Math.min(j + 3, n - 1) * stride;
                    FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00;
                    FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
                    int p = t0;
                    for (; p <= t1 - VL; p += VL) {
                        FloatVector a0 = FloatVector.fromArray(S, a, ra0 + p), a1 = FloatVector.fromArray(S, a, ra1 + p);
                        FloatVector b0 = FloatVector.fromArray(S, b, rb0 + p), b1 = FloatVector.fromArray(S, b, rb1 + p);
                        FloatVector b2 = FloatVector.fromArray(S, b, rb2 + p), b3 = FloatVector.fromArray(S, b, rb3 + p);
                        c00 = a0.fma(b0, c00);
                        c01 = a0.fma(b1, c01);
                        c02 = a0.fma(b2, c02);
                        c03 = a0.fma(b3, c03);
                        c10 = a1.fma(b0, c10);
                        c11 = a1.fma(b1, c11);
                        c12 = a1.fma(b2, c12);
                        c13 = a1.fma(b3, c13);
                    }
                    int o0 = oo + i * n + j, o1 = o0 + n;
                    boolean row1 = i + 1 < m;
                    out[o0] += c00.reduceLanes(VectorOperators.ADD) + tail(a, ra0, b, rb0, p, t1);
                    if (row1) out[o1] += c10.reduceLanes(VectorOperators.ADD) + tail(a, ra1, b, rb0, p, t1);
                    if (j + 1 < n) {
                        out[o0 + 1] += c01.reduceLanes(VectorOperators.ADD) + tail(a, ra0, b, rb1, p, t1);
                        if (row1) out[o1 + 1] += c11.reduceLanes(VectorOperators.ADD) + tail(a, ra1, b, rb1, p, t1);
                    }
                    if (j + 2 < n) {
                        out[o0 + 2] += c02.reduceLanes(VectorOperators.ADD) + tail(a, ra0, b, rb2, p, t1);
                        if (row1) out[o1 + 2] += c12.reduceLanes(VectorOperators.ADD) + tail(a, ra1, b, rb2, p, t1);
                    }
                    if (j + 3 < n) {
                        out[o0 + 3] += c03.reduceLanes(VectorOperators.ADD) + tail(a, ra0, b, rb3, p, t1);
                        if (row1) out[o1 + 3] += c13.reduceLanes(VectorOperators.ADD) + tail(a, ra1, b, rb3, p, t1);
                    }
                }
            }
        }
    }

    private static float tail(float[] a, int ra, float[] b, int rb, int p, int end) {
        float s = 0;
        for (; p < end; p++) s += a[ra + p] * b[rb + p];
        return s;
    }

    /**
     * Linear combination of rows: for i < m and p in [p0, p1),
     * {@code dst[db + i*stride + p] = sum_{j<n} coef[co + i*n + j] * src[sb + j*stride + p]}
     * {@code + selfCoef[sco + i] * self[selfB + i*stride + p]} (the last term only when self is non-null).
     * dst must not overlap src or self.
     */
    static void combine(float[] coef, int co, int n, float[] src, int sb,
                        float[] selfCoef, int sco, float[] self, int selfB,
                        float[] dst, int db, int m, int stride, int p0, int p1) {
        for (int t0 = p0; t0 < p1; t0 += TILE) {
            int t1 = Math.min(p1, t0 + TILE);
            // 4 output rows at once: each loaded src vector feeds 4 FMAs. At the edge the last row
            // repeats; it computes and stores the same values twice.
            for (int i = 0; i < m; i += 4) {
                int i0 = i, i1 = Math.min(i + 1, m - 1), i2 = Math.min(i + 2, m - 1), i3 = Math.min(i + 3, m - 1);
                int k0 = co + i0 * n, k1 = co + i1 * n, k2 = co + i2 * n, k3 = co + i3 * n;
                int p = t0;
                for (; p <= t1 - VL; p += VL) {
                    FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
                    for (int j = 0; j < n; j++) {
                        FloatVector v = FloatVector.fromArray(S, src, sb + j * stride + p);
                        a0 = v.fma(FloatVector.broadcast(S, coef[k0 + j]), a0);
                        a1 = v.fma(FloatVector.broadcast(S, coef[k1 + j]), a1);
                        a2 = v.fma(FloatVector.broadcast(S, coef[k2 + j]), a2);
                        a3 = v.fma(FloatVector.broadcast(S, coef[k3 + j]), a3);
                    }
                    if (self != null) {
                        a0 = FloatVector.fromArray(S, self, selfB + i0 * stride + p).fma(FloatVector.broadcast(S, selfCoef[sco + i0]), a0);
                        a1 = FloatVector.fromArray(S, self, selfB + i1 * stride + p).fma(FloatVector.broadcast(S, selfCoef[sco + i1]), a1);
                        a2 = FloatVector.fromArray(S, self, selfB + i2 * stride + p).fma(FloatVector.broadcast(S, selfCoef[sco + i2]), a2);
                        a3 = FloatVector.fromArray(S, self, selfB + i3 * stride + p).fma(FloatVector.broadcast(S, selfCoef[sco + i3]), a3);
                    }
                    a0.intoArray(dst, db + i0 * stride + p);
                    a1.intoArray(dst, db + i1 * stride + p);
                    a2.intoArray(dst, db + i2 * stride + p);
                    a3.intoArray(dst, db + i3 * stride + p);
                }
                for (int r = i; r < Math.min(i + 4, m); r++) {
                    for (int q = p; q < t1; q++) {
                        float s = self == null ? 0f : selfCoef[sco + r] * self[selfB + r * stride + q];
                        for (int j = 0; j < n; j++) s += coef[co + r * n + j] * src[sb + j * stride + q];
                        dst[db + r * stride + q] = s;
                    }
                }
            }
        }
    }
}
