package diffir.engine.cpu;

/** Scalar special functions with float32-accurate results, shared by all CPU kernels. */
public final class MathF {
    private MathF() {}

    static final double INV_SQRT2 = 0.7071067811865476;
    static final double INV_SQRT_2PI = 0.3989422804014327;

    /**
     * Coefficients of the exponent's polynomial in t = 1 / (1 + |x|/2), constant term first, in
     * Numerical Recipes' erfcc Chebyshev fit. Shared with the vector lanes ({@link ElementwiseRows}),
     * so both evaluate the same function.
     */
    static final double[] ERFC_POLY = {-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806,
            0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277};

    /**
     * Complementary error function with relative error below 1.2e-7 everywhere:
     * erfc(|x|) = t exp(-x^2 + P(t)). Relative accuracy in the tail is what keeps gelu(x) exact for x << 0.
     */
    public static double erfc(double x) {
        double z = Math.abs(x);
        double t = 1.0 / (1.0 + 0.5 * z);
        double p = ERFC_POLY[ERFC_POLY.length - 1];
        for (int k = ERFC_POLY.length - 2; k >= 0; k--) p = ERFC_POLY[k] + t * p; // Horner
        double r = t * Math.exp(-z * z + p);
        return x >= 0 ? r : 2.0 - r;
    }

    public static double erf(double x) {
        return 1.0 - erfc(x);
    }

    /** Exact GELU: x * Phi(x) = 0.5 x erfc(-x / sqrt 2). */
    public static float gelu(float x) {
        return (float) (0.5 * x * erfc(-x * INV_SQRT2));
    }

    /** d gelu / dx = Phi(x) + x phi(x). */
    public static float geluGrad(float x) {
        double cdf = 0.5 * erfc(-x * INV_SQRT2);
        double pdf = INV_SQRT_2PI * Math.exp(-0.5 * (double) x * x);
        return (float) (cdf + x * pdf);
    }
}
