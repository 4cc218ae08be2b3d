package diffir.bench;

import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;

import static org.junit.jupiter.api.Assertions.*;

/** The three implementations FusedBench times compute the same thing (so the benchmark compares like with like). */
class FusedBenchTest {
    @Test
    void fusedUnfusedAndLoopAgree() throws Exception {
        for (String op : new String[]{"layernorm", "gated", "attention"})
            for (String shape : new String[]{"48x12", "96x5"}) {
                float[] fused = out(op, "fused", shape), unfused = out(op, "unfused", shape), loop = out(op, "loop", shape);
                assertClose(fused, unfused, 1e-5, op + " " + shape + " unfused");
                assertClose(fused, loop, 1e-4, op + " " + shape + " loop");
            }
    }

    private static float[] out(String op, String impl, String shape) throws Exception {
        FusedBench b = new FusedBench();
        b.op = op;
        b.impl = impl;
        b.shape = shape;
        b.setup();
        String m = impl.equals("loop") ? "loop" : impl;
        Method method = FusedBench.class.getDeclaredMethod(m);
        method.setAccessible(true);
        Object r = method.invoke(b);
        return r instanceof float[] f ? f : ((diffir.engine.Tensor) r).toFloatArray();
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
