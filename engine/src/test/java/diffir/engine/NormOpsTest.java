package diffir.engine;

import diffir.engine.ops.Ops;
import diffir.engine.testing.Fixtures;
import diffir.engine.testing.GradCheck;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;
import java.util.Map;

import static diffir.engine.testing.GradCheck.param;
import static org.junit.jupiter.api.Assertions.*;

/** Softmax, L2 normalisation and channel LayerNorm (plain and modulated) on the CPU backend. */
class NormOpsTest {
    private static final float LN_EPS = 1e-5f;

    // ---------------------------------------------------------------- PyTorch fixtures

    @Test
    void softmaxMatchesPyTorch() {
        Map<String, Tensor> f = Fixtures.load("softmax");
        FixtureCase.check(f, "softmax.", in -> Ops.softmax(in[0]), "x");
        FixtureCase.check(f, "log_softmax.", in -> Ops.logSoftmax(in[0]), "x");
    }

    @Test
    void l2NormalizeMatchesPyTorch() {
        Map<String, Tensor> f = Fixtures.load("l2_normalize");
        FixtureCase.check(f, "l2.", in -> Ops.l2Normalize(in[0], 1e-12f), "x");
        // Rows far below eps take F.normalize's clamped branch: out = x/eps, gx = gy/eps.
        FixtureCase.check(f, "l2_clamped.", in -> Ops.l2Normalize(in[0], 0.5f), "x");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"with_bias_c6", "with_bias_c9", "with_bias_mod_c6", "with_bias_mod_c9",
            "bias_free_c6", "bias_free_c9", "bias_free_mod_c6", "bias_free_mod_c9"})
    void layerNormMatchesPyTorch(String name) {
        Map<String, Tensor> f = Fixtures.load("layer_norm");
        boolean withBias = name.startsWith("with_bias"), mod = name.contains("_mod");
        String p = name + ".";
        if (withBias && mod) FixtureCase.check(f, p, in -> Ops.modulatedLayerNorm(in[0], in[1], in[2], in[3], LN_EPS), "x", "w", "b", "mod");
        else if (withBias) FixtureCase.check(f, p, in -> Ops.layerNorm(in[0], in[1], in[2], LN_EPS), "x", "w", "b");
        else if (mod) FixtureCase.check(f, p, in -> Ops.modulatedLayerNorm(in[0], in[1], null, in[2], LN_EPS), "x", "w", "mod");
        else FixtureCase.check(f, p, in -> Ops.layerNorm(in[0], in[1], null, LN_EPS), "x", "w");
    }

    // ---------------------------------------------------------------- finite differences

    @Test
    void softmaxGradients() {
        GradCheck.check(in -> Ops.softmax(in[0]), param(1, 2, 3, 11));
        GradCheck.check(in -> Ops.logSoftmax(in[0]), param(2, 3, 13));
    }

    @Test
    void l2NormalizeGradients() {
        GradCheck.check(in -> Ops.l2Normalize(in[0], 1e-12f), param(3, 2, 3, 11));
        // Every row clamped (norms about 0.1 against eps 10): a pure scaling by 1/eps.
        GradCheck.check(in -> Ops.l2Normalize(Ops.mulScalar(in[0], 0.03f), 10f), param(4, 3, 9));
    }

    @Test
    void layerNormGradients() {
        GradCheck.check(in -> Ops.layerNorm(in[0], in[1], in[2], LN_EPS), param(5, 2, 5, 3, 7), param(6, 5), param(7, 5));
        GradCheck.check(in -> Ops.layerNorm(in[0], in[1], null, LN_EPS), param(8, 2, 5, 3, 7), param(9, 5));
        GradCheck.check(in -> Ops.modulatedLayerNorm(in[0], in[1], in[2], in[3], LN_EPS),
                param(10, 2, 5, 3, 7), param(11, 5), param(12, 5), param(13, 2, 10));
        GradCheck.check(in -> Ops.modulatedLayerNorm(in[0], in[1], null, in[2], LN_EPS),
                param(14, 2, 5, 3, 7), param(15, 5), param(16, 2, 10));
    }

    // ---------------------------------------------------------------- fused equals unfused

    /** Restormer's LayerNorm written with elementary ops; bias null for BiasFree, mod null for none. */
    private static Tensor composedLayerNorm(Tensor x, Tensor w, Tensor b, Tensor mod) {
        int c = x.dim(1);
        Tensor d = Ops.sub(x, Ops.mean(x, true, 1));
        Tensor var = Ops.mean(Ops.square(d), true, 1);
        Tensor rstd = Ops.rdivScalar(Ops.sqrt(Ops.addScalar(var, LN_EPS)), 1f);
        Tensor y = Ops.mul(Ops.mul(b == null ? x : d, rstd), Ops.reshape(w, 1, c, 1, 1));
        if (b != null) y = Ops.add(y, Ops.reshape(b, 1, c, 1, 1));
        if (mod != null) {
            List<Tensor> k = Ops.chunk(Ops.reshape(mod, x.dim(0), 2 * c, 1, 1), 2, 1);
            y = Ops.add(Ops.mul(y, k.get(0)), k.get(1));
        }
        return y;
    }

    @Test
    void layerNormEqualsComposition() {
        // 17 x 23 = 391 pixels: two pixel blocks, vector loops and tails.
        int n = 2, c = 9, h = 17, w = 23;
        Tensor x = Ops.addScalar(param(20, n, c, h, w), 0.5f), wt = param(21, c), b = param(22, c), mod = param(23, n, 2 * c);
        Equivalence.check("WithBias", in -> Ops.layerNorm(in[0], in[1], in[2], LN_EPS),
                in -> composedLayerNorm(in[0], in[1], in[2], null), x, wt, b);
        Equivalence.check("BiasFree", in -> Ops.layerNorm(in[0], in[1], null, LN_EPS),
                in -> composedLayerNorm(in[0], in[1], null, null), x, wt);
        Equivalence.check("WithBias modulated", in -> Ops.modulatedLayerNorm(in[0], in[1], in[2], in[3], LN_EPS),
                in -> composedLayerNorm(in[0], in[1], in[2], in[3]), x, wt, b, mod);
        Equivalence.check("BiasFree modulated", in -> Ops.modulatedLayerNorm(in[0], in[1], null, in[2], LN_EPS),
                in -> composedLayerNorm(in[0], in[1], null, in[2]), x, wt, mod);
    }

    @Test
    void softmaxAndL2NormalizeEqualCompositions() {
        Tensor x = param(30, 3, 4, 37);
        Equivalence.check("softmax", in -> Ops.softmax(in[0]),
                in -> { Tensor e = Ops.exp(in[0]); return Ops.div(e, Ops.sum(e, true, -1)); }, x);
        Equivalence.check("logSoftmax", in -> Ops.logSoftmax(in[0]),
                in -> Ops.log(Ops.softmax(in[0])), x);
        Equivalence.check("l2Normalize", in -> Ops.l2Normalize(in[0], 1e-12f),
                in -> Ops.div(in[0], Ops.sqrt(Ops.sum(Ops.square(in[0]), true, -1))), x);
    }

    @Test
    void softmaxIsStableForLargeInputs() {
        Tensor x = Tensor.of(new float[]{1000f, 1001f, 999f, -1000f}, 1, 4);
        float[] y = Ops.softmax(x).toFloatArray();
        double e = Math.exp(-1), z = 1 + e + e * e;
        assertArrayEquals(new float[]{(float) (e / z), (float) (1 / z), (float) (e * e / z), 0f}, y, 1e-6f);
        float[] ly = Ops.logSoftmax(x).toFloatArray();
        assertEquals((float) -Math.log(z), ly[1], 1e-5f);
        assertEquals(-2001 - (float) Math.log(z), ly[3], 1e-2f);
    }

    // ---------------------------------------------------------------- bad input

    @Test
    void rejectsBadShapesWithClearMessages() {
        Tensor x = param(40, 2, 4, 3, 3);
        var e = assertThrows(IllegalArgumentException.class, () -> Ops.layerNorm(x, param(41, 5), null, LN_EPS));
        assertTrue(e.getMessage().contains("weight"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Ops.modulatedLayerNorm(x, param(42, 4), null, param(43, 2, 4), LN_EPS));
        assertTrue(e.getMessage().contains("modulation"), e.getMessage());
        // Kernel-level checks, for callers that reach the backend directly.
        Tensor out = Tensor.empty(Device.CPU, 2, 4, 3, 3), wrong = Tensor.empty(Device.CPU, 2, 3, 4);
        e = assertThrows(IllegalArgumentException.class, () -> x.backend().layerNorm(x, param(44, 4), null, null, LN_EPS, out, wrong, wrong));
        assertTrue(e.getMessage().contains("mean") && e.getMessage().contains("expected [2, 3, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> x.backend().softmax(x, false, Tensor.empty(Device.CPU, 2, 4, 3, 4)));
        assertTrue(e.getMessage().startsWith("softmax: out"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> x.backend().l2Normalize(x, 1e-12f, Tensor.empty(Device.CPU, 2, 4, 3, 3), Tensor.empty(Device.CPU, 2, 4, 3)));
        assertTrue(e.getMessage().contains("norm"), e.getMessage());
    }
}
