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
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The fused DiffIR kernels on the CPU backend: gated depthwise conv (GDFN) and channel attention (MDTA). */
class FusedOpsTest {

    // ---------------------------------------------------------------- PyTorch fixtures

    @ParameterizedTest(name = "{0}")
    @CsvSource({"hd3_k3_bias", "hd5_k3", "hd3_k5_bias"})
    void gatedDwConvMatchesPyTorch(String name) {
        Map<String, Tensor> f = Fixtures.load("gated_dwconv");
        if (name.endsWith("_bias")) FixtureCase.check(f, name + ".", in -> Ops.gatedDwConv(in[0], in[1], in[2]), "x", "w", "b");
        else FixtureCase.check(f, name + ".", in -> Ops.gatedDwConv(in[0], in[1], null), "x", "w");
    }

    @ParameterizedTest(name = "{0} heads")
    @CsvSource({"c6_h1, 1", "c6_h3, 3", "c9_h3, 3"})
    void channelAttentionMatchesPyTorch(String name, int heads) {
        Map<String, Tensor> f = Fixtures.load("channel_attention");
        FixtureCase.check(f, name + ".", in -> Ops.channelAttention(in[0], in[1], heads), "qkv", "t");
    }

    // ---------------------------------------------------------------- finite differences

    @Test
    void gatedDwConvGradients() {
        GradCheck.check(in -> Ops.gatedDwConv(in[0], in[1], in[2]), param(1, 2, 6, 4, 11), scaled(2, 0.5f, 6, 1, 3, 3), param(3, 6));
        GradCheck.check(in -> Ops.gatedDwConv(in[0], in[1], null), param(4, 2, 4, 5, 3), scaled(5, 0.3f, 4, 1, 5, 5));
    }

    @Test
    void channelAttentionGradients() {
        GradCheck.check(in -> Ops.channelAttention(in[0], in[1], 1), param(6, 2, 9, 3, 5), Tensor.of(new float[]{1.3f}, 1, 1, 1).requiresGrad(true));
        GradCheck.check(in -> Ops.channelAttention(in[0], in[1], 3), param(7, 2, 18, 3, 4), Tensor.of(new float[]{0.8f, -1.1f, 2f}, 3, 1, 1).requiresGrad(true));
    }

    /** A weight of standard normals times scale that requires grad. */
    private static Tensor scaled(long seed, float scale, int... shape) {
        return Tensor.of(Ops.mulScalar(param(seed, shape), scale).toFloatArray(), shape).requiresGrad(true);
    }

    // ---------------------------------------------------------------- fused equals unfused

    /** MDTA's attention core written with the generic ops (rearrange, F.normalize, matmul, softmax). */
    private static Tensor composedAttention(Tensor qkv, Tensor temperature, int heads) {
        int n = qkv.dim(0), c = qkv.dim(1) / 3, h = qkv.dim(2), w = qkv.dim(3);
        List<Tensor> parts = Ops.chunk(qkv, 3, 1);
        Tensor q = Ops.l2Normalize(Ops.reshape(parts.get(0), n, heads, c / heads, h * w), 1e-12f);
        Tensor k = Ops.l2Normalize(Ops.reshape(parts.get(1), n, heads, c / heads, h * w), 1e-12f);
        Tensor v = Ops.reshape(parts.get(2), n, heads, c / heads, h * w);
        Tensor attn = Ops.softmax(Ops.mul(Ops.matmul(q, k, false, true), Ops.reshape(temperature, heads, 1, 1)));
        return Ops.reshape(Ops.matmul(attn, v), n, c, h, w);
    }

    @Test
    void channelAttentionEqualsComposition() {
        // 25 x 27 = 675 pixels: each head is split over at least two pixel ranges; c = 5 rows per head
        // exercises the row-block edges of the Gram and combination kernels.
        Equivalence.check("one head", in -> Ops.channelAttention(in[0], in[1], 1), in -> composedAttention(in[0], in[1], 1),
                param(10, 1, 15, 25, 27), Tensor.of(new float[]{1.7f}, 1, 1, 1));
        Equivalence.check("two heads", in -> Ops.channelAttention(in[0], in[1], 2), in -> composedAttention(in[0], in[1], 2),
                param(11, 2, 30, 25, 27), Tensor.of(new float[]{0.6f, -1.4f}, 2, 1, 1));
    }

    @Test
    void gatedDwConvEqualsComposition() {
        // Ops.conv2d's CPU kernel comes from the conv/GEMM work; this comparison runs once it is in.
        assumeTrue(cpuConvAvailable(), "CPU conv2d is not implemented on this branch yet");
        int hd = 5;
        for (int k : new int[]{3, 5}) {
            Equivalence.check("K=" + k, in -> Ops.gatedDwConv(in[0], in[1], in[2]),
                    in -> {
                        List<Tensor> z = Ops.chunk(Ops.conv2d(in[0], in[1], in[2], 1, k / 2, 2 * hd), 2, 1);
                        return Ops.mul(Ops.gelu(z.get(0)), z.get(1));
                    },
                    param(12, 2, 2 * hd, 13, 29), scaled(13, 0.4f, 2 * hd, 1, k, k), param(14, 2 * hd));
        }
    }

