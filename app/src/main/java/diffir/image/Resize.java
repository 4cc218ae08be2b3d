package diffir.image;

import diffir.engine.cpu.Parallel;

import java.util.Arrays;

/**
 * Resampling: MATLAB-compatible bicubic {@code imresize} (as basicsr's {@code matlab_functions.imresize}:
 * Keys cubic with a = -0.5, antialiasing by widening the kernel when shrinking, symmetric borders),
 * area (box) averaging, and nearest-neighbour enlargement.
 */
public final class Resize {
    private Resize() {}

    /**
     * MATLAB {@code imresize(img, scale, 'bicubic')}, antialiased when scale < 1. The output is
     * ceil(h * scale) by ceil(w * scale) as in MATLAB; values are not clamped or rounded. Rows are
     * resampled first, then columns, as basicsr does.
     */
    public static Image bicubic(Image img, double scale) {
        if (!(scale > 0) || Double.isInfinite(scale)) throw new IllegalArgumentException("resize scale must be positive, got " + scale);
        int outH = (int) Math.ceil(img.height() * scale), outW = (int) Math.ceil(img.width() * scale);
        Taps th = Taps.of(img.height(), outH, scale), tw = Taps.of(img.width(), outW, scale);
        int c = img.channels(), h = img.height(), w = img.width();
        float[] in = img.data();
        float[] mid = new float[c * outH * w];
        Parallel.range(c * outH, 4, (from, to) -> {
            double[] acc = new double[w];
            for (int row = from; row < to; row++) {
                int ch = row / outH, o = row % outH;
                Arrays.fill(acc, 0);
                for (int t = 0; t < th.taps; t++) {
                    double wt = th.weight[o * th.taps + t];
                    if (wt == 0) continue;
                    int src = (ch * h + th.index[o * th.taps + t]) * w;
                    for (int x = 0; x < w; x++) acc[x] += wt * in[src + x];
                }
                int dst = row * w;
                for (int x = 0; x < w; x++) mid[dst + x] = (float) acc[x];
            }
        });
        float[] out = new float[c * outH * outW];
        Parallel.range(c * outH, 4, (from, to) -> {
            for (int row = from; row < to; row++) {
                int src = row * w, dst = row * outW;
                for (int o = 0; o < outW; o++) {
                    double acc = 0;
                    int base = o * tw.taps;
                    for (int t = 0; t < tw.taps; t++) acc += tw.weight[base + t] * mid[src + tw.index[base + t]];
                    out[dst + o] = (float) acc;
                }
            }
        });
        return new Image(c, outH, outW, out);
    }

    /** Bicubic shrinking by an integer factor (see {@link #bicubic}). */
    public static Image bicubicDown(Image img, int factor) {
        requireDivisible(img, factor);
        return bicubic(img, 1.0 / factor);
    }

    /** Mean of each factor x factor block; height and width must be multiples of factor. */
    public static Image area(Image img, int factor) {
        requireDivisible(img, factor);
        int c = img.channels(), h = img.height(), w = img.width(), oh = h / factor, ow = w / factor;
        float[] in = img.data(), out = new float[c * oh * ow];
        double inv = 1.0 / ((double) factor * factor);
        Parallel.range(c * oh, 8, (from, to) -> {
            for (int row = from; row < to; row++) {
                int ch = row / oh, oy = row % oh;
                for (int ox = 0; ox < ow; ox++) {
                    double s = 0;
                    for (int dy = 0; dy < factor; dy++) {
                        int base = (ch * h + oy * factor + dy) * w + ox * factor;
                        for (int dx = 0; dx < factor; dx++) s += in[base + dx];
                    }
                    out[row * ow + ox] = (float) (s * inv);
                }
            }
        });
        return new Image(c, oh, ow, out);
    }

    /** Each pixel repeated into a factor x factor block. */
    public static Image nearestUp(Image img, int factor) {
        if (factor <= 0) throw new IllegalArgumentException("enlargement factor must be positive, got " + factor);
        int c = img.channels(), h = img.height(), w = img.width(), oh = h * factor, ow = w * factor;
        float[] in = img.data(), out = new float[c * oh * ow];
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < oh; y++) {
                int src = (ch * h + y / factor) * w, dst = (ch * oh + y) * ow;
                for (int x = 0; x < ow; x++) out[dst + x] = in[src + x / factor];
            }
        return new Image(c, oh, ow, out);
    }

    private static void requireDivisible(Image img, int factor) {
        if (factor <= 0) throw new IllegalArgumentException("shrink factor must be positive, got " + factor);
        if (img.height() % factor != 0 || img.width() % factor != 0)
            throw new IllegalArgumentException("image " + img.shapeString() + " cannot be shrunk by " + factor
                    + ": height and width must be multiples of it (mod-crop first)");
    }

    /** Per output sample, the input indices and normalised weights of MATLAB's cubic resampling. */
    static final class Taps {
        final int taps;
        final int[] index;
        final double[] weight;

        private Taps(int taps, int[] index, double[] weight) {
            this.taps = taps;
            this.index = index;
            this.weight = weight;
        }

        static Taps of(int inLen, int outLen, double scale) {
            boolean shrink = scale < 1;
            double width = shrink ? 4 / scale : 4; // the antialiasing kernel is 1/scale times wider
            int taps = (int) Math.ceil(width) + 2;
            int[] index = new int[outLen * taps];
            double[] weight = new double[outLen * taps];
            for (int o = 0; o < outLen; o++) {
                // MATLAB's 1-based mapping: output o+1 sits at input u; 0.5 maps to 0.5.
                double u = (o + 1) / scale + 0.5 * (1 - 1 / scale);
                int left = (int) Math.floor(u - width / 2);
                double sum = 0;
                for (int t = 0; t < taps; t++) {
                    double d = u - (left + t);
                    double wt = shrink ? scale * cubic(d * scale) : cubic(d);
                    weight[o * taps + t] = wt;
                    sum += wt;
                }
                for (int t = 0; t < taps; t++) {
                    weight[o * taps + t] /= sum;
                    index[o * taps + t] = Borders.symmetric(left + t - 1, inLen);
                }
            }
            return new Taps(taps, index, weight);
        }

        /** Keys' cubic convolution kernel with a = -0.5. */
        static double cubic(double x) {
            double a = Math.abs(x), a2 = a * a, a3 = a2 * a;
            if (a <= 1) return 1.5 * a3 - 2.5 * a2 + 1;
            if (a <= 2) return -0.5 * a3 + 2.5 * a2 - 4 * a + 2;
            return 0;
        }
    }
}
