package diffir.engine.cpu;

import static diffir.engine.cpu.GemmKernel.NR;

/**
 * A strided matrix in a float[], usable as either GEMM operand: element (k, j) of matrix b at
 * {@code batch.at(b) + (k / kSeg)*segStride + (k % kSeg)*kStride + j*jStride}, with kStride or jStride
 * equal to 1; j is the row index i of a left operand and the column of a right one. Segments let K
 * run across several images, e.g. a weight gradient summed over a batch as one long GEMM
 * (kSeg = pixels per image, segStride = image size).
 */
final class DenseOperand implements LeftOperand, RightOperand {
    private final float[] data;
    private final BatchOffsets batch;
    private final int kStride, jStride, kSeg, segStride;

    DenseOperand(float[] data, BatchOffsets batch, int kStride, int jStride, int kSeg, int segStride) {
        if (kStride != 1 && jStride != 1)
            throw new IllegalArgumentException("dense GEMM operand needs unit stride along k or j, got " + kStride + ", " + jStride);
        if (kSeg < 1) throw new IllegalArgumentException("segment length " + kSeg);
        this.data = data;
        this.batch = batch;
        this.kStride = kStride;
        this.jStride = jStride;
        this.kSeg = kSeg;
        this.segStride = segStride;
    }

    /** An unsegmented matrix. */
    DenseOperand(float[] data, BatchOffsets batch, int kStride, int jStride) {
        this(data, batch, kStride, jStride, Integer.MAX_VALUE, 0);
    }

    @Override
    public void packRows(int b, int k0, int kc, int i0, int h, int rows, float scale, float[] dst, int off) {
        int base = Math.toIntExact(batch.at(b));
        java.util.Arrays.fill(dst, off + h * kc, off + rows * kc, 0f);
        for (int k = k0; k < k0 + kc; ) {
            int within = k % kSeg, run = Math.min(kSeg - within, k0 + kc - k);
            int src = base + (k / kSeg) * segStride + within * kStride + i0 * jStride, d = off + k - k0;
            if (kStride == 1) {
                // Rows are contiguous: straight copies.
                for (int r = 0; r < h; r++) copy(data, src + r * jStride, dst, d + r * kc, run, scale);
            } else {
                // Columns are contiguous (a transposed A): gather, one k at a time.
                for (int t = 0; t < run; t++)
                    for (int r = 0; r < h; r++) dst[d + r * kc + t] = data[src + t * kStride + r] * scale;
            }
            k += run;
        }
    }

    @Override
    public void packPanel(int b, int k0, int kc, int j0, int nc, float[] dst) {
        int base = Math.toIntExact(batch.at(b));
        RightOperand.zeroPadPanel(kc, nc, dst);
        for (int q = 0; q * NR < nc; q++) {
            int w = Math.min(NR, nc - q * NR), off = q * kc * NR;
            for (int k = k0; k < k0 + kc; ) {
                int within = k % kSeg, run = Math.min(kSeg - within, k0 + kc - k);
                int src = base + (k / kSeg) * segStride + within * kStride + (j0 + q * NR) * jStride;
                int d = off + (k - k0) * NR;
                if (jStride == 1) {
                    for (int t = 0; t < run; t++) FloatCopy.copy(data, src + t * kStride, dst, d + t * NR, w);
                } else {
                    transposeCopy(src, run, w, d, NR, dst);
                }
                k += run;
            }
        }
    }

    /** dst[d + t*width + jj] = data[src + jj*jStride + t] for t < run, jj < w: 8 x 8 blocks, then the rest. */
    private void transposeCopy(int src, int run, int w, int d, int width, float[] dst) {
        int w8 = Transpose8.AVAILABLE ? w - w % 8 : 0, run8 = Transpose8.AVAILABLE ? run - run % 8 : 0;
        for (int jj = 0; jj < w8; jj += 8)
            for (int t = 0; t < run8; t += 8)
                Transpose8.block(data, src + jj * jStride + t, jStride, dst, d + t * width + jj, width);
        for (int jj = 0; jj < w; jj++) {
            int s = src + jj * jStride;
            for (int t = jj < w8 ? run8 : 0; t < run; t++) dst[d + t * width + jj] = data[s + t];
        }
    }

    private static void copy(float[] src, int s, float[] dst, int d, int n, float scale) {
        if (scale == 1f) System.arraycopy(src, s, dst, d, n);
        else for (int i = 0; i < n; i++) dst[d + i] = src[s + i] * scale;
    }
}
