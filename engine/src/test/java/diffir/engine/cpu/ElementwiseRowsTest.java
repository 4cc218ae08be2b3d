package diffir.engine.cpu;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.backend.BinaryOp;
import diffir.engine.backend.ScalarOp;
import diffir.engine.backend.UnaryOp;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.EnumSet;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The vector lanes against the one scalar definition of each function, element by element: simple
 * ops bit for bit, the transcendental ones (double lanes with the vector exp/log/tanh/pow) within one
 * float ulp. Inputs mix ordinary values with zeros of both signs, infinities, NaN and extremes, at
 * lengths and offsets that leave vector tails; large tensors cover the split over cores.
 */
class ElementwiseRowsTest {
    private static final EnumSet<UnaryOp> TRANSCENDENTAL = EnumSet.of(UnaryOp.EXP, UnaryOp.LOG, UnaryOp.TANH, UnaryOp.SIGMOID, UnaryOp.GELU);
    private static final int[] LENGTHS = {0, 1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 100, 257};
    /** Each comparison runs this often with fresh values: the JIT may finish compiling a loop late. */
    private static final int ROUNDS = 60;

    /**
     * Runs every lane loop until the JIT has compiled it: interpreted, the Vector API falls back to
     * scalar Java per lane, and the comparison must cover the compiled SIMD code (vector exp, log, ...).
     */
    @BeforeAll
    static void compileTheLanes() {
        SplittableRandom rng = new SplittableRandom(0);
        float[] x = values(rng, 64), y = values(rng, 64), g = values(rng, 64), o = new float[64];
        for (int rep = 0; rep < 4000; rep++) {
            for (UnaryOp op : UnaryOp.values()) {
                ElementwiseRows.unary(op, x, 0, 0.1f, o, 0, 64);
                ElementwiseRows.unaryBackward(op, x, 0, y, 0, g, 0, 0.1f, o, 0, 64);
            }
            for (ScalarOp op : ScalarOp.values()) ElementwiseRows.scalar(op, x, 0, rep % 3 == 0 ? 2f : 1.3f - rep % 2, o, 0, 64);
            for (BinaryOp op : BinaryOp.values()) ElementwiseRows.binary(op, x, 0, y, 0, o, 0, 64);
        }
    }

