package diffir.data;

import diffir.image.Kernel;

import java.util.SplittableRandom;

/**
 * Blur kernels: random camera-shake motion blur and (an)isotropic Gaussians. Every kernel is
 * non-negative and sums to 1.
 */
public final class BlurKernels {
    private BlurKernels() {}

    public static final int MOTION_MIN = 7, MOTION_MAX = 31;
    /** Time steps of a trajectory: few enough that the random turns add up to curves, not scribbles. */
    private static final int STEPS = 64;
    /** Boracchi and Foi's total trajectory length in pixels; the strengths below are relative to it. */
    private static final double PATH_LENGTH = 60;

    /** A motion-blur kernel of random odd size in [7, 31]. */
    public static Kernel motion(SplittableRandom rng) {
        return motion(rng, MOTION_MIN, MOTION_MAX);
    }

    /**
     * A camera-shake kernel in the style of Boracchi and Foi (2012): a random-walk trajectory with
     * inertia, a pull back toward the start, Gaussian jitter and occasional abrupt shakes, each
     * strength drawn at random per kernel. A random part of it (the exposure) is kept and drawn with
     * bilinear splats, centred; its length in pixels is 40-160% of the kernel size, shrunk where
     * needed so it stays inside the kernel less a one-pixel rim. A path that curls up therefore
     * blurs less than a straight one, as in the original model.
     */
    public static Kernel motion(SplittableRandom rng, int minSize, int maxSize) {
        if (minSize < 3 || maxSize < minSize) throw new IllegalArgumentException("motion kernel sizes must satisfy 3 <= min <= max, got " + minSize + ", " + maxSize);
        int lo = minSize / 2, hi = (maxSize - 1) / 2; // size = 2k + 1 within [minSize, maxSize]
        if (hi < lo) throw new IllegalArgumentException("no odd size in [" + minSize + ", " + maxSize + "]");
        int size = 2 * rng.nextInt(lo, hi + 1) + 1;
        double[][] path = trajectory(rng, STEPS);
        double exposure = Seeds.uniform(rng, 0.5, 1.0);
        int keep = Math.max(2, (int) Math.round(STEPS * exposure));
        double extent = Seeds.uniform(rng, 0.35, 1.0) * (size - 3);
        return rasterize(path[0], path[1], keep, size, extent);
    }

    /** x and y of a unit-speed random walk with momentum (Boracchi and Foi's model, our parameters). */
    static double[][] trajectory(SplittableRandom rng, int steps) {
        double anxiety = 0.1 * rng.nextDouble(), centripetal = 0.7 * rng.nextDouble();
        double jitter = 10 * rng.nextDouble(), shakeRate = 0.2 * rng.nextDouble();
        double step = 1.0 / (steps - 1); // the total length is 1; scaling happens at rasterisation
        double a0 = 2 * Math.PI * rng.nextDouble();
        double vx = Math.cos(a0) * step, vy = Math.sin(a0) * step;
        double[] xs = new double[steps], ys = new double[steps];
        for (int t = 0; t + 1 < steps; t++) {
            double dvx = 0, dvy = 0;
            if (rng.nextDouble() < shakeRate * anxiety) {
                // An abrupt shake: a push roughly opposite to the current motion.
                double turn = Math.PI + (rng.nextDouble() - 0.5);
                dvx = 2 * (vx * Math.cos(turn) - vy * Math.sin(turn));
                dvy = 2 * (vx * Math.sin(turn) + vy * Math.cos(turn));
            }
            // The pull toward the start acts on positions in the original 60-pixel units.
            dvx += anxiety * (jitter * Seeds.normal(rng) - centripetal * xs[t] * PATH_LENGTH) * step;
            dvy += anxiety * (jitter * Seeds.normal(rng) - centripetal * ys[t] * PATH_LENGTH) * step;
            vx += dvx;
            vy += dvy;
            double speed = Math.hypot(vx, vy);
            if (speed == 0) { vx = step; vy = 0; } else { vx = vx / speed * step; vy = vy / speed * step; }
            xs[t + 1] = xs[t] + vx;
            ys[t + 1] = ys[t] + vy;
        }
        return new double[][]{xs, ys};
    }

