package diffir.kernels;

import diffir.engine.Device;
import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.backend.AdamParams;
import diffir.engine.backend.BinaryOp;
import diffir.engine.backend.ScalarOp;
import diffir.engine.backend.UnaryOp;
import diffir.engine.ops.Ops;
import diffir.engine.testing.Assert;
import diffir.engine.testing.TestSeeds;
import diffir.kernels.fused.PipelinedSwitch;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every Backend method of the CUDA backend against the CPU backend on random inputs (the seed is in
 * each failure message; {@link TestSeeds} fixes it by default): forward results within 1e-5 relative
 * error, gradients (through Ops) within 1e-4. Odd sizes, batch > 1, unaligned views, and the size thresholds where the glue switches
 * kernels. Subclasses say which device: the real GPU or the CPU emulator of it.
 */
abstract class BackendConformance {
    static final double FWD = 1e-5, BWD = 1e-4;

    protected abstract Device gpu();

    protected long seed;
    protected SplittableRandom rng;

    @BeforeEach
    void seed() {
        gpu(); // skips the test (with a notice) where the device is missing
        seed = TestSeeds.base();
        rng = new SplittableRandom(seed);
    }

    CudaBackend backend() {
        return GpuDevices.backend(gpu());
    }

    // ---------------------------------------------------------------- helpers

    Tensor randn(int... shape) {
        return Tensor.randn(Device.CPU, rng, shape);
    }

    Tensor rand(float lo, float hi, int... shape) {
        return Tensor.rand(Device.CPU, rng, lo, hi, shape);
    }

    Tensor gpu(Tensor cpu) {
        return cpu.to(gpu());
    }

    void close(Tensor gpuOut, Tensor cpuRef, double tol, String what) {
        Assert.close(gpuOut, cpuRef, tol, what + " [seed " + seed + ", " + gpu() + "]");
    }

    /** The CPU reference; skips the test when the CPU backend lacks the kernel on this branch. */
    static <T> T reference(String what, Supplier<T> f) {
        try {
            return f.get();
        } catch (UnsupportedOperationException e) {
            System.out.println("SKIPPED " + what + ": CPU reference missing (" + e.getMessage() + ")");
            Assumptions.abort("CPU reference for " + what + " missing: " + e.getMessage());
            return null;
        }
    }

    /**
     * Runs f on CPU copies and on GPU copies of the inputs, compares the outputs (FWD) and the gradients
     * of sum(f * r) for a fixed random r with respect to every input (BWD).
     */
    void checkOp(String what, Function<Tensor[], Tensor> f, Tensor... cpuInputs) {
        Tensor[] c = new Tensor[cpuInputs.length], g = new Tensor[cpuInputs.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = cpuInputs[i].detach().requiresGrad(true);
            g[i] = gpu(cpuInputs[i]).requiresGrad(true);
        }
        Tensor ref = reference(what, () -> f.apply(c));
        Tensor out = f.apply(g);
        close(out, ref, FWD, what + " forward");
        Tensor r = randn(ref.shape());
        reference(what + " backward", () -> {
            Ops.sum(Ops.mul(ref, r)).backward();
            return null;
        });
        Ops.sum(Ops.mul(out, gpu(r))).backward();
        for (int i = 0; i < c.length; i++) {
            assertTrue(g[i].grad() != null, what + ": no gradient for input " + i);
            close(g[i].grad(), c[i].grad(), BWD, what + " gradient of input " + i);
        }
    }

    // ---------------------------------------------------------------- transfers and data movement

    @Test
    void transfersRoundTrip() {
        for (int n : new int[]{1, 1001, 2 * 1024 * 1024 + 37}) {
            Tensor x = randn(n);
            Tensor back = gpu(x).to(Device.CPU);
            assertTrue(java.util.Arrays.equals(x.toFloatArray(), back.toFloatArray()), "round trip of " + n + " floats");
        }
        // A view at an offset: downloads read from the view's first element.
        Tensor x = randn(5, 7);
        Tensor view = gpu(x).narrowView(2, 3);
        close(view, x.narrowView(2, 3), 0, "download of a narrow view");
    }

    @Test
    void fill() {
        Tensor t = Tensor.full(gpu(), 2.75f, 3, 333);
        float[] v = t.toFloatArray();
        for (float f : v) assertEquals(2.75f, f);
        Tensor z = Tensor.zeros(gpu(), 17);
        for (float f : z.toFloatArray()) assertEquals(0f, f);
    }