    private static float[] values(SplittableRandom rng, int n) {
        float[] special = {0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.MIN_VALUE,
                -Float.MIN_NORMAL, 1e30f, -1e30f, 88.8f, -104f, -8f, 8f, -40f, 1f, -1f};
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            int k = rng.nextInt(10);
            v[i] = k == 0 ? special[rng.nextInt(special.length)] : (float) (rng.nextGaussian() * (k < 5 ? 1 : 6));
        }
        return v;
    }

    /** Same value, or both NaN, or (when ulps > 0) within that many float ulps. */
    private static void same(float expected, float actual, int ulps, String what) {
        if (Float.isNaN(expected) && Float.isNaN(actual)) return;
        if (Float.floatToIntBits(expected) == Float.floatToIntBits(actual)) return;
        if (ulps > 0 && !Float.isNaN(actual) && Math.abs(expected - actual) <= ulps * Math.ulp(expected)) return;
        fail(what + ": expected " + expected + " got " + actual);
    }

    @Test
    void unaryLanesMatchTheScalarDefinitions() {
        SplittableRandom rng = new SplittableRandom(1);
        for (int round = 0; round < ROUNDS; round++) for (UnaryOp op : UnaryOp.values()) {
            for (int len : LENGTHS) {
                int off = rng.nextInt(5);
                float[] x = values(rng, len + off), o = new float[len + 3];
                ElementwiseRows.unary(op, x, off, 0.1f, o, 2, len);
                for (int i = 0; i < len; i++)
                    same(CpuElementwise.apply(op, x[off + i], 0.1f), o[2 + i], TRANSCENDENTAL.contains(op) ? 1 : 0, op + " of " + x[off + i]);
            }
        }
    }

    @Test
    void unaryBackwardLanesMatchTheScalarDefinitions() {
        SplittableRandom rng = new SplittableRandom(2);
        for (int round = 0; round < ROUNDS; round++) for (UnaryOp op : UnaryOp.values()) {
            for (int len : LENGTHS) {
                float[] x = values(rng, len), y = new float[len], g = values(rng, len), gx = new float[len + 1];
                for (int i = 0; i < len; i++) y[i] = CpuElementwise.apply(op, x[i], 0.1f);
                ElementwiseRows.unaryBackward(op, x, 0, y, 0, g, 0, 0.1f, gx, 1, len);
                for (int i = 0; i < len; i++)
                    same(CpuElementwise.grad(op, x[i], y[i], g[i], 0.1f), gx[1 + i], op == UnaryOp.GELU ? 1 : 0, op + "' at " + x[i]);
            }
        }
    }

    @Test
    void scalarLanesMatchTheScalarDefinitions() {
        SplittableRandom rng = new SplittableRandom(3);
        float[] scalars = {1.7f, -0.3f, 0f, -0f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, 2f, 1f, 0.5f, -1.5f, 3f};
        for (int round = 0; round < ROUNDS; round++) for (ScalarOp op : ScalarOp.values()) {
            for (float s : scalars) {
                for (int len : LENGTHS) {
                    float[] x = values(rng, len), o = new float[len];
                    ElementwiseRows.scalar(op, x, 0, s, o, 0, len);
                    boolean generalPow = op == ScalarOp.POW && s != 2f && s != 1f && s != 0.5f;
                    for (int i = 0; i < len; i++) same(CpuElementwise.apply(op, x[i], s), o[i], generalPow ? 1 : 0, op + " " + x[i] + ", " + s);
                }
            }
        }
    }

    @Test
    void binaryLanesMatchTheScalarDefinitions() {
        SplittableRandom rng = new SplittableRandom(4);
        for (int round = 0; round < ROUNDS; round++) for (BinaryOp op : BinaryOp.values()) {
            for (int len : LENGTHS) {
                float[] x = values(rng, len), y = values(rng, len), o = new float[len];
                ElementwiseRows.binary(op, x, 0, y, 0, o, 0, len);
                for (int i = 0; i < len; i++) same(CpuElementwise.apply(op, x[i], y[i]), o[i], 0, op + " " + x[i] + ", " + y[i]);
                float s = y.length > 0 ? y[0] : 2f;
                ElementwiseRows.divideBy(x, 0, s, o, 0, len);
                for (int i = 0; i < len; i++) same(x[i] / s, o[i], 0, "divideBy");
            }
        }
    }

    /** Whole tensors: same-shape runs split over cores, and every broadcasting pattern of a row. */
    @Test
    void tensorKernelsMatchElementByElement() {
        SplittableRandom rng = new SplittableRandom(5);
        int n = 3 * CpuElementwise.GRAIN + 17;
        float[] xa = values(rng, n), ya = values(rng, n);
        Tensor x = Tensor.of(xa, n), y = Tensor.of(ya, n);
        for (BinaryOp op : BinaryOp.values()) {
            Tensor out = Tensor.empty(Device.CPU, n);
            CpuBackend.INSTANCE.binary(op, x, y, out);
            float[] o = out.toFloatArray();
            for (int i = 0; i < n; i += 7) same(CpuElementwise.apply(op, xa[i], ya[i]), o[i], 0, op + " at " + i);
        }
        Tensor u = Tensor.empty(Device.CPU, n);
        CpuBackend.INSTANCE.unary(UnaryOp.GELU, x, 0, u);
        float[] uo = u.toFloatArray();
        for (int i = 0; i < n; i += 7) same(CpuElementwise.apply(UnaryOp.GELU, xa[i], 0), uo[i], 1, "gelu at " + i);

        // (2, 3, 5) against (3, 1), (5), (2, 1, 1) and the reverse: rows with a broadcast operand on either side.
        float[] av = values(rng, 30);
        Tensor a = Tensor.of(av, 2, 3, 5);
        for (int[] bs : new int[][]{{3, 1}, {5}, {2, 1, 1}, {1}}) {
            float[] bv = values(rng, (int) diffir.engine.Shapes.numel(bs));
            Tensor b = Tensor.of(bv, bs);
            long[] st = diffir.engine.Shapes.broadcastStrides(bs, new int[]{2, 3, 5});
            for (BinaryOp op : BinaryOp.values()) {
                Tensor ab = Tensor.empty(Device.CPU, 2, 3, 5), ba = Tensor.empty(Device.CPU, 2, 3, 5);
                CpuBackend.INSTANCE.binary(op, a, b, ab);
                CpuBackend.INSTANCE.binary(op, b, a, ba);
                float[] abv = ab.toFloatArray(), bav = ba.toFloatArray();
                for (int i = 0; i < 30; i++) {
                    float bi = bv[(int) ((i / 15) * st[0] + (i / 5 % 3) * st[1] + (i % 5) * st[2])];
                    same(CpuElementwise.apply(op, av[i], bi), abv[i], 0, op + " a,b at " + i);
                    same(CpuElementwise.apply(op, bi, av[i]), bav[i], 0, op + " b,a at " + i);
                }
            }
        }
        assertTrue(true);
    }
}
