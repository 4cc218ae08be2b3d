package diffir.engine;

import diffir.engine.backend.Backend;
import diffir.engine.backend.ConvSpec;
import diffir.engine.ops.Ops;
import diffir.engine.testing.Assert;
import diffir.engine.testing.Fixtures;
import diffir.engine.testing.GradCheck;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;

import static diffir.engine.testing.GradCheck.param;
import static org.junit.jupiter.api.Assertions.*;

/** matmul and conv2d on the CPU backend: PyTorch fixtures, finite differences, double-precision loops. */
class GemmConvTest {
    private static final Backend CPU = Device.CPU.backend();

    // ------------------------------------------------------------------ PyTorch fixtures

    @Test
    void matmulMatchesPyTorch() {
        Map<String, Tensor> f = Fixtures.load("gemm_matmul");
        for (String name : cases(f, "trans")) {
            float[] trans = Fixtures.get(f, name + ".trans").toFloatArray();
            Tensor a = Fixtures.get(f, name + ".a").requiresGrad(true), b = Fixtures.get(f, name + ".b").requiresGrad(true);
            Tensor out = Ops.matmul(a, b, trans[0] != 0, trans[1] != 0);
            Assert.close(out, Fixtures.get(f, name + ".out"), 1e-5, name + " out");
            out.backward(Fixtures.get(f, name + ".gout"));
            Assert.close(a.grad(), Fixtures.get(f, name + ".ga"), 1e-4, name + " ga");
            Assert.close(b.grad(), Fixtures.get(f, name + ".gb"), 1e-4, name + " gb");
        }
    }

    @Test
    void conv2dMatchesPyTorch() {
        Map<String, Tensor> f = Fixtures.load("gemm_conv");
        TreeSet<String> names = cases(f, "config");
        assertTrue(names.size() >= 16, "conv fixture cases: " + names);
        for (String name : names) {
            float[] cfg = Fixtures.get(f, name + ".config").toFloatArray();
            int stride = (int) cfg[0], pad = (int) cfg[1], groups = (int) cfg[2];
            Tensor x = Fixtures.get(f, name + ".x").requiresGrad(true), w = Fixtures.get(f, name + ".w").requiresGrad(true);
            Tensor bias = f.get(name + ".bias");
            if (bias != null) bias.requiresGrad(true);
            Tensor out = Ops.conv2d(x, w, bias, stride, pad, groups);
            Assert.close(out, Fixtures.get(f, name + ".out"), 1e-5, name + " out");
            out.backward(Fixtures.get(f, name + ".gout"));
            Assert.close(x.grad(), Fixtures.get(f, name + ".gx"), 1e-4, name + " gx");
            Assert.close(w.grad(), Fixtures.get(f, name + ".gw"), 1e-4, name + " gw");
            if (bias != null) Assert.close(bias.grad(), Fixtures.get(f, name + ".gbias"), 1e-4, name + " gbias");
        }
    }

    /** Case names of a fixture: the prefixes of its keys ending in "." + marker. */
    private static TreeSet<String> cases(Map<String, Tensor> f, String marker) {
        TreeSet<String> names = new TreeSet<>();
        for (String key : f.keySet()) if (key.endsWith("." + marker)) names.add(key.substring(0, key.length() - marker.length() - 1));
        assertFalse(names.isEmpty(), "no cases in fixture");
        return names;
    }

    // ------------------------------------------------------------------ finite differences

    @Test
    void matmulGradients() {
        GradCheck.check(in -> Ops.matmul(in[0], in[1]), param(1, 2, 3, 5), param(2, 2, 5, 4));
        GradCheck.check(in -> Ops.matmul(in[0], in[1], true, true), param(3, 5, 3), param(4, 2, 4, 5));
    }

    @Test
    void conv2dGradients() {
        GradCheck.check(in -> Ops.conv2d(in[0], in[1], in[2], 1, 1, 1), param(5, 2, 3, 5, 6), param(6, 4, 3, 3, 3), param(7, 4));
        GradCheck.check(in -> Ops.conv2d(in[0], in[1], null, 2, 1, 2), param(8, 2, 4, 7, 5), param(9, 4, 2, 3, 3));
        GradCheck.check(in -> Ops.conv2d(in[0], in[1], in[2], 1, 1, 3), param(10, 2, 3, 6, 5), param(11, 3, 1, 3, 3), param(12, 3));
        GradCheck.check(in -> Ops.conv2d(in[0], in[1], null, 1, 0, 1), param(13, 2, 3, 4, 5), param(14, 5, 3, 1, 1));
    }