    @Test
    void permutes() {
        Tensor x = randn(2, 3, 5, 7);
        for (int[] order : new int[][]{{0, 2, 3, 1}, {3, 2, 1, 0}, {1, 0, 2, 3}, {0, 1, 3, 2}})
            checkOp("permute " + java.util.Arrays.toString(order), in -> Ops.permute(in[0], order), x);
        checkOp("transpose", in -> Ops.transpose(in[0], -1, -2), randn(4, 33, 17));
    }

    @Test
    void slicesConcatenationAndExpansion() {
        Tensor x = randn(3, 8, 5, 7);
        checkOp("narrow axis 1", in -> Ops.narrow(in[0], 1, 2, 5), x);
        checkOp("narrow axis 3", in -> Ops.narrow(in[0], 3, 1, 4), x);
        checkOp("narrow axis 0 (a view)", in -> Ops.narrow(in[0], 0, 1, 2), x);
        checkOp("concat axis 1", in -> Ops.concat(1, in[0], in[1], in[2]), randn(2, 3, 5), randn(2, 1, 5), randn(2, 4, 5));
        checkOp("concat axis 0", in -> Ops.concat(0, in[0], in[1]), randn(2, 3, 5), randn(3, 3, 5));
        checkOp("expand", in -> Ops.expand(in[0], 2, 3, 4, 5), randn(3, 1, 5));
        checkOp("chunk", in -> {
            List<Tensor> parts = Ops.chunk(in[0], 3, 1);
            return Ops.add(Ops.mul(parts.get(0), parts.get(1)), parts.get(2));
        }, randn(2, 9, 5));
    }

    @Test
    void pixelShuffleAndUpsampling() {
        checkOp("pixelShuffle", in -> Ops.pixelShuffle(in[0], 2), randn(2, 12, 5, 7));
        checkOp("pixelUnshuffle", in -> Ops.pixelUnshuffle(in[0], 2), randn(2, 3, 10, 14));
        checkOp("pixelUnshuffle 4", in -> Ops.pixelUnshuffle(in[0], 4), randn(1, 3, 8, 12));
        checkOp("upsampleNearest", in -> Ops.upsampleNearest(in[0], 2), randn(2, 3, 5, 7));
    }

    @Test
    void stridedCopiesInRowsOfFour() {
        // Destination rows whose length is a multiple of 4 take copy_rows4 (float4 stores); the sources
        // below are read with a float4 (aligned contiguous rows), a stride of 2, a stride of 0, or
        // contiguous but unaligned rows (scalar loads).
        checkOp("pixelUnshuffle, rows of 4", in -> Ops.pixelUnshuffle(in[0], 2), randn(2, 3, 6, 24));
        checkOp("pixelShuffle, rows of 4", in -> Ops.pixelShuffle(in[0], 2), randn(2, 12, 3, 4));
        checkOp("upsampleNearest, rows of 4", in -> Ops.upsampleNearest(in[0], 2), randn(2, 3, 5, 6));
        checkOp("expand, rows of 4", in -> Ops.expand(in[0], 2, 3, 5, 8), randn(3, 1, 8));
        checkOp("narrow axis 3, unaligned rows of 4", in -> Ops.narrow(in[0], 3, 1, 4), randn(3, 8, 5, 7));
        checkOp("narrow axis 3, aligned rows of 8", in -> Ops.narrow(in[0], 3, 4, 8), randn(3, 2, 5, 16));
        checkOp("concat axis 1, rows of 4", in -> Ops.concat(1, in[0], in[1]), randn(2, 3, 8), randn(2, 5, 8));
        checkOp("permute to rows of 4", in -> Ops.permute(in[0], 0, 2, 1), randn(2, 12, 8));
    }

    @Test
    void copyStridedRejectsWalksOutsideTheTensor() {
        Tensor src = gpu(randn(10)), dst = Tensor.empty(gpu(), 10);
        var e = assertThrows(IllegalArgumentException.class,
                () -> backend().copyStrided(src, 5, new long[]{1}, dst, 0, new long[]{1}, new int[]{6}));
        assertTrue(e.getMessage().contains("copyStrided source"), e.getMessage());
    }

    // ---------------------------------------------------------------- elementwise

    @Test
    void binaryOpsSameShape() {
        for (BinaryOp op : BinaryOp.values()) {
            for (int[] shape : new int[][]{{3, 5, 7, 9}, {4, 64}, {1}}) {
                Tensor a = randn(shape), b = op == BinaryOp.DIV ? rand(0.5f, 2f, shape) : randn(shape);
                checkOp(op + " " + Shapes.str(shape), in -> binaryOp(op, in[0], in[1]), a, b);
            }
        }
    }

