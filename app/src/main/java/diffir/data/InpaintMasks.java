package diffir.data;

import diffir.image.Image;

import java.util.SplittableRandom;

/**
 * Free-form inpainting masks (1 = hole, 0 = known) and DiffIR's inpainting input convention (from
 * its LaMa-based trainer): the image with holes zeroed, {@code img * (1 - mask)}, followed by the
 * mask as one more channel; the prediction is pasted into the holes only,
 * {@code mask * pred + (1 - mask) * img}.
 */
public final class InpaintMasks {
    private InpaintMasks() {}

    /**
     * A random mask, like the "irregular + box" mix of LaMa that DiffIR trains with: half the time
     * 1-5 thick random polyline strokes, otherwise 1-4 rectangles. Sizes follow LaMa's settings for
     * 256-pixel images (strokes up to 210 long and 105 wide, boxes 30-150 with a 10 margin), scaled
     * to the image's shorter side.
     */
    public static Image random(int height, int width, SplittableRandom rng) {
        if (height <= 0 || width <= 0) throw new IllegalArgumentException("mask size must be positive, got " + height + "x" + width);
        float[] m = new float[height * width];
        double s = Math.min(height, width) / 256.0;
        if (rng.nextBoolean()) strokes(m, height, width, s, rng);
        else boxes(m, height, width, s, rng);
        return new Image(1, height, width, m);
    }

    private static void strokes(float[] m, int h, int w, double s, SplittableRandom rng) {
        int times = rng.nextInt(1, 6);
        for (int t = 0; t < times; t++) {
            double x = rng.nextInt(w), y = rng.nextInt(h);
            int segments = rng.nextInt(1, 6);
            for (int k = 0; k < segments; k++) {
                double angle = 2 * Math.PI * rng.nextDouble();
                double length = s * (10 + 200 * rng.nextDouble());
                double brush = Math.max(1.0, s * (5 + 100 * rng.nextDouble()));
                double ex = Math.min(w - 1, Math.max(0, x + length * Math.cos(angle)));
                double ey = Math.min(h - 1, Math.max(0, y + length * Math.sin(angle)));
                thickLine(m, h, w, x, y, ex, ey, brush / 2);
                x = ex;
                y = ey;
            }
        }
    }

    /** Marks every pixel whose centre is within radius of the segment (a line with round caps). */
    static void thickLine(float[] m, int h, int w, double x0, double y0, double x1, double y1, double radius) {
        int ya = Math.max(0, (int) Math.floor(Math.min(y0, y1) - radius)), yb = Math.min(h - 1, (int) Math.ceil(Math.max(y0, y1) + radius));
        int xa = Math.max(0, (int) Math.floor(Math.min(x0, x1) - radius)), xb = Math.min(w - 1, (int) Math.ceil(Math.max(x0, x1) + radius));
        double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy, r2 = radius * radius;
        for (int y = ya; y <= yb; y++)
            for (int x = xa; x <= xb; x++) {
                double t = len2 == 0 ? 0 : Math.min(1, Math.max(0, ((x - x0) * dx + (y - y0) * dy) / len2));
                double px = x0 + t * dx - x, py = y0 + t * dy - y;
                if (px * px + py * py <= r2) m[y * w + x] = 1f;
            }
    }

    private static void boxes(float[] m, int h, int w, double s, SplittableRandom rng) {
        int margin = (int) Math.round(10 * s);
        int maxSide = Math.min(h, w) - 2 * margin;
        int hi = Math.min((int) Math.round(150 * s), maxSide), lo = Math.min(Math.max(1, (int) Math.round(30 * s)), hi);
        if (hi < 1) { // too small for margins: mask a central box
            m[(h / 2) * w + w / 2] = 1f;
            return;
        }
        int times = rng.nextInt(1, 5);
        for (int t = 0; t < times; t++) {
            int bw = rng.nextInt(lo, hi + 1), bh = rng.nextInt(lo, hi + 1);
            int x0 = rng.nextInt(margin, w - margin - bw + 1), y0 = rng.nextInt(margin, h - margin - bh + 1);
            for (int y = y0; y < y0 + bh; y++)
                for (int x = x0; x < x0 + bw; x++) m[y * w + x] = 1f;
        }
    }

    /** The model input: every image channel times (1 - mask), then the mask as the last channel. */
    public static Image maskedInput(Image img, Image mask) {
        requireMask(img, mask);
        int n = img.planeSize(), c = img.channels();
        float[] in = img.data(), m = mask.data(), out = new float[(c + 1) * n];
        for (int ch = 0; ch < c; ch++)
            for (int i = 0; i < n; i++) out[ch * n + i] = in[ch * n + i] * (1f - m[i]);
        System.arraycopy(m, 0, out, c * n, n);
        return new Image(c + 1, img.height(), img.width(), out);
    }

    /** The prediction inside the holes, the known image outside: mask * pred + (1 - mask) * known. */
    public static Image composite(Image prediction, Image known, Image mask) {
        requireMask(known, mask);
        if (!prediction.sameShape(known))
            throw new IllegalArgumentException("prediction " + prediction.shapeString() + " does not match image " + known.shapeString());
        int n = known.planeSize();
        float[] p = prediction.data(), k = known.data(), m = mask.data(), out = new float[k.length];
        for (int i = 0; i < k.length; i++) {
            float mi = m[i % n];
            out[i] = mi * p[i] + (1f - mi) * k[i];
        }
        return new Image(known.channels(), known.height(), known.width(), out);
    }

    private static void requireMask(Image img, Image mask) {
        if (mask.channels() != 1 || mask.height() != img.height() || mask.width() != img.width())
            throw new IllegalArgumentException("mask " + mask.shapeString() + " must be 1x" + img.height() + "x" + img.width() + " for image " + img.shapeString());
    }
}
