package diffir.engine.cpu;

/**
 * A strided matrix in a float[]: element (k, j) of matrix b at
 * {@code batch.at(b) + (k / kSeg)*segStride + (k % kSeg)*kStride + j*jStride}, with kStride or jStride
 * equal to 1. Segments let K run across several images, e.g. a weight gradient summed over a batch
 * as one long GEMM (kSeg = pixels per image, segStride = image size).
 */
final class DenseOperand extends GemmOperand {
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
    void pack(int b, int k0, int kc, int j0, int w, int width, float scale, float[] dst, int off) {
        int base = Math.toIntExact(batch.at(b));
        if (jStride == 1) {
            for (int p = 0; p < kc; p++) {
                int k = k0 + p;
                int src = base + (k / kSeg) * segStride + (k % kSeg) * kStride + j0;
                int d = off + p * width;
                if (scale == 1f) {
                    System.arraycopy(data, src, dst, d, w);
                } else {
                    for (int jj = 0; jj < w; jj++) dst[d + jj] = data[src + jj] * scale;
                }
            }
            zeroPad(kc, w, width, dst, off);
            return;
        }
        // k contiguous: a transposing copy, run by run of k within one segment, row by row of the
        // source: reading the w rows side by side instead thrashes L1 when their stride is a large power of 2.
        zeroPad(kc, w, width, dst, off);
        for (int k = k0; k < k0 + kc; ) {
            int within = k % kSeg;
            int run = Math.min(kSeg - within, k0 + kc - k);
            int src0 = base + (k / kSeg) * segStride + within + j0 * jStride;
            int d0 = off + (k - k0) * width;
            for (int jj = 0; jj < w; jj++) {
                int s = src0 + jj * jStride, d = d0 + jj;
                for (int t = 0; t < run; t++) dst[d + t * width] = data[s + t] * scale;
            }
            k += run;
        }
    }
}