    @Test
    void binaryOpsOnUnalignedViews() {
        // Views one element into their storage: the kernels must not take the float4 path.
        Tensor a = gpu(randn(1 + 4 * 64)).narrowView(1, 4 * 64).reshapeView(4, 64);
        Tensor b = gpu(randn(4 * 64 + 3)).narrowView(3, 4 * 64).reshapeView(4, 64);
        Tensor out = Tensor.empty(gpu(), 4, 64);
        backend().binary(BinaryOp.MUL, a, b, out);
        close(out, Ops.mul(a.to(Device.CPU), b.to(Device.CPU)), FWD, "MUL of unaligned views");
        // The one-, three- and four-operand maps too (scalar, unary, unary backward, Adam).
        Tensor ca = a.to(Device.CPU), cb = b.to(Device.CPU);
        backend().scalar(ScalarOp.MUL, a, 3f, out);
        close(out, Ops.mulScalar(ca, 3f), FWD, "scalar MUL of an unaligned view");
        backend().unary(UnaryOp.TANH, a, 0, out);
        Tensor y = Ops.tanh(ca);
        close(out, y, FWD, "TANH of an unaligned view");
        Tensor gx = Tensor.empty(gpu(), 4, 64), gref = Tensor.empty(Device.CPU, 4, 64);
        backend().unaryBackward(UnaryOp.TANH, a, out, b, 0, gx);
        Device.CPU.backend().unaryBackward(UnaryOp.TANH, ca, y, cb, 0, gref);
        close(gx, gref, FWD, "TANH backward of unaligned views");
        Tensor p = gpu(randn(258)).narrowView(2, 256), m = gpu(randn(257)).narrowView(1, 256);
        Tensor v = gpu(rand(0f, 1f, 259)).narrowView(3, 256), g = gpu(randn(256));
        Tensor cp = p.to(Device.CPU), cm = m.to(Device.CPU), cv = v.to(Device.CPU);
        AdamParams ap = new AdamParams(1e-2f, 0.9f, 0.999f, 1e-8f, 0f, false, 2);
        backend().adam(p, g, m, v, ap);
        Device.CPU.backend().adam(cp, g.to(Device.CPU), cm, cv, ap);
        close(p, cp, FWD, "adam on unaligned views");
        close(v, cv, FWD, "adam exp_avg_sq on unaligned views");
    }

    @Test
    void binaryOpsBroadcasting() {
        int[][][] cases = {{{2, 3, 5, 7}, {3, 1, 7}}, {{5, 1}, {1, 6}}, {{1}, {2, 3}}, {{2, 3, 4}, {4}}, {{2, 1, 4, 1}, {2, 3, 1, 5}},
                {{2, 6, 5, 5}, {2, 6, 1, 1}}};
        for (BinaryOp op : BinaryOp.values()) {
            for (int[][] c : cases) {
                Tensor a = randn(c[0]), b = op == BinaryOp.DIV ? rand(0.5f, 2f, c[1]) : randn(c[1]);
                checkOp(op + " " + Shapes.str(c[0]) + " with " + Shapes.str(c[1]), in -> binaryOp(op, in[0], in[1]), a, b);
            }
        }
    }

    @Test
    void binaryOpsBroadcastingInRowsOfFour() {
        // Rows whose length is a multiple of 4 take binary_rows4: per-channel scales and biases,
        // a row vector over a matrix, broadcasts on either side.
        int[][][] cases = {{{2, 6, 8, 8}, {2, 6, 1, 1}}, {{3, 8}, {8}}, {{2, 4, 12}, {2, 1, 12}}, {{4, 16}, {4, 1}},
                {{1, 5, 1, 1}, {3, 5, 4, 4}}, {{3, 1, 4}, {3, 7, 4}}};
        for (BinaryOp op : BinaryOp.values()) {
            for (int[][] c : cases) {
                Tensor a = randn(c[0]), b = op == BinaryOp.DIV ? rand(0.5f, 2f, c[1]) : randn(c[1]);
                checkOp(op + " " + Shapes.str(c[0]) + " with " + Shapes.str(c[1]), in -> binaryOp(op, in[0], in[1]), a, b);
            }
        }
        // An unaligned contiguous operand must not be read with float4; an unaligned broadcast one may.
        Tensor a = gpu(randn(1 + 4 * 64)).narrowView(1, 4 * 64).reshapeView(4, 64);
        Tensor k = gpu(randn(5)).narrowView(1, 4).reshapeView(4, 1);
        Tensor out = Tensor.empty(gpu(), 4, 64);
        backend().binary(BinaryOp.MUL, a, k, out);
        close(out, Ops.mul(a.to(Device.CPU), k.to(Device.CPU)), FWD, "MUL of an unaligned view by a column");
        Tensor al = gpu(randn(4 * 64)).reshapeView(4, 64);
        backend().binary(BinaryOp.SUB, k, al, out);
        close(out, Ops.sub(k.to(Device.CPU), al.to(Device.CPU)), FWD, "SUB of a column and an aligned matrix");
    }

