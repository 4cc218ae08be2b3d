package diffir.data;

import diffir.image.Image;

import java.util.SplittableRandom;

/** Additive white Gaussian noise. */
public final class Noise {
    private Noise() {}

    /**
     * img + N(0, sigma^2) per value ([0, 1] scale), clamped to [0, 1]. With gray, one noise sample per
     * pixel is shared by all channels (Real-ESRGAN's "gray noise").
     */
    public static Image gaussian(Image img, double sigma, boolean gray, SplittableRandom rng) {
        if (!(sigma >= 0)) throw new IllegalArgumentException("noise sigma must be >= 0, got " + sigma);
        int n = img.planeSize(), c = img.channels();
        float[] in = img.data(), out = new float[in.length];
        if (gray) {
            for (int i = 0; i < n; i++) {
                double e = sigma * Seeds.normal(rng);
                for (int ch = 0; ch < c; ch++) out[ch * n + i] = clamp(in[ch * n + i] + e);
            }
        } else {
            for (int i = 0; i < in.length; i++) out[i] = clamp(in[i] + sigma * Seeds.normal(rng));
        }
        return new Image(c, img.height(), img.width(), out);
    }

    private static float clamp(double v) {
        return (float) Math.min(1.0, Math.max(0.0, v));
    }
}
