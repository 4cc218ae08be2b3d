package diffir.kernels.fused;

import diffir.engine.Device;
import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.ops.Ops;
import diffir.engine.testing.Assert;
import diffir.engine.testing.TestSeeds;
import diffir.kernels.KernelLauncher;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The fused ops on CUDA against the CPU backend: the same {@code Ops} call on CPU and on GPU copies of
 * fresh random inputs (the seed is printed), forward and backward, relative error <= 1e-5 for every
 * output and gradient (both sides are float32 with different summation orders; the emulated tests
 * measure our kernels within 1e-6 of float64 PyTorch). Which gradients are requested varies, so the
 * kernels' nullable outputs are exercised. A second group calls the kernel glue directly with
 * outputs pre-filled with NaN (every element must be written) and runs each backward twice
 * (results must be bitwise identical: the reductions are deterministic). The GDFN and attention
 * cases run with the opt-in pipelined kernels ({@link FusedPaths}) off, the shipped default, and on.
 * Skipped without CUDA.
 */
class FusedKernelsGpuTest {
    static final double TOL = 1e-5;
    static final long SEED = TestSeeds.base();
    static Device cuda;

    @BeforeAll
    static void cuda() {
        boolean ok = Device.cudaAvailable();
        if (!ok) System.out.println("SKIPPED FusedKernelsGpuTest: no CUDA device");
        assumeTrue(ok, "no CUDA device");
        cuda = Device.cuda();
        System.out.println("FusedKernelsGpuTest seed " + SEED + " on " + cuda.backend().describe());
    }

    // ------------------------------------------------------------------------------ helpers

    /** One input on both devices (same values); GPU copy made after the values are final. */
    record Input(Tensor cpu, Tensor gpu) {
        static Input of(SplittableRandom rng, float scale, float offset, boolean grad, int... shape) {
            float[] v = new float[Math.toIntExact(Shapes.numel(shape))];
            Tensor r = Tensor.randn(Device.CPU, rng, shape);
            float[] n = r.toFloatArray();
            for (int i = 0; i < v.length; i++) v[i] = n[i] * scale + offset;
            Tensor c = Tensor.of(v, shape), g = Tensor.of(cuda, v, shape);
            if (grad) {
                c.requiresGrad(true);
                g.requiresGrad(true);
            }
            return new Input(c, g);
        }

        static Input uniform(SplittableRandom rng, float lo, float hi, boolean grad, int... shape) {
            Tensor c = Tensor.rand(Device.CPU, rng, lo, hi, shape);
            Tensor g = Tensor.of(cuda, c.toFloatArray(), shape);
            if (grad) {
                c.requiresGrad(true);
                g.requiresGrad(true);
            }
            return new Input(c, g);
        }
    }

    static void close(String what, Tensor gpuValue, Tensor cpuValue) {
        assertArrayEquals(cpuValue.shape(), gpuValue.shape(), what + " shape");
        double e = Assert.relError(gpuValue.toFloatArray(), cpuValue.toFloatArray());
        System.out.printf("  %-60s rel err %.2e%n", what, e);
        assertTrue(e <= TOL, what + ": relative error " + e + " > " + TOL + " (seed " + SEED + ")");
    }

    /** Runs f on both devices, compares outputs, back-propagates one random gradient, compares input gradients. */
    static void forwardBackward(String name, SplittableRandom rng, Function<Tensor[], Tensor> f, Input... in) {
        forwardBackward(name, rng, false, f, in);
    }

    /**
     * As above; with {@code selfGradient} the upstream gradient is the output itself (the gradient of
     * |out|^2 / 2) instead of random. A scalar gradient such as the attention temperature's sums
     * terms of both signs under a random upstream gradient and can land near 0, where its relative
     * error means nothing; under |out|^2 / 2 it is a sum without cancellation.
     */
    static void forwardBackward(String name, SplittableRandom rng, boolean selfGradient, Function<Tensor[], Tensor> f, Input... in) {
        for (Input i : in) {
            if (i == null) continue;
            i.cpu.zeroGrad();
            i.gpu.zeroGrad();
        }
        Tensor[] c = Arrays.stream(in).map(i -> i == null ? null : i.cpu).toArray(Tensor[]::new);
        Tensor[] g = Arrays.stream(in).map(i -> i == null ? null : i.gpu).toArray(Tensor[]::new);
        Tensor yc = f.apply(c), yg = f.apply(g);
        close(name + " forward", yg, yc);
        if (selfGradient) {
            yc.backward(yc.detach());
            yg.backward(Tensor.of(cuda, yc.toFloatArray(), yc.shape()));  // the same values on both sides
        } else {
            Input gout = Input.of(rng, 1f, 0f, false, yc.shape());
            yc.backward(gout.cpu);
            yg.backward(gout.gpu);
        }
        for (int k = 0; k < in.length; k++) {
            if (in[k] == null || !in[k].cpu.requiresGrad()) continue;
            assertTrue(in[k].gpu.grad() != null, name + ": input " + k + " got no gradient on CUDA");
            close(name + (selfGradient ? " (gout = out)" : "") + " grad of input " + k, in[k].gpu.grad(), in[k].cpu.grad());
        }
    }