    @Test
    void binaryInPlaceAccumulation() {
        Tensor a = randn(3, 333), b = randn(3, 333);
        Tensor ga = gpu(a);
        backend().binary(BinaryOp.ADD, ga, gpu(b), ga);
        close(ga, Ops.add(a, b), FWD, "in-place ADD");
    }

    private static Tensor binaryOp(BinaryOp op, Tensor a, Tensor b) {
        return switch (op) {
            case ADD -> Ops.add(a, b);
            case SUB -> Ops.sub(a, b);
            case MUL -> Ops.mul(a, b);
            case DIV -> Ops.div(a, b);
            case MAX -> Ops.maximum(a, b);
        };
    }

    @Test
    void scalarOps() {
        Tensor x = randn(3, 7, 11), pos = rand(0.5f, 2f, 3, 7, 11);
        checkOp("add scalar", in -> Ops.addScalar(in[0], 1.5f), x);
        checkOp("mul scalar", in -> Ops.mulScalar(in[0], -0.75f), x);
        checkOp("rsub scalar", in -> Ops.rsubScalar(in[0], 2f), x);
        checkOp("rdiv scalar", in -> Ops.rdivScalar(in[0], 3f), pos);
        for (float p : new float[]{2f, 0.5f, 1f, 3f, 1.7f, -1.5f})
            checkOp("pow " + p, in -> Ops.pow(in[0], p), pos);
        checkOp("clampMin", in -> Ops.clampMin(in[0], 0.1f), x);
        checkOp("clampMax", in -> Ops.clampMax(in[0], -0.2f), x);
        // Every ScalarOp reaches the kernel directly too (no autograd).
        for (ScalarOp op : ScalarOp.values()) {
            Tensor out = Tensor.empty(gpu(), 3, 7, 11), ref = Tensor.empty(Device.CPU, 3, 7, 11);
            backend().scalar(op, gpu(pos), 1.25f, out);
            Device.CPU.backend().scalar(op, pos, 1.25f, ref);
            close(out, ref, FWD, "scalar " + op);
        }
    }

    @Test
    void unaryOps() {
        Tensor x = randn(4, 9, 13), pos = rand(0.1f, 3f, 4, 9, 13);
        for (UnaryOp op : UnaryOp.values()) {
            Tensor in = op == UnaryOp.LOG || op == UnaryOp.SQRT ? pos : x;
            Tensor xs = op == UnaryOp.GELU ? Ops.mulScalar(in, 4f) : in; // GELU over its whole range, tails included
            float param = op == UnaryOp.LEAKY_RELU ? 0.1f : 0f;
            Tensor out = Tensor.empty(gpu(), xs.shape()), ref = Tensor.empty(Device.CPU, xs.shape());
            backend().unary(op, gpu(xs), param, out);
            Device.CPU.backend().unary(op, xs, param, ref);
            close(out, ref, FWD, "unary " + op);
            Tensor gy = randn(xs.shape());
            Tensor gx = Tensor.empty(gpu(), xs.shape()), gref = Tensor.empty(Device.CPU, xs.shape());
            backend().unaryBackward(op, gpu(xs), out, gpu(gy), param, gx);
            Device.CPU.backend().unaryBackward(op, xs, ref, gy, param, gref);
            close(gx, gref, FWD, "unary backward " + op);
        }
        checkOp("gelu through Ops", in -> Ops.gelu(in[0]), x);
        checkOp("leakyRelu through Ops", in -> Ops.leakyRelu(in[0], 0.1f), x);
    }

