package diffir.engine.cpu;

/**
 * The im2col of a whole batch of images as a left operand: row i = (channel, r, s) over
 * channels*kh*kw, k = (image n, output pixel), so K runs over every image. Used for a convolution's
 * weight gradient, gw^T = im2col x gy^T, where the sum over the batch then happens inside one GEMM.
 * Matrix b (a group) has its image n at batch.at(b) + n*imageStride.
 */
final class BatchIm2colOperand implements LeftOperand {
    private final float[] data;
    private final BatchOffsets batch;
    private final int imageStride;
    private final ConvGeometry g;

    BatchIm2colOperand(float[] data, BatchOffsets batch, int imageStride, ConvGeometry g) {
        this.data = data;
        this.batch = batch;
        this.imageStride = imageStride;
        this.g = g;
    }

    @Override
    public void packRows(int b, int k0, int kc, int i0, int h, int rows, float scale, float[] dst, int off) {
        int base = Math.toIntExact(batch.at(b));
        int taps = g.taps(), kw = g.kw(), plane = g.plane(), outW = g.outW(), pixels = g.outPixels();
        java.util.Arrays.fill(dst, off + h * kc, off + rows * kc, 0f);
        for (int r = 0; r < h; r++) {
            int i = i0 + r, ch = i / taps, ky = (i % taps) / kw, kx = i % kw;
            // K split into runs along one output row of one image; each run is one gather.
            for (int k = k0; k < k0 + kc; ) {
                int n = k / pixels, pix = k % pixels, y = pix / outW, x = pix % outW;
                int len = Math.min(outW - x, k0 + kc - k);
                g.gather(data, base + n * imageStride + ch * plane, y, x, len, ky, kx, scale,
                        dst, off + r * kc + (k - k0), 1);
                k += len;
            }
        }
    }
}