    /** Both CPU paths of the gated conv (flat planes up to 32 wide, rows above) and their boundary widths. */
    @Test
    void gatedDwConvEqualsCompositionAtEveryWidth() {
        int hd = 3;
        for (int k : new int[]{3, 5})
            for (int w : new int[]{5, 8, 16, 31, 32, 33, 48, 64}) {
                Equivalence.check("K=" + k + " W=" + w, in -> Ops.gatedDwConv(in[0], in[1], in[2]),
                        in -> {
                            List<Tensor> z = Ops.chunk(Ops.conv2d(in[0], in[1], in[2], 1, k / 2, 2 * hd), 2, 1);
                            return Ops.mul(Ops.gelu(z.get(0)), z.get(1));
                        },
                        param(40 + w, 2, 2 * hd, 7, w), scaled(41 + k, 0.4f, 2 * hd, 1, k, k), param(42, 2 * hd));
            }
    }

    private static boolean cpuConvAvailable() {
        try {
            Ops.conv2d(Tensor.zeros(Device.CPU, 1, 1, 3, 3), Tensor.zeros(Device.CPU, 1, 1, 3, 3), null, 1, 1, 1);
            return true;
        } catch (UnsupportedOperationException e) {
            return false;
        }
    }

    // ---------------------------------------------------------------- sanity

    @Test
    void attentionRowsAreADistribution() {
        // Identical q and k rows with a large temperature: each row's attention concentrates on itself.
        int c = 4, p = 40;
        float[] v = new float[3 * c * p];
        java.util.SplittableRandom rng = new java.util.SplittableRandom(5);
        for (int i = 0; i < c; i++)
            for (int j = 0; j < p; j++) {
                float r = (float) rng.nextGaussian();
                v[i * p + j] = r;            // q
                v[(c + i) * p + j] = r;      // k = q
                v[(2 * c + i) * p + j] = i;  // v row i is constant i
            }
        Tensor out = Ops.channelAttention(Tensor.of(v, 1, 3 * c, 5, 8), Tensor.of(new float[]{200f}, 1), 1);
        float[] o = out.toFloatArray();
        for (int i = 0; i < c; i++) assertEquals(i, o[i * p + 7], 1e-3, "row " + i);
    }

    @Test
    void gatedDwConvOfIdentityKernelIsGeluGate() {
        // A centre-tap-only kernel makes z = x: out = gelu(x1) * x2 exactly.
        int hd = 2, h = 3, w = 19;
        Tensor x = param(20, 1, 2 * hd, h, w);
        float[] wt = new float[2 * hd * 9];
        for (int c = 0; c < 2 * hd; c++) wt[c * 9 + 4] = 1f;
        float[] out = Ops.gatedDwConv(x, Tensor.of(wt, 2 * hd, 1, 3, 3), null).toFloatArray();
        float[] xv = x.toFloatArray();
        int p = h * w;
        for (int c = 0; c < hd; c++)
            for (int i = 0; i < p; i++)
                assertEquals(diffir.engine.cpu.MathF.gelu(xv[c * p + i]) * xv[(hd + c) * p + i], out[c * p + i], 1e-6f);
    }

    // ---------------------------------------------------------------- bad input

    @Test
    void rejectsBadShapesWithClearMessages() {
        var e = assertThrows(IllegalArgumentException.class, () -> Ops.gatedDwConv(param(30, 1, 4, 3, 3), param(31, 4, 1, 2, 2), null));
        assertTrue(e.getMessage().contains("odd K"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Ops.channelAttention(param(32, 1, 12, 3, 3), param(33, 3), 3));
        assertTrue(e.getMessage().contains("divisible by 3 heads"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Ops.channelAttention(param(34, 1, 12, 3, 3), param(35, 3), 2));
        assertTrue(e.getMessage().contains("temperature"), e.getMessage());
        // Kernel-level checks, for callers that reach the backend directly.
        Tensor x = param(36, 1, 4, 3, 3);
        e = assertThrows(IllegalArgumentException.class,
                () -> x.backend().gatedDwConv(x, param(37, 4, 1, 3, 3), null, Tensor.empty(Device.CPU, 1, 4, 3, 3)));
        assertTrue(e.getMessage().startsWith("gatedDwConv: out") && e.getMessage().contains("expected [1, 2, 3, 3]"), e.getMessage());
        Tensor qkv = param(38, 1, 6, 3, 3);
        e = assertThrows(IllegalArgumentException.class, () -> qkv.backend().channelAttention(qkv, param(39, 1), 1,
                Tensor.empty(Device.CPU, 1, 2, 3, 3), Tensor.empty(Device.CPU, 1, 1, 2, 2), Tensor.empty(Device.CPU, 1, 2)));
        assertTrue(e.getMessage().contains("norms") && e.getMessage().contains("expected [1, 4]"), e.getMessage());
    }
}
