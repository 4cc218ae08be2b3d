package diffir.engine.cpu;

import static diffir.engine.cpu.GemmKernel.NR;

/**
 * The right operand B (k x n) of {@link Sgemm}, read only by packing panels of it, so it need not
 * exist as a matrix (it may be a strided view, or the im2col of an image). One operand describes a
 * whole batch of matrices.
 */
interface RightOperand {
    /**
     * Packs rows [k0, k0+kc), columns [j0, j0+nc) of matrix {@code batch} as NR-wide slivers, the
     * layout {@link GemmKernel} reads: element (k0+p, j0 + q*NR + jj) at {@code dst[q*kc*NR + p*NR + jj]};
     * the last sliver's columns past nc are zero.
     */
    void packPanel(int batch, int k0, int kc, int j0, int nc, float[] dst);

    /** Zeros for the columns [w, NR) of the kc rows of the sliver at dst[off]. */
    private static void zeroPad(int kc, int w, float[] dst, int off) {
        if (w == NR) return;
        for (int p = 0; p < kc; p++) {
            int d = off + p * NR;
            for (int jj = w; jj < NR; jj++) dst[d + jj] = 0f;
        }
    }

    /** zeroPad for the last sliver of an nc-wide panel. */
    static void zeroPadPanel(int kc, int nc, float[] dst) {
        int last = (nc - 1) / NR;
        zeroPad(kc, nc - last * NR, dst, last * kc * NR);
    }
}
