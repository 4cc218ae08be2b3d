package diffir.metrics;

import diffir.image.Image;

/**
 * PSNR as basicsr's {@code calculate_psnr}: 8-bit codes of both images (see {@link MetricPlanes}),
 * crop_border pixels removed on every side, optionally the Y channel only, then
 * 10 log10(255^2 / MSE) over every remaining value in float64. Identical images give +infinity.
 */
public final class Psnr {
    private Psnr() {}

    public static double compute(Image output, Image reference, int cropBorder, boolean yChannel) {
        MetricPlanes.requireComparable(output, reference, cropBorder, 1, "PSNR");
        MetricPlanes a = MetricPlanes.of(output, cropBorder, yChannel), b = MetricPlanes.of(reference, cropBorder, yChannel);
        double se = 0;
        long count = 0;
        for (int c = 0; c < a.channels; c++) {
            double[] p = a.planes[c], q = b.planes[c];
            for (int i = 0; i < p.length; i++) {
                double d = p[i] - q[i];
                se += d * d;
            }
            count += p.length;
        }
        double mse = se / count;
        if (mse == 0) return Double.POSITIVE_INFINITY;
        return 10.0 * Math.log10(255.0 * 255.0 / mse);
    }
}
