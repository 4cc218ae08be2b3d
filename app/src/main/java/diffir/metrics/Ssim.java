package diffir.metrics;

import diffir.engine.cpu.Parallel;
import diffir.image.Image;

/**
 * SSIM as basicsr's {@code calculate_ssim} (the Wang et al. MATLAB definition): 8-bit codes (see
 * {@link MetricPlanes}), crop_border removed, optionally Y only; per channel, local statistics under
 * an 11x11 Gaussian window of sigma 1.5 over 'valid' positions only, on the [0, 255] scale in
 * float64 with C1 = (0.01*255)^2 and C2 = (0.03*255)^2; the SSIM map's mean, averaged over channels.
 */
public final class Ssim {
    private Ssim() {}

    private static final int WINDOW = 11;
    private static final double C1 = Math.pow(0.01 * 255, 2), C2 = Math.pow(0.03 * 255, 2);
    private static final double[] GAUSS = gaussian(WINDOW, 1.5);

    public static double compute(Image output, Image reference, int cropBorder, boolean yChannel) {
        MetricPlanes.requireComparable(output, reference, cropBorder, WINDOW, "SSIM");
        MetricPlanes a = MetricPlanes.of(output, cropBorder, yChannel), b = MetricPlanes.of(reference, cropBorder, yChannel);
        double[] perChannel = new double[a.channels];
        Parallel.each(a.channels, c -> perChannel[c] = channel(a.planes[c], b.planes[c], a.height, a.width));
        double total = 0;
        for (double v : perChannel) total += v;
        return total / a.channels;
    }

    private static double channel(double[] x, double[] y, int h, int w) {
        int n = h * w;
        double[] xx = new double[n], yy = new double[n], xy = new double[n];
        for (int i = 0; i < n; i++) {
            xx[i] = x[i] * x[i];
            yy[i] = y[i] * y[i];
            xy[i] = x[i] * y[i];
        }
        double[] mu1 = valid(x, h, w), mu2 = valid(y, h, w), sxx = valid(xx, h, w), syy = valid(yy, h, w), sxy = valid(xy, h, w);
        double sum = 0;
        for (int i = 0; i < mu1.length; i++) {
            double m1 = mu1[i], m2 = mu2[i];
            double m1sq = m1 * m1, m2sq = m2 * m2, m12 = m1 * m2;
            double s1 = sxx[i] - m1sq, s2 = syy[i] - m2sq, s12 = sxy[i] - m12;
            sum += ((2 * m12 + C1) * (2 * s12 + C2)) / ((m1sq + m2sq + C1) * (s1 + s2 + C2));
        }
        return sum / mu1.length;
    }

    /** Separable Gaussian filtering at the (h-10) x (w-10) positions where the window fits. */
    private static double[] valid(double[] p, int h, int w) {
        int oh = h - WINDOW + 1, ow = w - WINDOW + 1;
        double[] rows = new double[h * ow];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < ow; x++) {
                double s = 0;
                int b = y * w + x;
                for (int k = 0; k < WINDOW; k++) s += GAUSS[k] * p[b + k];
                rows[y * ow + x] = s;
            }
        double[] out = new double[oh * ow];
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++) {
                double s = 0;
                for (int k = 0; k < WINDOW; k++) s += GAUSS[k] * rows[(y + k) * ow + x];
                out[y * ow + x] = s;
            }
        return out;
    }

    /** OpenCV's getGaussianKernel(n, sigma) for n > 7: exp(-x^2 / (2 sigma^2)) about the centre, normalised. */
    static double[] gaussian(int n, double sigma) {
        double[] g = new double[n];
        double sum = 0, scale = -0.5 / (sigma * sigma);
        for (int i = 0; i < n; i++) {
            double x = i - (n - 1) * 0.5;
            g[i] = Math.exp(scale * x * x);
            sum += g[i];
        }
        for (int i = 0; i < n; i++) g[i] /= sum;
        return g;
    }
}