    // ------------------------------------------------------------------ randomized GEMM vs double loops

    /**
     * Shapes around the blocking (MR 6, NR 2 vectors, MC 144, KC 256, NC 3072), ones and odd sizes,
     * small C with long K (split over K between threads), and an A too big to pack whole.
     */
    private static final int[][] GEMM_SHAPES = {
            {1, 1, 1}, {1, 7, 1}, {7, 1, 13}, {6, 32, 1}, {6, 16, 8}, {13, 33, 17}, {5, 31, 300},
            {150, 70, 40}, {145, 65, 257}, {12, 3100, 3}, {31, 97, 513}, {2, 2, 1000}, {48, 48, 600},
            {5, 40, 2100}, {1, 3, 4099}, {150, 100, 2000},
    };

    @Test
    void gemmMatchesDoubleLoopOverManyShapes() {
        SplittableRandom rng = new SplittableRandom(42);
        float[][] alphaBeta = {{1, 0}, {1, 1}, {-0.75f, 0.5f}, {2, 0}};
        int run = 0;
        for (int[] mnk : GEMM_SHAPES) {
            for (int variant = 0; variant < 4; variant++, run++) {
                int m = mnk[0], n = mnk[1], k = mnk[2];
                boolean ta = (variant & 1) != 0, tb = (variant & 2) != 0;
                int batch = 1 + run % 3;
                // Every third run shares one operand across the batch.
                int batchA = run % 3 == 2 ? 1 : batch, batchB = run % 3 == 1 && batch > 1 ? 1 : batch;
                float alpha = alphaBeta[run % 4][0], beta = alphaBeta[run % 4][1];
                checkGemm(rng, batch, batchA, batchB, m, n, k, ta, tb, alpha, beta);
            }
        }
    }

    @Test
    void gemmWithEmptyK() {
        checkGemm(new SplittableRandom(3), 2, 2, 2, 3, 4, 0, false, false, 1f, 0.5f);
        checkGemm(new SplittableRandom(4), 1, 1, 1, 3, 4, 0, true, true, 1f, 0f);
    }