    static KernelLauncher launcher() {
        if (!(cuda.backend() instanceof KernelLauncher l))
            throw new AssertionError("the CUDA backend does not implement KernelLauncher");
        return l;
    }

    static Tensor nan(int... shape) {
        return Tensor.full(cuda, Float.NaN, shape);
    }

    static SplittableRandom rng(String name) {
        return new SplittableRandom(SEED ^ name.hashCode());
    }

    // ------------------------------------------------------------------------------ LayerNorm

    /** n, c, h, w, WithBias, modulated, which inputs want gradients (x, weight, bias, mod). */
    static Stream<Arguments> layerNormCases() {
        return Stream.of(
                Arguments.of(3, 5, 7, 13, true, true, "xwbm"),
                Arguments.of(1, 9, 7, 13, false, false, "xw"),
                Arguments.of(3, 9, 13, 7, false, true, "xwm"),
                Arguments.of(1, 5, 7, 13, true, false, "x"),
                Arguments.of(3, 9, 7, 13, true, true, "wbm"),
                Arguments.of(3, 5, 7, 13, true, true, "m"),
                Arguments.of(2, 48, 64, 64, true, true, "xwbm"),   // level-1 channels
                Arguments.of(2, 48, 64, 64, false, true, "xwm"),
                Arguments.of(1, 96, 32, 32, true, true, "xwbm"),   // largest register-path backward
                Arguments.of(1, 130, 16, 16, true, true, "xwbm"),  // streaming kernels, 16-byte path
                Arguments.of(2, 130, 7, 13, false, true, "xwm"));  // streaming kernels, scalar path
    }

    @ParameterizedTest(name = "LN n{0} c{1} {2}x{3} bias={4} mod={5} grads={6}")
    @MethodSource("layerNormCases")
    void layerNorm(int n, int c, int h, int w, boolean withBias, boolean withMod, String grads) {
        String name = "layerNorm n" + n + " c" + c + " " + h + "x" + w + (withBias ? " WithBias" : " BiasFree") + (withMod ? " mod" : "") + " grads " + grads;
        SplittableRandom rng = rng(name);
        Input x = Input.of(rng, 1.5f, 0.7f, grads.contains("x"), n, c, h, w);
        Input wt = Input.of(rng, 1f, 0f, grads.contains("w"), c);
        Input b = withBias ? Input.of(rng, 1f, 0f, grads.contains("b"), c) : null;
        Input m = withMod ? Input.of(rng, 1f, 0f, grads.contains("m"), n, 2 * c) : null;
        forwardBackward(name, rng, t -> t[3] == null ? Ops.layerNorm(t[0], t[1], t[2], 1e-5f)
                : Ops.modulatedLayerNorm(t[0], t[1], t[2], t[3], 1e-5f), x, wt, b, m);
    }

    // ------------------------------------------------------------------------------ GDFN

    /** n, hidden Hd, h, w, K, bias, which inputs want gradients (x, weight, bias). */
    static Stream<Arguments> gdfnCases() {
        return Stream.of(
                Arguments.of(3, 5, 7, 13, 3, true, "xwb"),
                Arguments.of(1, 9, 13, 7, 3, false, "xw"),
                Arguments.of(3, 5, 7, 13, 3, true, "x"),
                Arguments.of(2, 3, 9, 11, 3, true, "wb"),
                Arguments.of(2, 4, 33, 65, 3, true, "xwb"),      // several tiles, partial edges
                Arguments.of(2, 4, 40, 100, 3, true, "xwb"),     // float4 rows of 4 tiles, partial edges
                Arguments.of(2, 3, 40, 100, 3, false, "w"),      // only the weight gradient
                Arguments.of(1, 127, 64, 64, 3, false, "xw"),    // level-1 hidden width int(48*2.66)
                Arguments.of(1, 3, 8, 9, 5, true, "xwb"),
                Arguments.of(1, 3, 5, 6, 1, false, "xw"))
                .flatMap(FusedKernelsGpuTest::bothPaths);
    }

