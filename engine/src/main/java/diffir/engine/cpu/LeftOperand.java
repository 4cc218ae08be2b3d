package diffir.engine.cpu;

/**
 * The left operand A (m x k) of {@link Sgemm}, read only by packing slivers of its rows, so it need
 * not exist as a matrix (it may be a strided view, or the im2col of images). One operand describes a
 * whole batch of matrices.
 */
interface LeftOperand {
    /**
     * Writes {@code scale *} rows [i0, i0+h), columns [k0, k0+kc) of matrix {@code batch} row by row:
     * row i0+r at {@code dst[off + r*kc ..]}; rows r in [h, rows) are zero. This is the A sliver
     * layout {@link GemmKernel} reads.
     */
    void packRows(int batch, int k0, int kc, int i0, int h, int rows, float scale, float[] dst, int off);
}
