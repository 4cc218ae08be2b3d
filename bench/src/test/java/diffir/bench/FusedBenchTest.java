package diffir.bench;

import diffir.engine.Device;
import diffir.engine.Tensor;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The implementations FusedBench and FusedBackwardBench time compute the same thing (so the benchmarks compare like
 * with like), and the benchmarks' setups refuse what they cannot time honestly.
 */
class FusedBenchTest {
    private static final String[] SHAPES = {"48x12", "96x5"};

    @Test
    void fusedUnfusedAndLoopAgree() {
        for (String op : FusedCase.OPS)
            for (String shape : SHAPES) {
                FusedCase fc = new FusedCase(op, shape, Device.CPU, false);
                float[] fused = fc.forward("fused").toFloatArray(), unfused = fc.forward("unfused").toFloatArray(), loop = fc.loop();
                assertClose(fused, unfused, 1e-5, op + " " + shape + " unfused");
                assertClose(fused, loop, 1e-4, op + " " + shape + " loop");
            }
    }

    @Test
    void fusedAndUnfusedGradientsAgree() {
        for (String op : FusedCase.OPS)
            for (String shape : SHAPES) {
                FusedCase fc = new FusedCase(op, shape, Device.CPU, true);
                float[][] fused = grads(fc, "fused"), unfused = grads(fc, "unfused");
                assertEquals(fc.leaves().length, fused.length);
                for (int i = 0; i < fused.length; i++) {
                    assertTrue(norm(unfused[i]) > 0, op + " " + shape + " gradient " + i + " is zero");
                    assertClose(fused[i], unfused[i], 1e-4, op + " " + shape + " gradient " + i);
                }
            }
    }

    @Test
    void benchmarkBodiesRunRepeatedly() {
        for (String op : FusedCase.OPS) {
            for (String impl : new String[]{"fused", "unfused", "loop"}) {
                FusedBench b = new FusedBench();
                b.op = op;
                b.impl = impl;
                b.shape = "48x6";
                b.device = "cpu";
                b.setup();
                float first = b.run();
                assertEquals(first, b.run(), op + " " + impl);
                b.tearDown();
            }
            for (String impl : new String[]{"fused", "unfused"}) {
                FusedBackwardBench b = new FusedBackwardBench();
                b.op = op;
                b.impl = impl;
                b.shape = "48x6";
                b.device = "cpu";
                b.setup();
                // Each call leaves the case as it found it: no gradient behind, inputs intact, the same gradients next time.
                float[][] g1 = gradsAfterRun(b), g2 = gradsAfterRun(b);
                for (int i = 0; i < g1.length; i++) assertArrayEquals(g1[i], g2[i], op + " " + impl + " gradient " + i);
                b.tearDown();
            }
        }
    }

    @Test
    void unsupportedCombinationsFailInSetupWithOneLine() {
        FusedBench loop = new FusedBench();
        loop.op = "gated";
        loop.impl = "loop";
        loop.shape = "48x6";
        loop.device = "cuda";
        Exception e = assertThrows(IllegalArgumentException.class, loop::setup);
        assertTrue(e.getMessage().contains("impl=loop is a plain CPU loop") && e.getMessage().contains("-p impl=fused,unfused"), e.getMessage());

        FusedBackwardBench bad = new FusedBackwardBench();
        bad.op = "gated";
        bad.impl = "loop";
        bad.shape = "48x6";
        bad.device = "cpu";
        e = assertThrows(IllegalArgumentException.class, bad::setup);
        assertTrue(e.getMessage().contains("forward only"), e.getMessage());

        if (Device.cudaAvailable()) return; // the rest checks the message of a machine without a GPU
        FusedBench f = new FusedBench();
        f.op = "attention";
        f.impl = "fused";
        f.shape = "48x6";
        f.device = "cuda";
        assertNoCuda(assertThrows(RuntimeException.class, f::setup));
        FusedBackwardBench fb = new FusedBackwardBench();
        fb.op = "attention";
        fb.impl = "unfused";
        fb.shape = "48x6";
        fb.device = "cuda";
        assertNoCuda(assertThrows(RuntimeException.class, fb::setup));
        ModelBench m = new ModelBench();
        m.work = "infer64";
        m.device = "cuda";
        assertNoCuda(assertThrows(RuntimeException.class, m::setup));
    }

    private static void assertNoCuda(Exception e) {
        assertTrue(e.getMessage().contains("no CUDA device: "), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }

    /** One backward of impl: the leaves' gradients as host arrays, then dropped. */
    private static float[][] grads(FusedCase fc, String impl) {
        Tensor[] g = fc.backward(impl);
        float[][] out = new float[g.length][];
        for (int i = 0; i < g.length; i++) {
            assertNotNull(g[i], fc.op + " " + impl + ": no gradient for leaf " + i);
            out[i] = g[i].toFloatArray();
        }
        fc.zeroGrads();
        return out;
    }

    /** Runs one benchmark call, which must leave no gradient behind; then the gradients of one more backward. */
    private static float[][] gradsAfterRun(FusedBackwardBench b) {
        b.run();
        for (Tensor t : b.fc.leaves()) assertNull(t.grad(), "the call leaves no gradient behind");
        return grads(b.fc, b.impl);
    }

    private static double norm(float[] a) {
        double n = 0;
        for (float v : a) n += v * (double) v;
        return Math.sqrt(n);
    }

    private static void assertClose(float[] a, float[] ref, double tol, String what) {
        assertEquals(ref.length, a.length, what);
        double d = 0, n = 0;
        for (int i = 0; i < a.length; i++) {
            d += (a[i] - ref[i]) * (double) (a[i] - ref[i]);
            n += ref[i] * (double) ref[i];
        }
        assertTrue(Math.sqrt(d / n) <= tol, what + ": relative error " + Math.sqrt(d / n));
    }
}