    /** Each case with the pipelined kernels off and on (a last argument, pipelined). */
    static Stream<Arguments> bothPaths(Arguments a) {
        return Stream.of(false, true).map(p -> {
            Object[] in = a.get(), out = Arrays.copyOf(in, in.length + 1);
            out[in.length] = p;
            return Arguments.of(out);
        });
    }

    static String paths(boolean pipelined) {
        return pipelined ? " pipelined" : "";
    }

    @ParameterizedTest(name = "GDFN n{0} Hd{1} {2}x{3} K{4} bias={5} grads={6} pipelined={7}")
    @MethodSource("gdfnCases")
    void gatedDwConv(int n, int hd, int h, int w, int k, boolean withBias, String grads, boolean pipelined) {
        String name = "gatedDwConv n" + n + " Hd" + hd + " " + h + "x" + w + " K" + k + (withBias ? " bias" : "") + " grads " + grads
                + paths(pipelined);
        SplittableRandom rng = rng(name);
        Input x = Input.of(rng, 1f, 0f, grads.contains("x"), n, 2 * hd, h, w);
        Input wt = Input.of(rng, 0.5f, 0f, grads.contains("w"), 2 * hd, 1, k, k);
        Input b = withBias ? Input.of(rng, 1f, 0f, grads.contains("b"), 2 * hd) : null;
        PipelinedSwitch.with(pipelined, () -> forwardBackward(name, rng, t -> Ops.gatedDwConv(t[0], t[1], t[2]), x, wt, b));
    }

    // ------------------------------------------------------------------------------ attention

    /** n, C, heads, h, w, which inputs want gradients (q = qkv, t = temperature). */
    static Stream<Arguments> attentionCases() {
        return Stream.of(
                Arguments.of(3, 9, 3, 7, 13, "qt"),
                Arguments.of(1, 5, 1, 7, 13, "qt"),
                Arguments.of(3, 6, 2, 13, 7, "qt"),
                Arguments.of(1, 9, 3, 7, 13, "q"),
                Arguments.of(3, 9, 3, 7, 13, "t"),
                Arguments.of(2, 48, 1, 64, 64, "qt"),   // level-1: c = 48, one head
                Arguments.of(2, 48, 1, 12, 22, "q"),    // c = 48, a partial last 32-pixel stage
                Arguments.of(2, 48, 1, 8, 12, "t"),     // c = 48, only the temperature's gradient
                Arguments.of(2, 32, 1, 10, 14, "qt"),   // c = 32 (r = 8)
                Arguments.of(3, 64, 4, 12, 22, "qt"),   // c = 16 per head (r = 4), 4 heads
                Arguments.of(1, 96, 2, 16, 16, "qt"),   // c = 48 per head, two heads
                Arguments.of(1, 96, 1, 16, 16, "qt"),   // c = 96: 2 x 2 tiles of 48 rows
                Arguments.of(1, 70, 1, 10, 10, "qt"))   // c = 70: padded tiles
                .flatMap(FusedKernelsGpuTest::bothPaths);
    }

    @ParameterizedTest(name = "MDTA n{0} C{1} heads{2} {3}x{4} grads={5} pipelined={6}")
    @MethodSource("attentionCases")
    void channelAttention(int n, int c, int heads, int h, int w, String grads, boolean pipelined) {
        String name = "channelAttention n" + n + " C" + c + " heads" + heads + " " + h + "x" + w + " grads " + grads + paths(pipelined);
        SplittableRandom rng = rng(name);
        Input qkv = Input.of(rng, 1f, 0f, grads.contains("q"), n, 3 * c, h, w);
        PipelinedSwitch.with(pipelined, () -> {
            if (grads.contains("q"))  // random upstream gradient for qkv (temperature not compared: see forwardBackward)
                forwardBackward(name, rng, a -> Ops.channelAttention(a[0], a[1], heads), qkv,
                        Input.uniform(rng, 0.5f, 2.5f, false, heads, 1, 1));
            Input t = Input.uniform(rng, 0.5f, 2.5f, grads.contains("t"), heads, 1, 1);
            forwardBackward(name, rng, true, a -> Ops.channelAttention(a[0], a[1], heads), qkv, t);
        });
    }

