package diffir.engine.cpu;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The vectorised GELU gate agrees with the scalar definitions in MathF. */
class GeluLanesTest {
    /** x over [-16, 16] in steps of 1/512, plus the signed zeros; the length leaves a scalar tail. */
    private static float[] sweep() {
        float[] x = new float[16 * 2 * 512 + 3];
        for (int i = 0; i < x.length - 2; i++) x[i] = -16f + i / 512f;
        x[x.length - 2] = 0f;
        x[x.length - 1] = -0f;
        return x;
    }

    /**
     * Largest |v - s| relative to max(|s|, floor). Below the floor the difference is judged against the
     * floor: values far below anything that matters (gelu of x << 0), and gelu' near its root at
     * x = -0.75 where it is a difference of two terms of size 0.2 and float rounding is absolute.
     */
    private static double maxRelDiff(float[] v, float[] s, double floor) {
        double m = 0;
        for (int i = 0; i < s.length; i++) m = Math.max(m, Math.abs((double) v[i] - s[i]) / Math.max(Math.abs(s[i]), floor));
        return m;
    }

    @Test
    void gateMatchesScalarGelu() {
        float[] x = sweep(), ones = new float[x.length], v = new float[x.length], s = new float[x.length];
        java.util.Arrays.fill(ones, 1f);
        GeluLanes.gate(x, 0, ones, 0, v, 0, x.length);
        for (int i = 0; i < x.length; i++) s[i] = MathF.gelu(x[i]);
        double d = maxRelDiff(v, s, 1e-6);
        assertTrue(d < 3e-6, "gelu lanes vs scalar: " + d);
    }

    @Test
    void gateBackwardMatchesScalarGradients() {
        float[] x = sweep(), a = x.clone(), b = new float[x.length], g = new float[x.length];
        java.util.Arrays.fill(b, 1f);
        java.util.Arrays.fill(g, 1f);
        GeluLanes.gateBackward(a, 0, b, 0, g, 0, x.length);
        float[] sGrad = new float[x.length], sGelu = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            sGrad[i] = MathF.geluGrad(x[i]);
            sGelu[i] = MathF.gelu(x[i]);
        }
        double dg = maxRelDiff(a, sGrad, 0.05), dv = maxRelDiff(b, sGelu, 1e-6);
        assertTrue(dg < 3e-6, "gelu' lanes vs scalar: " + dg);
        assertTrue(dv < 3e-6, "gelu (backward) lanes vs scalar: " + dv);
    }

    @Test
    void laneExpIsWithinTwoUlpOfMathExp() {
        // Every 1/1024 over the whole float range of e^x, plus the clamped ends and beyond.
        int n = (int) ((89 + 104) * 1024) + 8;
        float[] x = new float[n];
        for (int i = 0; i < n - 8; i++) x[i] = -104f + i / 1024f;
        float[] extra = {-200f, -103.97f, -87.5f, 0f, -0f, 88.7f, 89f, 200f};
        System.arraycopy(extra, 0, x, n - 8, 8);
        int vl = RowKernels.VL;
        for (int i = 0; i + vl <= n; i += vl) {
            float[] got = GeluLanes.exp(jdk.incubator.vector.FloatVector.fromArray(RowKernels.S, x, i)).toArray();
            for (int j = 0; j < vl; j++) {
                float want = (float) Math.exp(x[i + j]);
                float ulp = Math.ulp(want == 0f ? Float.MIN_VALUE : want);
                assertTrue(want == got[j] || Math.abs(got[j] - want) <= 2 * ulp,
                        "exp(" + x[i + j] + ") = " + got[j] + ", Math.exp gives " + want);
            }
        }
    }
}