    private static void checkGemm(SplittableRandom rng, int batch, int batchA, int batchB, int m, int n, int k,
                                  boolean ta, boolean tb, float alpha, float beta) {
        float[] a = random(rng, batchA * m * k), b = random(rng, batchB * k * n), c0 = random(rng, batch * m * n);
        if (beta == 0) Arrays.fill(c0, Float.NaN);
        Tensor ta_ = Tensor.of(a, batchA, ta ? k : m, ta ? m : k);
        Tensor tb_ = Tensor.of(b, batchB, tb ? n : k, tb ? k : n);
        Tensor out = Tensor.of(c0, batch, m, n);
        CPU.matmul(ta_, tb_, out, ta, tb, alpha, beta);
        float[] ref = new float[batch * m * n];
        for (int bi = 0; bi < batch; bi++) {
            int ao = batchA == 1 ? 0 : bi * m * k, bo = batchB == 1 ? 0 : bi * k * n;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++)
                        s += (double) a[ao + (ta ? p * m + i : i * k + p)] * b[bo + (tb ? j * k + p : p * n + j)];
                    int ci = (bi * m + i) * n + j;
                    ref[ci] = (float) (alpha * s + (beta == 0 ? 0 : beta * (double) c0[ci]));
                }
        }
        Assert.close(out.toFloatArray(), ref, 1e-5,
                String.format("gemm batch %d (a %d, b %d) %dx%dx%d ta=%b tb=%b alpha=%s beta=%s", batch, batchA, batchB, m, n, k, ta, tb, alpha, beta));
    }

    private static float[] random(SplittableRandom rng, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (rng.nextDouble() * 2 - 1);
        return v;
    }

    // ------------------------------------------------------------------ randomized conv vs double loops

    /** (N, C, H, W, O, K, stride, pad, groups): sizes that cross the GEMM blocking, where fixtures stay small. */
    private static final int[][] CONV_SHAPES = {
            {2, 30, 6, 7, 150, 3, 1, 1, 1},   // K = 270 > KC, M = 150 > MC
            {3, 4, 5, 9, 7, 3, 2, 0, 1},
            {2, 6, 9, 8, 4, 3, 1, 3, 2},      // padding > K-1: the transposed conv crops
            {1, 5, 3, 70, 5, 3, 1, 1, 5},     // depthwise with long rows
            {2, 8, 6, 5, 8, 3, 2, 2, 8},      // depthwise, stride 2, wide padding
            {2, 40, 4, 4, 6, 1, 1, 0, 1},
            {2, 8, 40, 40, 6, 1, 1, 0, 1},    // weight gradients with K = N*H*W long enough to split
            {2, 4, 33, 35, 5, 3, 1, 1, 1},
    };

    @Test
    void conv2dMatchesDoubleLoops() {
        SplittableRandom rng = new SplittableRandom(7);
        for (int[] c : CONV_SHAPES) {
            ConvSpec s = new ConvSpec(c[0], c[1], c[2], c[3], c[4], c[5], c[5], c[6], c[6], c[7], c[7], c[8]);
            float[] x = random(rng, s.n() * s.c() * s.h() * s.w());
            float[] w = random(rng, s.o() * s.cPerGroup() * s.kh() * s.kw());
            float[] bias = random(rng, s.o());
            float[] gy = random(rng, s.n() * s.o() * s.outH() * s.outW());
            double[] y = new double[gy.length], gx = new double[x.length], gw = new double[w.length];
            for (int i = 0; i < y.length; i++) y[i] = bias[(i / (s.outH() * s.outW())) % s.o()];
            directConv(s, x, w, gy, y, gx, gw);

            Tensor out = Tensor.empty(Device.CPU, s.n(), s.o(), s.outH(), s.outW());
            Tensor xt = Tensor.of(x, s.n(), s.c(), s.h(), s.w()), wt = Tensor.of(w, s.o(), s.cPerGroup(), s.kh(), s.kw());
            CPU.conv2d(xt, wt, Tensor.of(bias, s.o()), s, out);
            Assert.close(out.toFloatArray(), toFloat(y), 1e-5, s + " out");
            Tensor gxt = Tensor.full(Device.CPU, Float.NaN, xt.shape()), gwt = Tensor.full(Device.CPU, Float.NaN, wt.shape());
            Tensor gyt = Tensor.of(gy, out.shape());
            CPU.conv2dBackwardInput(gyt, wt, s, gxt);
            CPU.conv2dBackwardWeight(xt, gyt, s, gwt);
            Assert.close(gxt.toFloatArray(), toFloat(gx), 1e-5, s + " gx");
            Assert.close(gwt.toFloatArray(), toFloat(gw), 1e-5, s + " gw");
        }
    }

    /** y += conv(x, w); gx, gw = the gradients for upstream gy, by the definition. */
    private static void directConv(ConvSpec s, float[] x, float[] w, float[] gy, double[] y, double[] gx, double[] gw) {
        int og = s.oPerGroup(), cg = s.cPerGroup();
        for (int n = 0; n < s.n(); n++)
            for (int o = 0; o < s.o(); o++)
                for (int oy = 0; oy < s.outH(); oy++)
                    for (int ox = 0; ox < s.outW(); ox++) {
                        int yi = ((n * s.o() + o) * s.outH() + oy) * s.outW() + ox;
                        for (int c = 0; c < cg; c++)
                            for (int r = 0; r < s.kh(); r++)
                                for (int q = 0; q < s.kw(); q++) {
                                    int iy = oy * s.strideH() - s.padH() + r, ix = ox * s.strideW() - s.padW() + q;
                                    if (iy < 0 || iy >= s.h() || ix < 0 || ix >= s.w()) continue;
                                    int xi = ((n * s.c() + (o / og) * cg + c) * s.h() + iy) * s.w() + ix;
                                    int wi = ((o * cg + c) * s.kh() + r) * s.kw() + q;
                                    y[yi] += (double) x[xi] * w[wi];
                                    gx[xi] += (double) gy[yi] * w[wi];
                                    gw[wi] += (double) gy[yi] * x[xi];
                                }
                    }
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    @Test
    void kernelsHonourViewOffsets() {
        // Operands and outputs that start inside their storage (narrowView) must be read and written there only.
        SplittableRandom rng = new SplittableRandom(9);
        Tensor a = Tensor.randn(Device.CPU, rng, 3, 7, 13).narrowView(1, 2);
        Tensor b = Tensor.randn(Device.CPU, rng, 3, 13, 40).narrowView(2, 1);
        Tensor outAll = Tensor.full(Device.CPU, -5f, 4, 7, 40), out = outAll.narrowView(1, 2);
        CPU.matmul(a, b, out, false, false, 1f, 0f);
        Assert.close(out, Ops.matmul(Tensor.of(a.toFloatArray(), a.shape()), Tensor.of(b.toFloatArray(), b.shape())), 1e-6, "offset matmul");
        float[] all = outAll.toFloatArray();
        for (int i = 0; i < 7 * 40; i++) assertEquals(-5f, all[i], "row before the view");
        for (int i = 3 * 7 * 40; i < all.length; i++) assertEquals(-5f, all[i], "row after the view");

        ConvSpec s = new ConvSpec(1, 4, 6, 9, 6, 3, 3, 1, 1, 1, 1, 1);
        Tensor x = Tensor.randn(Device.CPU, rng, 3, 4, 6, 9).narrowView(2, 1);
        Tensor w = Tensor.randn(Device.CPU, rng, 6, 4, 3, 3);
        Tensor y = Tensor.zeros(Device.CPU, 2, 6, 6, 9).narrowView(1, 1);
        CPU.conv2d(x, w, null, s, y);
        Assert.close(y, Ops.conv2d(Tensor.of(x.toFloatArray(), x.shape()), w, null, 1, 1, 1), 1e-6, "offset conv2d");
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void rejectsMismatchedMatmulShapes() {
        Tensor a = Tensor.zeros(Device.CPU, 2, 3, 4), b = Tensor.zeros(Device.CPU, 2, 5, 6);
        var e = assertThrows(IllegalArgumentException.class, () -> CPU.matmul(a, b, Tensor.zeros(Device.CPU, 2, 3, 6), false, false, 1, 0));
        assertTrue(e.getMessage().contains("[2, 3, 4]") && e.getMessage().contains("[2, 5, 6]"), e.getMessage());
        Tensor b2 = Tensor.zeros(Device.CPU, 3, 4, 6);
        e = assertThrows(IllegalArgumentException.class, () -> CPU.matmul(a, b2, Tensor.zeros(Device.CPU, 3, 3, 6), false, false, 1, 0));
        assertTrue(e.getMessage().contains("batch"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CPU.matmul(a, Tensor.zeros(Device.CPU, 4, 6), Tensor.zeros(Device.CPU, 2, 3, 5), false, false, 1, 0));
        assertTrue(e.getMessage().contains("out [2, 3, 5]"), e.getMessage());
    }

    @Test
    void rejectsMismatchedConvShapes() {
        ConvSpec s = new ConvSpec(1, 4, 5, 5, 6, 3, 3, 1, 1, 1, 1, 2);
        Tensor x = Tensor.zeros(Device.CPU, 1, 4, 5, 5), out = Tensor.zeros(Device.CPU, 1, 6, 5, 5);
        var e = assertThrows(IllegalArgumentException.class, () -> CPU.conv2d(x, Tensor.zeros(Device.CPU, 6, 4, 3, 3), null, s, out));
        assertTrue(e.getMessage().contains("weight is [6, 4, 3, 3], expected [6, 2, 3, 3]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> CPU.conv2d(x, Tensor.zeros(Device.CPU, 6, 2, 3, 3), Tensor.zeros(Device.CPU, 5), s, out));
        assertTrue(e.getMessage().contains("bias [5]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> CPU.conv2dBackwardInput(Tensor.zeros(Device.CPU, 1, 6, 4, 5), Tensor.zeros(Device.CPU, 6, 2, 3, 3), s, x));
        assertTrue(e.getMessage().contains("gy is [1, 6, 4, 5]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Ops.conv2d(x, Tensor.zeros(Device.CPU, 6, 3, 3, 3), null, 1, 1, 2));
        assertTrue(e.getMessage().contains("does not fit input channels 4"), e.getMessage());
    }
}