    // ------------------------------------------------------------------------------ poisoned outputs, determinism

    @Test
    void layerNormWritesEveryOutputDeterministically() {
        for (int[] s : new int[][]{{3, 9, 7, 13}, {2, 48, 32, 32}, {1, 130, 7, 13}}) {
            for (boolean withBias : new boolean[]{true, false}) {
                String name = "poisoned layerNorm " + Shapes.str(s) + (withBias ? " WithBias" : " BiasFree");
                SplittableRandom rng = rng(name);
                int n = s[0], c = s[1];
                Input x = Input.of(rng, 1.5f, 0.7f, true, s), w = Input.of(rng, 1f, 0f, true, c);
                Input b = withBias ? Input.of(rng, 1f, 0f, true, c) : null, m = Input.of(rng, 1f, 0f, true, n, 2 * c);
                Tensor outC = Tensor.empty(Device.CPU, s), meanC = Tensor.empty(Device.CPU, n, s[2], s[3]), rstdC = Tensor.empty(Device.CPU, n, s[2], s[3]);
                Device.CPU.backend().layerNorm(x.cpu, w.cpu, b == null ? null : b.cpu, m.cpu, 1e-5f, outC, meanC, rstdC);
                Tensor out = nan(s), mean = nan(n, s[2], s[3]), rstd = nan(n, s[2], s[3]);
                ModulatedLayerNormKernels.forward(launcher(), x.gpu, w.gpu, b == null ? null : b.gpu, m.gpu, 1e-5f, out, mean, rstd);
                close(name + " out", out, outC);
                close(name + " mean", mean, meanC);
                close(name + " rstd", rstd, rstdC);

                Tensor y = Ops.modulatedLayerNorm(x.cpu, w.cpu, b == null ? null : b.cpu, m.cpu, 1e-5f);
                Input g = Input.of(rng, 1f, 0f, false, s);
                y.backward(g.cpu);
                Tensor[] first = null;
                for (int run = 0; run < 2; run++) {
                    Tensor gx = nan(s), gw = nan(c), gb = withBias ? nan(c) : null, gm = nan(n, 2 * c);
                    ModulatedLayerNormKernels.backward(launcher(), x.gpu, w.gpu, b == null ? null : b.gpu, m.gpu, mean, rstd, g.gpu, gx, gw, gb, gm);
                    Tensor[] now = {gx, gw, gb, gm};
                    if (run == 0) {
                        close(name + " gx", gx, x.cpu.grad());
                        close(name + " gw", gw, w.cpu.grad());
                        if (withBias) close(name + " gb", gb, b.cpu.grad());
                        close(name + " gmod", gm, m.cpu.grad());
                        first = now;
                    } else {
                        sameBits(name + " backward rerun", first, now);
                    }
                }
            }
        }
    }

    @ParameterizedTest(name = "pipelined={0}")
    @ValueSource(booleans = {false, true})
    void gatedDwConvWritesEveryOutputDeterministically(boolean pipelined) {
        PipelinedSwitch.with(pipelined, () -> gatedDwConvWritesEveryOutputDeterministically(paths(pipelined)));
    }

    private void gatedDwConvWritesEveryOutputDeterministically(String paths) {
        for (int[] s : new int[][]{{3, 10, 7, 13}, {1, 254, 64, 64}, {2, 6, 33, 65}}) {
            String name = "poisoned gatedDwConv " + Shapes.str(s) + paths;
            SplittableRandom rng = rng(name);
            int hd = s[1] / 2;
            Input x = Input.of(rng, 1f, 0f, true, s), w = Input.of(rng, 0.5f, 0f, true, s[1], 1, 3, 3), b = Input.of(rng, 1f, 0f, true, s[1]);
            Tensor outC = Tensor.empty(Device.CPU, s[0], hd, s[2], s[3]);
            Device.CPU.backend().gatedDwConv(x.cpu, w.cpu, b.cpu, outC);
            Tensor out = nan(s[0], hd, s[2], s[3]);
            GatedDwConvKernels.forward(launcher(), x.gpu, w.gpu, b.gpu, out);
            close(name + " out", out, outC);

            Tensor y = Ops.gatedDwConv(x.cpu, w.cpu, b.cpu);
            Input g = Input.of(rng, 1f, 0f, false, y.shape());
            y.backward(g.cpu);
            Tensor[] first = null;
            for (int run = 0; run < 2; run++) {
                Tensor gx = nan(s), gw = nan(w.gpu.shape()), gb = nan(s[1]);
                GatedDwConvKernels.backward(launcher(), x.gpu, w.gpu, b.gpu, g.gpu, gx, gw, gb);
                Tensor[] now = {gx, gw, gb};
                if (run == 0) {
                    close(name + " gx", gx, x.cpu.grad());
                    close(name + " gw", gw, w.cpu.grad());
                    close(name + " gb", gb, b.cpu.grad());
                    first = now;
                } else {
                    sameBits(name + " backward rerun", first, now);
                }
            }
        }
    }

