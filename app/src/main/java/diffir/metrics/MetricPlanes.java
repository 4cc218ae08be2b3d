package diffir.metrics;

import diffir.image.Image;
import diffir.image.Quantize;

/**
 * What basicsr's metrics see, built from a [0, 1] float image: the 8-bit codes of
 * {@code tensor2img} (see {@link Quantize}), border cropped, optionally reduced to the Y channel of
 * BT.601 YCbCr exactly as basicsr's {@code to_y_channel} computes it, as float64 planes on [0, 255].
 */
final class MetricPlanes {
    final int channels, height, width;
    final double[][] planes;

    private MetricPlanes(int channels, int height, int width, double[][] planes) {
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.planes = planes;
    }

    static void requireComparable(Image a, Image b, int cropBorder, int minSide, String metric) {
        if (!a.sameShape(b))
            throw new IllegalArgumentException(metric + ": image shapes differ: " + a.shapeString() + " vs " + b.shapeString());
        if (cropBorder < 0) throw new IllegalArgumentException(metric + ": crop border must be >= 0, got " + cropBorder);
        int h = a.height() - 2 * cropBorder, w = a.width() - 2 * cropBorder;
        if (h < minSide || w < minSide)
            throw new IllegalArgumentException(metric + ": image " + a.shapeString() + " with crop border " + cropBorder
                    + " leaves " + Math.max(h, 0) + "x" + Math.max(w, 0) + ", needs at least " + minSide + "x" + minSide);
    }

    static MetricPlanes of(Image img, int cropBorder, boolean yChannel) {
        int h = img.height() - 2 * cropBorder, w = img.width() - 2 * cropBorder, n = h * w;
        int c = img.channels();
        int[][] codes = new int[c][n];
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) codes[ch][y * w + x] = Quantize.code8(img.get(ch, y + cropBorder, x + cropBorder));
        if (!yChannel) {
            double[][] p = new double[c][n];
            for (int ch = 0; ch < c; ch++) for (int i = 0; i < n; i++) p[ch][i] = codes[ch][i];
            return new MetricPlanes(c, h, w, p);
        }
        if (c == 3) {
            double[] yPlane = new double[n];
            for (int i = 0; i < n; i++) yPlane[i] = luma(codes[0][i], codes[1][i], codes[2][i]);
            return new MetricPlanes(1, h, w, new double[][]{yPlane});
        }
        // basicsr leaves other channel counts as they are, but still takes them through float32 /255 *255.
        double[][] p = new double[c][n];
        for (int ch = 0; ch < c; ch++) for (int i = 0; i < n; i++) p[ch][i] = (codes[ch][i] / 255f) * 255f;
        return new MetricPlanes(c, h, w, p);
    }

    /**
     * Y on [0, 255] as basicsr's {@code to_y_channel}: codes to float32 / 255, the BT.601 dot product in
     * float64 plus 16/255, rounded to float32, then times 255 in float32.
     */
    static double luma(int r, int g, int b) {
        double d = (b / 255f) * 24.966 + (g / 255f) * 128.553 + (r / 255f) * 65.481 + 16.0;
        float y = (float) (d / 255.0);
        return y * 255f;
    }
}
