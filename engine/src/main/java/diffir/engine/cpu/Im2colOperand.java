package diffir.engine.cpu;

/**
 * The im2col matrix of an image as a right operand, never materialised: k = (channel, r, s) over
 * channels*kh*kw, j = output pixel y*outW + x. A convolution is then out = weight x im2col. Matrix b
 * is the image (channels planes of h x w) at batch.at(b).
 */
final class Im2colOperand implements RightOperand {
    private final float[] data;
    private final BatchOffsets batch;
    private final ConvGeometry g;

    Im2colOperand(float[] data, BatchOffsets batch, ConvGeometry g) {
        this.data = data;
        this.batch = batch;
        this.g = g;
    }

    @Override
    public void packColumns(int b, int k0, int kc, int j0, int w, int width, float[] dst, int off) {
        int base = Math.toIntExact(batch.at(b));
        int taps = g.taps(), kw = g.kw(), plane = g.plane(), outW = g.outW();
        RightOperand.zeroPad(kc, w, width, dst, off);
        // Columns split into runs along one output row; each (run, k) is one gather.
        for (int jj = 0; jj < w; ) {
            int j = j0 + jj, y = j / outW, x = j % outW;
            int len = Math.min(outW - x, w - jj);
            int ch = k0 / taps, r = (k0 % taps) / kw, s = k0 % kw;
            for (int p = 0; p < kc; p++) {
                g.gather(data, base + ch * plane, y, x, len, r, s, 1f, dst, off + p * width + jj, 1);
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
