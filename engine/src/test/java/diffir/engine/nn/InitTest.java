package diffir.engine.nn;

import diffir.engine.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * PyTorch's default initialisation, checked by distribution (our generator differs from PyTorch's):
 * every value inside the bound, and mean and variance those of U(-b, b) within sampling error.
 */
class InitTest {
    /** Values in [-bound, bound), mean ~ 0 and variance ~ bound^2/3, within 5 standard errors. */
    private static void assertUniform(Tensor t, double bound, String what) {
        float[] v = t.toFloatArray();
        int n = v.length;
        double sum = 0, sumSq = 0, max = 0;
        for (float x : v) {
            sum += x;
            sumSq += (double) x * x;
            max = Math.max(max, Math.abs(x));
        }
        double mean = sum / n, var = sumSq / n - mean * mean;
        double expVar = bound * bound / 3;
        assertTrue(max <= bound, what + ": |value| " + max + " exceeds bound " + bound);
        assertTrue(max > 0.95 * bound, what + ": values " + max + " do not reach the bound " + bound);
        assertEquals(0, mean, 5 * Math.sqrt(expVar / n), what + ": mean");
        // Var of x^2 for U(-b,b) is 4b^4/45.
        assertEquals(expVar, var, 5 * Math.sqrt(4 * Math.pow(bound, 4) / 45 / n), what + ": variance");
    }

    @Test
    void kaimingBoundFollowsPyTorchFormula() {
        // a = sqrt(5) gives 1/sqrt(fan_in); a = 0 (ReLU gain) gives sqrt(6/fan_in).
        assertEquals(1 / Math.sqrt(27), Init.kaimingUniformBound(27, Math.sqrt(5)), 1e-12);
        assertEquals(Math.sqrt(6.0 / 27), Init.kaimingUniformBound(27, 0), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> Init.kaimingUniformBound(0, 1));
    }

    @Test
    void conv2dUsesFanInOfOneGroup() {
        Conv2d c = new Conv2d(Init.cpu(11), 48, 96, 3, 1, 1, 2, true);
        assertArrayEquals(new int[]{96, 24, 3, 3}, c.weight().shape());
        double bound = 1 / Math.sqrt(24 * 9);
        assertUniform(c.weight(), bound, "conv weight");
        assertUniform(c.bias(), bound, "conv bias");
        Conv2d dw = new Conv2d(Init.cpu(12), 150, 150, 3, 1, 1, 150, false);
        assertUniform(dw.weight(), 1 / 3.0, "depthwise weight");
        assertNull(dw.bias());
    }

    @Test
    void linearUsesFanIn() {
        Linear l = new Linear(Init.cpu(13), 256, 200, true);
        assertUniform(l.weight(), 1 / 16.0, "linear weight");
        assertUniform(l.bias(), 1 / 16.0, "linear bias");
    }

    @Test
    void layerNormStartsAsIdentityScale() {
        LayerNorm n = new LayerNorm(Init.cpu(1), 5, LayerNorm.Type.WITH_BIAS);
        assertArrayEquals(new float[]{1, 1, 1, 1, 1}, n.weight().toFloatArray());
        assertArrayEquals(new float[5], n.bias().toFloatArray());
    }

    @Test
    void seedsMakeInitialisationReproducible() {
        assertArrayEquals(new Linear(Init.cpu(5), 3, 4, true).weight().toFloatArray(),
                new Linear(Init.cpu(5), 3, 4, true).weight().toFloatArray());
        assertFalse(java.util.Arrays.equals(new Linear(Init.cpu(5), 3, 4, true).weight().toFloatArray(),
                new Linear(Init.cpu(6), 3, 4, true).weight().toFloatArray()));
    }
}
