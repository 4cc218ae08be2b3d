package diffir.engine.cpu;

/**
 * The im2col matrix of a batch of images, never materialised: k = (channel, r, s) over
 * channels*kh*kw, j = output pixel y*outW + x. The right operand of a convolution as a GEMM
 * (out = weight x im2col). Matrix b is the image (channels planes of h x w) at batch.at(b).
 */
final class Im2colOperand extends GemmOperand {
    private final float[] data;
    private final BatchOffsets batch;
    private final ConvGeometry g;

    Im2colOperand(float[] data, BatchOffsets batch, ConvGeometry g) {
        this.data = data;
        this.batch = batch;
        this.g = g;
    }

    @Override
    void pack(int b, int k0, int kc, int j0, int w, int width, float scale, float[] dst, int off) {
        int base = Math.toIntExact(batch.at(b));
        int taps = g.taps(), kw = g.kw(), plane = g.plane(), outW = g.outW();
        zeroPad(kc, w, width, dst, off);
        // Columns split into runs along one output row; each (run, k) is one gather.
        for (int jj = 0; jj < w; ) {
            int j = j0 + jj, y = j / outW, x = j % outW;
            int len = Math.min(outW - x, w - jj);
            int ch = k0 / taps, r = (k0 % taps) / kw, s = k0 % kw;
            for (int p = 0; p < kc; p++) {
                g.gather(data, base + ch * plane, y, x, len, r, s, scale, dst, off + p * width + jj, 1);
                if (++s == kw) {
                    s = 0;
                    if (++r == g.kh()) {
                        r = 0;
                        ch++;
                    }
                }
            }
            jj += len;
        }
    }
}