    @Test
    void elementwiseRejectsMismatchedSizes() {
        Tensor a = gpu(randn(3, 4)), out = Tensor.empty(gpu(), 3, 5);
        var e = assertThrows(IllegalArgumentException.class, () -> backend().unary(UnaryOp.EXP, a, 0, out));
        assertTrue(e.getMessage().contains("differ in size"), e.getMessage());
        var e2 = assertThrows(IllegalArgumentException.class, () -> backend().binary(BinaryOp.ADD, a, gpu(randn(2, 4)), Tensor.empty(gpu(), 3, 4)));
        assertTrue(e2.getMessage().contains("do not broadcast"), e2.getMessage());
        var e3 = assertThrows(IllegalArgumentException.class, () -> backend().unary(UnaryOp.EXP, randn(3, 4), 0, Tensor.empty(gpu(), 3, 4)));
        assertTrue(e3.getMessage().contains("not on this CUDA device"), e3.getMessage());
    }

    // ---------------------------------------------------------------- reductions

    @Test
    void sums() {
        Object[][] cases = {
                {new int[]{7, 300}, new int[]{1}},             // warp per row
                {new int[]{5, 5000}, new int[]{1}},            // few long rows: split, then a second pass
                {new int[]{3000, 7}, new int[]{0}},            // outer
                {new int[]{4, 300, 6}, new int[]{1}},          // middle
                {new int[]{2, 3, 5, 7}, new int[]{0, 2}},      // two passes
                {new int[]{2, 3, 5, 7}, new int[]{0, 3}},
                {new int[]{2, 3, 5, 7}, new int[]{1, 2, 3}},
                {new int[]{100003}, new int[]{}},              // everything
                {new int[]{3, 1, 5}, new int[]{1}},            // nothing to reduce
                {new int[]{9, 40}, new int[]{1}},              // short rows: thread per row
                {new int[]{2, 70000}, new int[]{0}},           // tiny outer, long len: split columns
        };
        // Inputs with a positive mean: a sum of zero-mean values can land near zero, where two correct
        // float32 summation orders differ by far more than 1e-5 of the result (ill-conditioned, not wrong).
        for (Object[] c : cases) {
            int[] shape = (int[]) c[0], axes = (int[]) c[1];
            String what = "sum " + Shapes.str(shape) + " over " + java.util.Arrays.toString(axes);
            checkOp(what, in -> Ops.sum(in[0], true, axes), rand(-0.5f, 1.5f, shape));
        }
        checkOp("mean", in -> Ops.mean(in[0], false, 0, 2), rand(-0.5f, 1.5f, 3, 4, 5));
        checkOp("sum to a scalar", in -> Ops.sum(in[0]), rand(-0.5f, 1.5f, 6, 7));
    }

    // ---------------------------------------------------------------- matmul

    @Test
    void matmulWithCublas() {
        backend().useLibraries(true, true);
        matmuls();
    }

    @Test
    void matmulWithOwnKernel() {
        backend().useLibraries(false, true);
        try {
            matmuls();
        } finally {
            backend().useLibraries(true, true);
        }
    }

    private void matmuls() {
        for (boolean ta : new boolean[]{false, true})
            for (boolean tb : new boolean[]{false, true}) {
                Tensor a = ta ? randn(3, 33, 17) : randn(3, 17, 33), b = tb ? randn(3, 9, 33) : randn(3, 33, 9);
                checkOp("matmul batched ta=" + ta + " tb=" + tb, in -> Ops.matmul(in[0], in[1], ta, tb), a, b);
                Tensor w = tb ? randn(9, 33) : randn(33, 9);
                checkOp("matmul shared b ta=" + ta + " tb=" + tb, in -> Ops.matmul(in[0], in[1], ta, tb), a, w);
                Tensor a2 = ta ? randn(33, 17) : randn(17, 33);
                checkOp("matmul shared a ta=" + ta + " tb=" + tb, in -> Ops.matmul(in[0], in[1], ta, tb), a2, b);
            }
        checkOp("matmul large tiles", in -> Ops.matmul(in[0], in[1]), randn(2, 70, 130), randn(2, 130, 67));
        checkOp("linear", in -> Ops.linear(in[0], in[1], in[2]), randn(2, 5, 31), randn(19, 31), randn(19));
        // alpha and beta straight through the backend: beta 0 ignores NaN in out; beta 1 accumulates.
        Tensor a = randn(2, 7, 5), b = randn(2, 5, 6), c0 = randn(2, 7, 6);
        Tensor out = gpu(Tensor.full(Device.CPU, Float.NaN, 2, 7, 6)), ref = Tensor.empty(Device.CPU, 2, 7, 6);
        backend().matmul(gpu(a), gpu(b), out, false, false, 1.5f, 0f);
        Device.CPU.backend().matmul(a, b, ref, false, false, 1.5f, 0f);
        close(out, ref, FWD, "matmul alpha 1.5 beta 0 over NaN");
        Tensor acc = gpu(c0), accRef = Tensor.empty(Device.CPU, 2, 7, 6);
        accRef.copyFrom(c0);
        backend().matmul(gpu(a), gpu(b), acc, false, false, -0.5f, 1f);
        Device.CPU.backend().matmul(a, b, accRef, false, false, -0.5f, 1f);
        close(acc, accRef, FWD, "matmul alpha -0.5 beta 1");
    }

