package diffir.engine.cpu;

/**
 * The right operand B (k x n) of {@link Sgemm}, read only by packing slivers of its columns, so it
 * need not exist as a matrix (it may be a strided view, or the im2col of images). One operand
 * describes a whole batch of matrices.
 */
interface RightOperand {
    /**
     * Writes rows [k0, k0+kc), columns [j0, j0+w) of matrix {@code batch} to
     * {@code dst[off + p*width + jj]} (p = k - k0, jj = j - j0), and zeros for jj in [w, width).
     * This is the B sliver layout {@link GemmKernel} reads.
     */
    void packColumns(int batch, int k0, int kc, int j0, int w, int width, float[] dst, int off);

    /** Zeros for the columns [w, width) of kc packed rows. */
    static void zeroPad(int kc, int w, int width, float[] dst, int off) {
        if (w == width) return;
        for (int p = 0; p < kc; p++) {
            int d = off + p * width;
            for (int jj = w; jj < width; jj++) dst[d + jj] = 0f;
        }
    }
}