    @ParameterizedTest(name = "pipelined={0}")
    @ValueSource(booleans = {false, true})
    void channelAttentionWritesEveryOutputDeterministically(boolean pipelined) {
        PipelinedSwitch.with(pipelined, () -> channelAttentionWritesEveryOutputDeterministically(paths(pipelined)));
    }

    private void channelAttentionWritesEveryOutputDeterministically(String paths) {
        for (int[] s : new int[][]{{3, 27, 7, 13, 3}, {2, 144, 64, 64, 1}, {1, 210, 10, 10, 1}, {2, 96, 12, 22, 2}, {2, 96, 9, 20, 1}}) {
            int heads = s[4], c = s[1] / 3;
            int[] shape = {s[0], s[1], s[2], s[3]};
            String name = "poisoned channelAttention " + Shapes.str(shape) + " heads " + heads + paths;
            SplittableRandom rng = rng(name);
            Input qkv = Input.of(rng, 1f, 0f, true, shape), t = Input.uniform(rng, 0.5f, 2.5f, true, heads, 1, 1);
            Tensor outC = Tensor.empty(Device.CPU, s[0], c, s[2], s[3]);
            Tensor attnC = Tensor.empty(Device.CPU, s[0], heads, c / heads, c / heads), normsC = Tensor.empty(Device.CPU, s[0], 2 * c);
            Device.CPU.backend().channelAttention(qkv.cpu, t.cpu, heads, outC, attnC, normsC);
            Tensor out = nan(outC.shape()), attn = nan(attnC.shape()), norms = nan(normsC.shape());
            ChannelAttentionKernels.forward(launcher(), qkv.gpu, t.gpu, heads, out, attn, norms, null);
            close(name + " out", out, outC);
            close(name + " attn", attn, attnC);
            close(name + " norms", norms, normsC);

            Tensor y = Ops.channelAttention(qkv.cpu, t.cpu, heads);
            Input g = new Input(y.detach(), Tensor.of(cuda, y.toFloatArray(), y.shape()));  // gout = out: see forwardBackward
            y.backward(g.cpu);
            Tensor[] first = null;
            for (int run = 0; run < 2; run++) {
                Tensor gq = nan(shape), gt = nan(heads, 1, 1);
                ChannelAttentionKernels.backward(launcher(), qkv.gpu, t.gpu, heads, attn, norms, null, g.gpu, gq, gt);
                Tensor[] now = {gq, gt};
                if (run == 0) {
                    close(name + " gqkv", gq, qkv.cpu.grad());
                    close(name + " gtemp", gt, t.cpu.grad());
                    first = now;
                } else {
                    sameBits(name + " backward rerun", first, now);
                }
            }
            // With the Q K^T the forward saves (the backward then makes no pass over q and k for it).
            Tensor gram = nan(attnC.shape()), attn2 = nan(attnC.shape()), norms2 = nan(normsC.shape());
            ChannelAttentionKernels.forward(launcher(), qkv.gpu, t.gpu, heads, nan(outC.shape()), attn2, norms2, gram);
            Tensor gq = nan(shape), gt = nan(heads, 1, 1);
            ChannelAttentionKernels.backward(launcher(), qkv.gpu, t.gpu, heads, attn2, norms2, gram, g.gpu, gq, gt);
            close(name + " gqkv (saved Gram)", gq, qkv.cpu.grad());
            close(name + " gtemp (saved Gram)", gt, t.cpu.grad());
        }
    }

    static void sameBits(String what, Tensor[] a, Tensor[] b) {
        for (int i = 0; i < a.length; i++) {
            if (a[i] == null) continue;
            assertArrayEquals(a[i].toFloatArray(), b[i].toFloatArray(), what + ": output " + i + " differs between identical runs");
        }
    }
}