    @Test
    void matmulRejectsBadShapes() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> backend().matmul(gpu(randn(3, 4)), gpu(randn(5, 6)), Tensor.empty(gpu(), 3, 6), false, false, 1, 0));
        assertTrue(e.getMessage().contains("matmul"), e.getMessage());
    }

    // ---------------------------------------------------------------- convolution

    /** n, c, h, w, o, k, stride, pad, groups, bias. */
    static final int[][] CONVS = {
            {2, 3, 9, 11, 5, 3, 1, 1, 1, 1},   // 3x3 full
            {2, 4, 10, 9, 6, 3, 2, 1, 2, 0},   // strided, grouped
            {2, 6, 7, 5, 4, 1, 1, 0, 1, 1},    // pointwise: GEMM
            {2, 6, 9, 8, 6, 3, 1, 1, 6, 1},    // depthwise 3x3
            {2, 5, 11, 10, 5, 5, 2, 2, 5, 0},  // depthwise 5x5, stride 2
            {1, 4, 7, 9, 4, 4, 1, 1, 4, 1},    // depthwise, even kernel: generic weight-gradient kernel
            {2, 3, 40, 40, 3, 3, 1, 1, 3, 0},  // depthwise, enough pixels to split the weight gradient
            {2, 4, 8, 8, 6, 2, 2, 0, 1, 1},    // 2x2 stride 2 (downsampling)
            {2, 5, 7, 9, 5, 3, 1, 1, 5, 1},    // depthwise 3x3 "same", rows of 9: the tiled kernels, scalar staging
            {1, 3, 12, 36, 3, 5, 1, 2, 3, 1},  // depthwise 5x5 "same", rows of 36: float4 staging, 2 tile columns
            {2, 2, 9, 13, 2, 7, 1, 3, 2, 0},   // depthwise 7x7 "same"
    };

    @Test
    void convolutionAuto() {
        convolutions(ConvKernels.Path.AUTO, true);
    }

    @Test
    void convolutionOwnKernels() {
        convolutions(ConvKernels.Path.OWN, false);
    }

    @Test
    void convolutionCudnn() {
        Assumptions.assumeTrue(backend().dnn() != null, "cuDNN not available");
        convolutions(ConvKernels.Path.CUDNN, true);
    }

    private void convolutions(ConvKernels.Path path, boolean blas) {
        backend().setConvPath(path);
        backend().useLibraries(blas, true);
        try {
            for (int[] c : CONVS) {
                int n = c[0], ch = c[1], h = c[2], w = c[3], o = c[4], k = c[5], s = c[6], p = c[7], g = c[8];
                Tensor x = randn(n, ch, h, w), wt = Ops.mulScalar(randn(o, ch / g, k, k), 0.3f);
                String what = "conv2d " + java.util.Arrays.toString(c) + " " + path;
                if (c[9] == 1) checkOp(what, in -> Ops.conv2d(in[0], in[1], in[2], s, p, g), x, wt, randn(o));
                else checkOp(what, in -> Ops.conv2d(in[0], in[1], null, s, p, g), x, wt);
            }
        } finally {
            backend().setConvPath(ConvKernels.Path.AUTO);
            backend().useLibraries(true, true);
        }
    }

    // ---------------------------------------------------------------- rows

    @Test
    void softmax() {
        for (int[] shape : new int[][]{{3, 7}, {2, 1500}, {4, 5, 33}, {2, 1024}, {2, 1025}}) {
            checkOp("softmax " + Shapes.str(shape), in -> Ops.softmax(in[0]), Ops.mulScalar(randn(shape), 3f));
            checkOp("logSoftmax " + Shapes.str(shape), in -> Ops.logSoftmax(in[0]), Ops.mulScalar(randn(shape), 3f));
        }
    }

    @Test
    void l2Normalize() {
        for (int[] shape : new int[][]{{3, 7, 40}, {2, 2000}, {5, 3}}) {
            Tensor x = randn(shape);
            checkOp("l2Normalize " + Shapes.str(shape), in -> Ops.l2Normalize(in[0], 1e-12f), x);
        }
        // A row whose norm is below eps takes the clamped branch.
        Tensor x = Ops.mul(randn(4, 50), Tensor.of(new float[]{1f, 1e-6f, 1f, 2f}, 4, 1));
        checkOp("l2Normalize with a clamped row", in -> Ops.l2Normalize(in[0], 1e-3f), x);
        // Few long rows are split across blocks (aligned rows as float4, and not), clamped rows too.
        for (int[] shape : new int[][]{{3, 9000}, {2, 8191}})
            checkOp("l2Normalize split rows " + Shapes.str(shape), in -> Ops.l2Normalize(in[0], 1e-12f), randn(shape));
        Tensor xl = Ops.mul(randn(4, 5000), Tensor.of(new float[]{1f, 1e-6f, 1f, 2f}, 4, 1));
        checkOp("l2Normalize split rows with a clamped row", in -> Ops.l2Normalize(in[0], 1e-3f), xl);
    }

    // ---------------------------------------------------------------- optimiser

    @Test
    void adam() {
        for (boolean decoupled : new boolean[]{false, true}) {
            Tensor p = randn(1001), m = Ops.mulScalar(randn(1001), 0.1f), v = rand(0f, 0.01f, 1001);
            Tensor gp = gpu(p), gm = gpu(m), gv = gpu(v);
            for (int step = 1; step <= 3; step++) {
                Tensor g = randn(1001);
                AdamParams a = new AdamParams(2e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, decoupled, step);
                Device.CPU.backend().adam(p, g, m, v, a);
                backend().adam(gp, gpu(g), gm, gv, a);
            }
            close(gp, p, FWD, "adam param decoupled=" + decoupled);
            close(gm, m, FWD, "adam exp_avg decoupled=" + decoupled);
            close(gv, v, FWD, "adam exp_avg_sq decoupled=" + decoupled);
        }
    }

    @Test
    void adamMany() {
        // 70 tensors: four launches (20 per launch), one of several 2048-element chunks, an empty one,
        // and views one element into their storage (no float4 for them).
        int count = 70;
        Tensor[] p = new Tensor[count], g = new Tensor[count], m = new Tensor[count], v = new Tensor[count];
        Tensor[] gp = new Tensor[count], gg = new Tensor[count], gm = new Tensor[count], gv = new Tensor[count];
        for (int i = 0; i < count; i++) {
            int n = i == 3 ? 5001 : i == 7 ? 0 : 3 + (i * 37) % 61;
            p[i] = randn(n);
            g[i] = randn(n);
            m[i] = Ops.mulScalar(randn(n), 0.1f);
            v[i] = rand(0f, 0.01f, n);
            boolean shifted = i % 5 == 1;
            gp[i] = shifted ? view(p[i]) : gpu(p[i]);
            gg[i] = gpu(g[i]);
            gm[i] = gpu(m[i]);
            gv[i] = shifted ? view(v[i]) : gpu(v[i]);
        }
        AdamParams a = new AdamParams(2e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, false, 4);
        for (int i = 0; i < count; i++) Device.CPU.backend().adam(p[i], g[i], m[i], v[i], a);
        backend().adamMany(gp, gg, gm, gv, a);
        for (int i = 0; i < count; i++) {
            if (p[i].numel() == 0) continue;
            close(gp[i], p[i], FWD, "adamMany param " + i);
            close(gm[i], m[i], FWD, "adamMany exp_avg " + i);
            close(gv[i], v[i], FWD, "adamMany exp_avg_sq " + i);
        }
    }

    /** t on the GPU as a view one element into a larger storage. */
    private Tensor view(Tensor t) {
        int n = Math.toIntExact(t.numel());
        float[] vals = new float[n + 1];
        System.arraycopy(t.toFloatArray(), 0, vals, 1, n);
        return Tensor.of(gpu(), vals, n + 1).narrowView(1, n);
    }

    // ---------------------------------------------------------------- fused DiffIR ops (kernels from cuda-fused)

    /** Runs a fused-op check with the opt-in pipelined kernels ({@code FusedPaths}) switched on or off. */
    void fused(String what, boolean pipelined, Runnable check) {
        fused(what, () -> PipelinedSwitch.with(pipelined, check));
    }

    /** Runs a fused-op check, skipping when the fused glue is still a stub on this branch. */
    void fused(String what, Runnable check) {
        try {
            check.run();
        } catch (UnsupportedOperationException e) {
            System.out.println("SKIPPED " + what + ": " + e.getMessage());
            Assumptions.abort(what + ": " + e.getMessage());
        }
    }

    @Test
    void layerNorm() {
        fused("layerNorm", () -> {
            Tensor x = randn(2, 6, 5, 7), w = rand(0.5f, 1.5f, 6), b = randn(6), mod = randn(2, 12);
            checkOp("layerNorm WithBias", in -> Ops.layerNorm(in[0], in[1], in[2], 1e-5f), x, w, b);
            checkOp("layerNorm BiasFree", in -> Ops.layerNorm(in[0], in[1], null, 1e-5f), x, w);
            checkOp("modulated layerNorm", in -> Ops.modulatedLayerNorm(in[0], in[1], in[2], in[3], 1e-5f), x, w, b, mod);
            checkOp("modulated layerNorm BiasFree", in -> Ops.modulatedLayerNorm(in[0], in[1], null, in[2], 1e-5f), x, w, mod);
        });
    }

    /** With the pipelined kernels off (the default) and on: float4 rows of 3x3 taps take the row-walking backward when on. */
    @ParameterizedTest(name = "pipelined={0}")
    @ValueSource(booleans = {false, true})
    void gatedDwConv(boolean pipelined) {
        fused("gatedDwConv", pipelined, () -> {
            Tensor x = randn(2, 10, 9, 11), w = Ops.mulScalar(randn(10, 1, 3, 3), 0.3f), b = randn(10);
            checkOp("gatedDwConv", in -> Ops.gatedDwConv(in[0], in[1], in[2]), x, w, b);
            checkOp("gatedDwConv without bias", in -> Ops.gatedDwConv(in[0], in[1], null), x, w);
            // Rows of a multiple of 4 floats, two tiles wide and two tall: the float4 kernels.
            checkOp("gatedDwConv float4 rows", in -> Ops.gatedDwConv(in[0], in[1], in[2]), randn(2, 6, 37, 40),
                    Ops.mulScalar(randn(6, 1, 3, 3), 0.3f), randn(6));
        });
    }

    /** With the pipelined kernels off (the default) and on: one head of 48 channels takes them when on. */
    @ParameterizedTest(name = "pipelined={0}")
    @ValueSource(booleans = {false, true})
    void channelAttention(boolean pipelined) {
        fused("channelAttention", pipelined, () -> {
            Tensor qkv = randn(2, 12, 7, 9), t = rand(0.5f, 2f, 2);
            checkOp("channelAttention 2 heads", in -> Ops.channelAttention(in[0], in[1], 2), qkv, t);
            checkOp("channelAttention 1 head", in -> Ops.channelAttention(in[0], in[1], 1), qkv, rand(0.5f, 2f, 1));
            // One head of 48 channels on 60 pixels: the pipelined kernels when on (two 32-pixel stages).
            checkOp("channelAttention 1 head of 48", in -> Ops.channelAttention(in[0], in[1], 1), randn(2, 144, 6, 10), rand(0.5f, 2f, 1));
        });
    }

    // ---------------------------------------------------------------- a whole small model

    @Test
    void smallModelFromPrimitives() {
        smallModel(false);
    }

    /** Its GDFN (3x3 taps, 12-pixel rows) takes the row-walking backward with the pipelined kernels on. */
    @ParameterizedTest(name = "pipelined={0}")
    @ValueSource(booleans = {false, true})
    void smallModelWithFusedOps(boolean pipelined) {
        fused("small model with fused ops", pipelined, () -> smallModel(true));
    }

    private void smallModel(boolean fused) {
        String what = "small model" + (fused ? " (fused ops)" : "");
        java.util.Map<String, Tensor> cpu = TinyDiffIR.parameters(rng), dev = new java.util.LinkedHashMap<>();
        for (var e : cpu.entrySet()) {
            e.getValue().requiresGrad(true);
            dev.put(e.getKey(), gpu(e.getValue()).requiresGrad(true));
        }
        Tensor x = randn(2, 3, 12, 12), z = randn(2, 8), target = randn(2, 3, 12, 12);
        Tensor ref = reference(what, () -> TinyDiffIR.loss(cpu, x, z, target, fused));
        reference(what + " backward", () -> {
            ref.backward();
            return null;
        });
        Tensor loss = TinyDiffIR.loss(dev, gpu(x), gpu(z), gpu(target), fused);
        loss.backward();
        close(loss, ref, FWD, what + " loss");
        for (var e : cpu.entrySet()) close(dev.get(e.getKey()).grad(), e.getValue().grad(), BWD, what + " gradient of " + e.getKey());
    }
}
