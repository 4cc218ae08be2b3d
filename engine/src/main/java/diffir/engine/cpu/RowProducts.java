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
                    out[o0] += Lanes.sum(c00) + tail(a, ra0, b, rb0, p, t1);
                    if (row1) out[o1] += Lanes.sum(c10) + tail(a, ra1, b, rb0, p, t1);
                    if (j + 1 < n) {
                        out[o0 + 1] += Lanes.sum(c01) + tail(a, ra0, b, rb1, p, t1);
                        if (row1) out[o1 + 1] += Lanes.sum(c11) + tail(a, ra1, b, rb1, p, t1);
                    }
                    if (j + 2 < n) {
                        out[o0 + 2] += Lanes.sum(c02) + tail(a, ra0, b, rb2, p, t1);
                        if (row1) out[o1 + 2] += Lanes.sum(c12) + tail(a, ra1, b, rb2, p, t1);
                    }
                    if (j + 3 < n) {
                        out[o0 + 3] += Lanes.sum(c03) + tail(a, ra0, b, rb3, p, t1);
                        if (row1) out[o1 + 3] += Lanes.sum(c13) + tail(a, ra1, b, rb3, p, t1);
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
                // Two vectors per row: eight independent FMA chains per loaded coefficient set.
                for (; p <= t1 - 2 * VL; p += 2 * VL) {
                    FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
                    for (int j = 0; j < n; j++) {
                        int r = sb + j * stride + p;
                        FloatVector v = FloatVector.fromArray(S, src, r), u = FloatVector.fromArray(S, src, r + VL);
                        FloatVector c0 = FloatVector.broadcast(S, coef[k0 + j]), c1 = FloatVector.broadcast(S, coef[k1 + j]);
                        FloatVector c2 = FloatVector.broadcast(S, coef[k2 + j]), c3 = FloatVector.broadcast(S, coef[k3 + j]);
                        a0 = v.fma(c0, a0);
                        b0 = u.fma(c0, b0);
                        a1 = v.fma(c1, a1);
                        b1 = u.fma(c1, b1);
                        a2 = v.fma(c2, a2);
                        b2 = u.fma(c2, b2);
                        a3 = v.fma(c3, a3);
                        b3 = u.fma(c3, b3);
                    }
                    store(a0, b0, self, selfCoef, sco, selfB, dst, db, i0, stride, p);
                    store(a1, b1, self, selfCoef, sco, selfB, dst, db, i1, stride, p);
                    store(a2, b2, self, selfCoef, sco, selfB, dst, db, i2, stride, p);
                    store(a3, b3, self, selfCoef, sco, selfB, dst, db, i3, stride, p);
                }
                for (; p <= t1 - VL; p += VL) {
                    FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
                    for (int j = 0; j < n; j++) {
                        FloatVector v = FloatVector.fromArray(S, src, sb + j * stride + p);
                        a0 = v.fma(FloatVector.broadcast(S, coef[k0 + j]), a0);
                        a1 = v.fma(FloatVector.broadcast(S, coef[k1 + j]), a1);
                        a2 = v.fma(FloatVector.broadcast(S, coef[k2 + j]), a2);
                        a3 = v.fma(FloatVector.broadcast(S, coef[k3 + j]), a3);
                    }
                    store(a0, null, self, selfCoef, sco, selfB, dst, db, i0, stride, p);
                    store(a1, null, self, selfCoef, sco, selfB, dst, db, i1, stride, p);
                    store(a2, null, self, selfCoef, sco, selfB, dst, db, i2, stride, p);
                    store(a3, null, self, selfCoef, sco, selfB, dst, db, i3, stride, p);
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

    /** Adds row i's self term (when self is non-null) to one or two vectors at p, p+VL and stores them in dst row i. */
    private static void store(FloatVector a, FloatVector b, float[] self, float[] selfCoef, int sco, int selfB,
                              float[] dst, int db, int i, int stride, int p) {
        int d = db + i * stride + p;
        if (self != null) {
            FloatVector c = FloatVector.broadcast(S, selfCoef[sco + i]);
            int q = selfB + i * stride + p;
            a = FloatVector.fromArray(S, self, q).fma(c, a);
            if (b != null) b = FloatVector.fromArray(S, self, q + VL).fma(c, b);
        }
        a.intoArray(dst, d);
        if (b != null) b.intoArray(dst, d + VL);
    }
}
