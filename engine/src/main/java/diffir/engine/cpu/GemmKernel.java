package diffir.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The SGEMM micro-kernel: an MR x NR block of C held in 2*MR vector registers, updated by rank-1
 * products of an A sliver (MR rows of kc floats, lda apart) and a packed B sliver (NR floats per k).
 *
 * <p>MR x NR = 6 x (2 vectors): 12 accumulators + 2 B vectors + 1 broadcast fit the 16 registers of
 * AVX2 and leave room with AVX-512's 32; wider blocks measured no faster here and made C2 give up on
 * keeping vectors in registers. The sliver layouts are the ones {@link LeftOperand#packRows} and
 * {@link RightOperand#packPanel} write.
 */
final class GemmKernel {
    private GemmKernel() {}

    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int V = SPECIES.length();
    static final int MR = 6;
    static final int NR = 2 * V;

    /**
     * C[r][j] (r < MR, j < NR; row r at c[co + r*ldc]) = acc + beta*C, with acc = sum over p < kc of
     * a[ao + r*lda + p] * b[bo + p*NR + j]. beta 0 never reads C (so NaN there is ignored).
     *
     * <p>C is folded into the accumulators before the loop so that a single store sequence follows it:
     * branches between the loop and the stores made C2 box the vectors (a 10x slowdown).
     */
    static void kernel(int kc, float[] a, int ao, int lda, float[] b, int bo, float[] c, int co, int ldc, float beta) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (beta == 0f) {
            FloatVector z = FloatVector.zero(SPECIES);
            c00 = z; c01 = z; c10 = z; c11 = z; c20 = z; c21 = z;
            c30 = z; c31 = z; c40 = z; c41 = z; c50 = z; c51 = z;
        } else {
            c00 = load(c, co, beta);
            c01 = load(c, co + V, beta);
            c10 = load(c, co + ldc, beta);
            c11 = load(c, co + ldc + V, beta);
            c20 = load(c, co + 2 * ldc, beta);
            c21 = load(c, co + 2 * ldc + V, beta);
            c30 = load(c, co + 3 * ldc, beta);
            c31 = load(c, co + 3 * ldc + V, beta);
            c40 = load(c, co + 4 * ldc, beta);
            c41 = load(c, co + 4 * ldc + V, beta);
            c50 = load(c, co + 5 * ldc, beta);
            c51 = load(c, co + 5 * ldc + V, beta);
        }
        int a0 = ao, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(SPECIES, b, bo);
            FloatVector b1 = FloatVector.fromArray(SPECIES, b, bo + V);
            FloatVector x = FloatVector.broadcast(SPECIES, a[a0 + p]);
            c00 = x.fma(b0, c00);
            c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(SPECIES, a[a1 + p]);
            c10 = x.fma(b0, c10);
            c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(SPECIES, a[a2 + p]);
            c20 = x.fma(b0, c20);
            c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(SPECIES, a[a3 + p]);
            c30 = x.fma(b0, c30);
            c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(SPECIES, a[a4 + p]);
            c40 = x.fma(b0, c40);
            c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(SPECIES, a[a5 + p]);
            c50 = x.fma(b0, c50);
            c51 = x.fma(b1, c51);
            bo += NR;
        }
        c00.intoArray(c, co);
        c01.intoArray(c, co + V);
        c10.intoArray(c, co + ldc);
        c11.intoArray(c, co + ldc + V);
        c20.intoArray(c, co + 2 * ldc);
        c21.intoArray(c, co + 2 * ldc + V);
        c30.intoArray(c, co + 3 * ldc);
        c31.intoArray(c, co + 3 * ldc + V);
        c40.intoArray(c, co + 4 * ldc);
        c41.intoArray(c, co + 4 * ldc + V);
        c50.intoArray(c, co + 5 * ldc);
        c51.intoArray(c, co + 5 * ldc + V);
    }

    private static FloatVector load(float[] c, int o, float beta) {
        FloatVector v = FloatVector.fromArray(SPECIES, c, o);
        return beta == 1f ? v : v.mul(beta);
    }

    /**
     * {@link #kernel} for the first V columns only (B slivers keep their NR stride): the last sliver
     * of a C whose width leaves at most one vector there, such as the 48-wide attention Grams.
     */
    static void kernelHalf(int kc, float[] a, int ao, int lda, float[] b, int bo, float[] c, int co, int ldc, float beta) {
        FloatVector c0, c1, c2, c3, c4, c5;
        if (beta == 0f) {
            FloatVector z = FloatVector.zero(SPECIES);
            c0 = z; c1 = z; c2 = z; c3 = z; c4 = z; c5 = z;
        } else {
            c0 = load(c, co, beta);
            c1 = load(c, co + ldc, beta);
            c2 = load(c, co + 2 * ldc, beta);
            c3 = load(c, co + 3 * ldc, beta);
            c4 = load(c, co + 4 * ldc, beta);
            c5 = load(c, co + 5 * ldc, beta);
        }
        int a0 = ao, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda, a4 = a3 + lda, a5 = a4 + lda;
        for (int p = 0; p < kc; p++) {
            FloatVector b0 = FloatVector.fromArray(SPECIES, b, bo);
            c0 = FloatVector.broadcast(SPECIES, a[a0 + p]).fma(b0, c0);
            c1 = FloatVector.broadcast(SPECIES, a[a1 + p]).fma(b0, c1);
            c2 = FloatVector.broadcast(SPECIES, a[a2 + p]).fma(b0, c2);
            c3 = FloatVector.broadcast(SPECIES, a[a3 + p]).fma(b0, c3);
            c4 = FloatVector.broadcast(SPECIES, a[a4 + p]).fma(b0, c4);
            c5 = FloatVector.broadcast(SPECIES, a[a5 + p]).fma(b0, c5);
            bo += NR;
        }
        c0.intoArray(c, co);
        c1.intoArray(c, co + ldc);
        c2.intoArray(c, co + 2 * ldc);
        c3.intoArray(c, co + 3 * ldc);
        c4.intoArray(c, co + 4 * ldc);
        c5.intoArray(c, co + 5 * ldc);
    }

    /**
     * The update of any mr x nr block (mr <= MR, nr <= NR): full blocks go straight to C; partial ones
     * are computed into tile (MR*NR floats of scratch) and only their valid part is merged.
     */
    static void block(int kc, float[] a, int ao, int lda, float[] b, int bo, float[] c, int co, int ldc, float beta,
                      int mr, int nr, float[] tile) {
        if (mr == MR && nr == NR) {
            kernel(kc, a, ao, lda, b, bo, c, co, ldc, beta);
            return;
        }
        if (mr == MR && nr == V) {
            kernelHalf(kc, a, ao, lda, b, bo, c, co, ldc, beta);
            return;
        }
        if (nr <= V) kernelHalf(kc, a, ao, lda, b, bo, tile, 0, NR, 0f);
        else kernel(kc, a, ao, lda, b, bo, tile, 0, NR, 0f);
        for (int r = 0; r < mr; r++) {
            int ci = co + r * ldc, ti = r * NR;
            if (beta == 0f) {
                System.arraycopy(tile, ti, c, ci, nr);
            } else {
                for (int j = 0; j < nr; j++) c[ci + j] = tile[ti + j] + beta * c[ci + j];
            }
        }
    }
}
