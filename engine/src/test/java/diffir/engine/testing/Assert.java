package diffir.engine.testing;

import diffir.engine.Shapes;
import diffir.engine.Tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Comparisons by relative error ||out - ref|| / ||ref||, as the project's standards ask. */
public final class Assert {
    private Assert() {}

    public static double relError(float[] out, float[] ref) {
        double num = 0, den = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = (double) out[i] - ref[i];
            num += d * d;
            den += (double) ref[i] * ref[i];
        }
        if (Double.isNaN(num)) return Double.POSITIVE_INFINITY;
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    public static void close(Tensor out, Tensor ref, double tol, String what) {
        assertArrayEquals(ref.shape(), out.shape(), what + ": shape " + Shapes.str(out.shape()) + " vs " + Shapes.str(ref.shape()));
        close(out.toFloatArray(), ref.toFloatArray(), tol, what);
    }

    public static void close(float[] out, float[] ref, double tol, String what) {
        assertTrue(out.length == ref.length, what + ": " + out.length + " values vs " + ref.length);
        double e = relError(out, ref);
        assertTrue(e <= tol, what + ": relative error " + e + " > " + tol);
    }
}