    /**
     * Draws the first n points, scaled so the bounding box's longer side is extent pixels, centred in
     * size x size. Each time step spends the same exposure along its segment, split over bilinear
     * splats at most half a pixel apart so fast segments leave no gaps. Normalised.
     */
    static Kernel rasterize(double[] xs, double[] ys, int n, int size, double extent) {
        double minX = Double.MAX_VALUE, maxX = -Double.MAX_VALUE, minY = Double.MAX_VALUE, maxY = -Double.MAX_VALUE;
        for (int i = 0; i < n; i++) {
            minX = Math.min(minX, xs[i]); maxX = Math.max(maxX, xs[i]);
            minY = Math.min(minY, ys[i]); maxY = Math.max(maxY, ys[i]);
        }
        double span = Math.max(maxX - minX, maxY - minY);
        double s = span > 1e-12 ? extent / span : 0;
        double centre = (size - 1) / 2.0, cx = (minX + maxX) / 2, cy = (minY + maxY) / 2;
        double[] k = new double[size * size];
        for (int i = 0; i + 1 < n; i++) {
            double ax = centre + (xs[i] - cx) * s, ay = centre + (ys[i] - cy) * s;
            double bx = centre + (xs[i + 1] - cx) * s, by = centre + (ys[i + 1] - cy) * s;
            int parts = Math.max(1, (int) Math.ceil(2 * Math.hypot(bx - ax, by - ay)));
            for (int p = 0; p < parts; p++) {
                double t = (p + 0.5) / parts;
                splatBilinear(k, size, ax + t * (bx - ax), ay + t * (by - ay), 1.0 / parts);
            }
        }
        return Kernel.normalized(size, k);
    }

    private static void splatBilinear(double[] k, int size, double px, double py, double w) {
        int x0 = (int) Math.floor(px), y0 = (int) Math.floor(py);
        double fx = px - x0, fy = py - y0;
        splat(k, size, y0, x0, w * (1 - fy) * (1 - fx));
        splat(k, size, y0, x0 + 1, w * (1 - fy) * fx);
        splat(k, size, y0 + 1, x0, w * fy * (1 - fx));
        splat(k, size, y0 + 1, x0 + 1, w * fy * fx);
    }

    private static void splat(double[] k, int size, int y, int x, double w) {
        if (w == 0) return;
        // extent <= size - 3 keeps every splat off the outer ring; clamp anyway against rounding.
        y = Math.min(size - 1, Math.max(0, y));
        x = Math.min(size - 1, Math.max(0, x));
        k[y * size + x] += w;
    }

    /**
     * A bivariate Gaussian exp(-p^T S^-1 p / 2) over offsets p = (x, y) from the centre, with
     * S = R diag(sigmaX^2, sigmaY^2) R^T and R the rotation by theta: isotropic when the sigmas are
     * equal. Normalised to sum 1.
     */
    public static Kernel gaussian(int size, double sigmaX, double sigmaY, double theta) {
        if (size <= 0 || size % 2 == 0) throw new IllegalArgumentException("kernel size must be odd and positive, got " + size);
        if (!(sigmaX > 0) || !(sigmaY > 0)) throw new IllegalArgumentException("Gaussian sigmas must be positive, got " + sigmaX + ", " + sigmaY);
        double c = Math.cos(theta), s = Math.sin(theta);
        double vx = sigmaX * sigmaX, vy = sigmaY * sigmaY;
        // Inverse covariance of R diag(vx, vy) R^T is R diag(1/vx, 1/vy) R^T.
        double a = c * c / vx + s * s / vy, b = c * s * (1 / vx - 1 / vy), d = s * s / vx + c * c / vy;
        int r = size / 2;
        double[] k = new double[size * size];
        for (int i = 0; i < size; i++)
            for (int j = 0; j < size; j++) {
                double y = i - r, x = j - r;
                k[i * size + j] = Math.exp(-0.5 * (a * x * x + 2 * b * x * y + d * y * y));
            }
        return Kernel.normalized(size, k);
    }

    /** A random Gaussian blur: odd size in [7, 21], isotropic half the time, sigmas in [sigmaMin, sigmaMax]. */
    public static Kernel randomGaussian(SplittableRandom rng, double sigmaMin, double sigmaMax) {
        int size = 2 * rng.nextInt(3, 11) + 1;
        double sx = Seeds.uniform(rng, sigmaMin, sigmaMax);
        if (rng.nextBoolean()) return gaussian(size, sx, sx, 0);
        double sy = Seeds.uniform(rng, sigmaMin, sigmaMax), theta = Seeds.uniform(rng, -Math.PI, Math.PI);
        return gaussian(size, sx, sy, theta);
    }
}
