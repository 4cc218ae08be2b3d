package diffir.engine.cpu;

/**
 * The transposed im2col of a batch of images, with K running over every image: k = (image n,
 * output pixel), j = (channel, r, s). The right operand of a convolution's weight gradient
 * (gw = gy x im2col^T, summed over the images in one GEMM). Matrix b (a group) has its image n at
 * batch.at(b) + n*imageStride.
 */
final class Im2colTOperand extends GemmOperand {
    private final float[] data;
    private final BatchOffsets batch;
    private final int imageStride;
    private final ConvGeometry g;

    Im2colTOperand(float[] data, BatchOffsets batch, int imageStride, ConvGeometry g) {
        this.data = data;
        this.batch = batch;
        this.imageStride = imageStride;
        this.g = g;
    }

    @Override
    void pack(int b, int k0, int kc, int j0, int w, int width, float scale, float[] dst, int off) {
        int base = Math.toIntExact(batch.at(b));
        int taps = g.taps(), kw = g.kw(), plane = g.plane(), outW = g.outW(), pixels = g.outPixels();
        zeroPad(kc, w, width, dst, off);
        for (int jj = 0; jj < w; jj++) {
            int j = j0 + jj, ch = j / taps, r = (j % taps) / kw, s = j % kw;
            // K split into runs along one output row of one image.
            for (int k = k0; k < k0 + kc; ) {
                int n = k / pixels, pix = k % pixels, y = pix / outW, x = pix % outW;
                int len = Math.min(outW - x, k0 + kc - k);
                g.gather(data, base + n * imageStride + ch * plane, y, x, len, r, s, scale,
                        dst, off + (k - k0) * width + jj, width);
                k += len;
            }
        }
    }
}
