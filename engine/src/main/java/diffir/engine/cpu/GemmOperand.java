package diffir.engine.cpu;

/**
 * An operand of {@link Sgemm}, read only by packing blocks of it, so it need not exist as a matrix:
 * it may be a strided view or the im2col of an image that is never materialised. Indexed (k, j):
 * k runs along the shared dimension K; j along M for the left operand (rows of C) or along N for the
 * right one (columns of C). One operand describes a whole batch of matrices.
 */
abstract class GemmOperand {
    /**
     * Writes {@code scale *} the block k in [k0, k0+kc), j in [j0, j0+w) of matrix {@code batch} to
     * {@code dst[off + p*width + jj]} (p = k - k0, jj = j - j0), and zeros for jj in [w, width).
     * This is the sliver layout {@link GemmKernel} reads.
     */
    abstract void pack(int batch, int k0, int kc, int j0, int w, int width, float scale, float[] dst, int off);

    /** Zeros for the columns [w, width) of kc packed rows. */
    static void zeroPad(int kc, int w, int width, float[] dst, int off) {
        if (w == width) return;
        for (int p = 0; p < kc; p++) {
            int d = off + p * width;
            for (int jj = w; jj < width; jj++) dst[d + jj] = 0f;
        }
    }
}
