package diffir.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import static diffir.engine.cpu.GemmKernel.NR;

/**
 * The im2col matrix of an image as a right operand, never materialised: k = (channel, r, s) over
 * channels*kh*kw, j = output pixel y*outW + x. A convolution is then out = weight x im2col. Matrix b
 * is the image (channels planes of h x w) at batch.at(b).
 */
final class Im2colOperand implements RightOperand {
    private static final VectorSpecies<Float> S = GemmKernel.SPECIES;
    private static final int V = GemmKernel.V;

    private final float[] data;
    private final BatchOffsets batch;
    private final ConvGeometry g;

    Im2colOperand(float[] data, BatchOffsets batch, ConvGeometry g) {
        this.data = data;
        this.batch = batch;
        this.g = g;
    }

    @Override
    public void packPanel(int b, int k0, int kc, int j0, int nc, float[] dst) {
        int base = Math.toIntExact(batch.at(b));
        int taps = g.taps(), kw = g.kw(), kh = g.kh(), plane = g.plane(), outW = g.outW(), inH = g.h(), inW = g.w();
        // Stride 1 along rows, no inserted zeros: a tap reads a contiguous input run, copied straight
        // where it lies inside the image; the general gather handles the rest (borders, strides).
        boolean contiguous = g.strideW() == 1 && g.dilH() == 1 && g.dilW() == 1;
        RightOperand.zeroPadPanel(kc, nc, dst);
        int yStart = j0 / outW, xStart = j0 % outW;
        int ch = k0 / taps, r = (k0 % taps) / kw, s = k0 % kw;
        for (int p = 0; p < kc; p++) {
            int chBase = base + ch * plane;
            // The panel's columns run along output rows; each run is split where slivers end.
            for (int j = 0, y = yStart, x = xStart; j < nc; j += outW - x, y++, x = 0) {
                int len = Math.min(outW - x, nc - j);
                int iy = y * g.strideH() - g.padH() + r, ix = x - g.padW() + s;
                boolean rowInside = contiguous && iy >= 0 && iy < inH;
                for (int t = 0; t < len; ) {
                    int q = (j + t) / NR, col = j + t - q * NR, n = Math.min(len - t, NR - col);
                    int d = q * kc * NR + p * NR + col, src = chBase + iy * inW + ix + t;
                    boolean inside = rowInside && ix + t >= 0 && ix + t + n <= inW;
                    if (inside && n == NR) {
                        FloatVector.fromArray(S, data, src).intoArray(dst, d);
                        FloatVector.fromArray(S, data, src + V).intoArray(dst, d + V);
                    } else if (inside) {
                        FloatCopy.copy(data, src, dst, d, n);
                    } else {
                        g.gather(data, chBase, y, x + t, n, r, s, 1f, dst, d, 1);
                    }
                    t += n;
                }
            }
            if (++s == kw) {
                s = 0;
                if (++r == kh) {
                    r = 0;
                    ch++;
                }
            }
        }
    }
}
