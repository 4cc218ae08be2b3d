package diffir.kernels.check;

import diffir.engine.Device;
import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.backend.AdamParams;
import diffir.engine.backend.BinaryOp;
import diffir.engine.backend.ConvSpec;
import diffir.engine.backend.ScalarOp;
import diffir.engine.backend.UnaryOp;
import diffir.kernels.ConvKernels;
import diffir.kernels.CudaBackend;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Runs every kernel of the CUDA backend once on small odd-sized inputs, for compute-sanitizer
 * (memcheck): out-of-bounds and misaligned accesses and API errors are reported by the tool. Each
 * step synchronises so an error is attributed to it. Exit status 0 when every step ran; fused ops
 * whose kernels are not in this build are listed as skipped.
 */
public final class KernelSmoke {
    private final Device d;
    private final CudaBackend b;
    private final SplittableRandom rng = new SplittableRandom(11);
    private final List<String> failed = new ArrayList<>(), skipped = new ArrayList<>();
    private int ran;

    private KernelSmoke(Device d) {
        this.d = d;
        this.b = (CudaBackend) d.backend();
    }

    public static void main(String[] args) {
        Device d = Device.cuda();
        System.out.println("device: " + d.backend().describe());
        System.exit(run(d).isEmpty() ? 0 : 1);
    }

    /** Runs every step on d; returns the failures (empty when all ran). */
    public static List<String> run(Device d) {
        KernelSmoke s = new KernelSmoke(d);
        s.all();
        System.out.println("smoke: " + s.ran + " steps ran, " + s.skipped.size() + " skipped " + s.skipped
                + ", " + s.failed.size() + " failed " + s.failed);
        return s.failed;
    }

    private void step(String name, Runnable r) {
        try {
            r.run();
            b.synchronize();
            ran++;
        } catch (UnsupportedOperationException e) {
            skipped.add(name);
        } catch (RuntimeException e) {
            failed.add(name + ": " + e.getMessage());
            System.out.println("FAILED " + name + ": " + e);
        }
    }

    private Tensor rnd(int... shape) {
        return Tensor.rand(d, rng, -1f, 1f, shape);
    }

    private Tensor out(int... shape) {
        return Tensor.empty(d, shape);
    }

    private void all() {
        int[] s = {3, 5, 7, 9};
        step("fill", () -> b.fill(out(s), 1f));
        step("upload/download", () -> rnd(1001).toFloatArray());
        step("copy_strided", () -> b.copyStrided(rnd(s), 0, new long[]{315, 1, 45, 5}, out(s), 0, Shapes.strides(s), new int[]{3, 5, 7, 9}));
        for (BinaryOp op : BinaryOp.values()) {
            step("binary_same " + op, () -> b.binary(op, rnd(s), rnd(s), out(s)));
            step("binary_same unaligned " + op, () -> b.binary(op, rnd(946).narrowView(1, 945).reshapeView(s), rnd(s), out(s)));
            step("binary_strided " + op, () -> b.binary(op, rnd(s), rnd(5, 1, 9), out(s)));
            step("binary_rows4 " + op, () -> b.binary(op, rnd(2, 6, 8, 8), rnd(2, 6, 1, 1), out(2, 6, 8, 8)));
        }
        // pixel_unshuffle(2) of (2, 3, 8, 8) as copyStrided walks it: float4 stores, stride-2 loads.
        step("copy_rows4", () -> b.copyStrided(rnd(2, 3, 8, 8), 0, new long[]{192, 64, 8, 1, 16, 2}, out(2, 12, 4, 4), 0,
                Shapes.strides(new int[]{2, 3, 2, 2, 4, 4}), new int[]{2, 3, 2, 2, 4, 4}));
        for (ScalarOp op : ScalarOp.values()) step("scalar_op " + op, () -> b.scalar(op, rnd(s), 1.5f, out(s)));
        for (UnaryOp op : UnaryOp.values()) {
            step("unary_op " + op, () -> b.unary(op, rnd(s), 0.1f, out(s)));
            step("unary_backward " + op, () -> b.unaryBackward(op, rnd(s), rnd(s), rnd(s), 0.1f, out(s)));
        }
        step("sum rows warp", () -> b.sum(rnd(7, 300), out(7, 1)));
        step("sum rows block", () -> b.sum(rnd(3, 100_000), out(3, 1)));
        step("sum cols", () -> b.sum(rnd(3000, 7), out(1, 7)));
        step("sum all", () -> b.sum(rnd(200_003), out(1)));
        step("sum middle", () -> b.sum(rnd(2, 3, 5, 7), out(1, 3, 1, 7)));
        step("sum short rows", () -> b.sum(rnd(9, 40), out(9, 1)));
        for (boolean blas : new boolean[]{true, false}) {
            b.useLibraries(blas, true);
            String tag = blas ? " cublas" : " gemm_f32";
            step("matmul" + tag, () -> b.matmul(rnd(3, 17, 33), rnd(3, 33, 9), out(3, 17, 9), false, false, 1f, 0f));
            step("matmul trans" + tag, () -> b.matmul(rnd(3, 33, 17), rnd(9, 33), out(3, 17, 9), true, true, 1f, 0f));
            step("matmul shared b" + tag, () -> b.matmul(rnd(3, 17, 33), rnd(33, 9), out(3, 17, 9), false, false, 1f, 0f));
        }
        b.useLibraries(true, true);
        ConvSpec[] specs = {
                new ConvSpec(2, 3, 9, 11, 5, 3, 3, 1, 1, 1, 1, 1),
                new ConvSpec(2, 4, 10, 9, 6, 3, 3, 2, 2, 1, 1, 2),
                new ConvSpec(2, 6, 7, 5, 4, 1, 1, 1, 1, 0, 0, 1),
                new ConvSpec(2, 6, 9, 8, 6, 3, 3, 1, 1, 1, 1, 6),
                new ConvSpec(2, 5, 11, 10, 5, 5, 5, 2, 2, 2, 2, 5),
                new ConvSpec(1, 4, 7, 9, 4, 4, 4, 1, 1, 1, 1, 4),
                new ConvSpec(2, 3, 40, 40, 3, 3, 3, 1, 1, 1, 1, 3),
                new ConvSpec(2, 5, 7, 9, 5, 3, 3, 1, 1, 1, 1, 5),      // tiled depthwise, scalar staging
                new ConvSpec(1, 3, 12, 36, 3, 5, 5, 1, 1, 2, 2, 3)};   // tiled depthwise 5x5, float4 staging
        for (ConvKernels.Path path : ConvKernels.Path.values()) {
            if (path == ConvKernels.Path.CUDNN && b.api().dnn() == null) continue;
            b.setConvPath(path);
            for (ConvSpec c : specs) {
                String tag = " " + path + " " + c;
                Tensor x = rnd(c.n(), c.c(), c.h(), c.w()), w = rnd(c.o(), c.cPerGroup(), c.kh(), c.kw());
                Tensor gy = rnd(c.n(), c.o(), c.outH(), c.outW());
                step("conv2d" + tag, () -> b.conv2d(x, w, rnd(c.o()), c, out(c.n(), c.o(), c.outH(), c.outW())));
                step("conv2d backward input" + tag, () -> b.conv2dBackwardInput(gy, w, c, out(c.n(), c.c(), c.h(), c.w())));
                step("conv2d backward weight" + tag, () -> b.conv2dBackwardWeight(x, gy, c, out(c.o(), c.cPerGroup(), c.kh(), c.kw())));
            }
        }
        b.setConvPath(ConvKernels.Path.AUTO);
        for (int len : new int[]{37, 3000, 9000}) {
            int[] r = {5, len};
            step("softmax " + len, () -> b.softmax(rnd(r), false, out(r)));
            step("log_softmax " + len, () -> b.softmax(rnd(r), true, out(r)));
            step("softmax backward " + len, () -> b.softmaxBackward(rnd(r), rnd(r), false, out(r)));
            step("l2norm " + len, () -> b.l2Normalize(rnd(r), 1e-12f, out(r), out(5, 1)));
            step("l2norm backward " + len, () -> b.l2NormalizeBackward(rnd(r), Tensor.full(d, 2f, 5, 1), rnd(r), 1e-12f, out(r)));
        }
        step("adam", () -> b.adam(rnd(1001), rnd(1001), rnd(1001), Tensor.full(d, 0.1f, 1001),
                new AdamParams(1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, true, 1)));
        step("adam_many", () -> {
            int k = 25;  // two launches; one tensor of several chunks, one unaligned view
            Tensor[] p = new Tensor[k], gr = new Tensor[k], m = new Tensor[k], v = new Tensor[k];
            for (int i = 0; i < k; i++) {
                int n = i == 2 ? 5001 : 7 + 13 * i;
                p[i] = i == 4 ? rnd(n + 1).narrowView(1, n) : rnd(n);
                gr[i] = rnd(n);
                m[i] = rnd(n);
                v[i] = Tensor.full(d, 0.1f, n);
            }
            b.adamMany(p, gr, m, v, new AdamParams(1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, false, 3));
        });
        Tensor x = rnd(2, 6, 5, 7), lw = rnd(6), lb = rnd(6), mod = rnd(2, 12);
        Tensor mean = out(2, 5, 7), rstd = out(2, 5, 7);
        step("layerNorm", () -> b.layerNorm(x, lw, lb, mod, 1e-5f, out(2, 6, 5, 7), mean, rstd));
        step("layerNorm backward", () -> b.layerNormBackward(x, lw, lb, mod, mean, rstd, rnd(2, 6, 5, 7),
                out(2, 6, 5, 7), out(6), out(6), out(2, 12)));
        Tensor g = rnd(2, 10, 9, 11), dw = rnd(10, 1, 3, 3);
        step("gatedDwConv", () -> b.gatedDwConv(g, dw, rnd(10), out(2, 5, 9, 11)));
        step("gatedDwConv backward", () -> b.gatedDwConvBackward(g, dw, rnd(10), rnd(2, 5, 9, 11), out(2, 10, 9, 11),
                out(10, 1, 3, 3), out(10)));
        Tensor qkv = rnd(2, 12, 7, 9), t = rnd(2), attn = out(2, 2, 2, 2), norms = out(2, 8);
        step("channelAttention", () -> b.channelAttention(qkv, t, 2, out(2, 4, 7, 9), attn, norms));
        step("channelAttention backward", () -> b.channelAttentionBackward(qkv, t, 2, attn, norms, rnd(2, 4, 7, 9),
                out(2, 12, 7, 9), out(2)));
        // The level sizes' kernels: C = 48 LayerNorm, float4 GDFN.
        Tensor x48 = rnd(2, 48, 5, 8), mean48 = out(2, 5, 8), rstd48 = out(2, 5, 8), w48 = rnd(48), m48 = rnd(2, 96);
        step("layerNorm c48", () -> b.layerNorm(x48, w48, rnd(48), m48, 1e-5f, out(2, 48, 5, 8), mean48, rstd48));
        step("layerNorm backward c48", () -> b.layerNormBackward(x48, w48, rnd(48), m48, mean48, rstd48, rnd(2, 48, 5, 8),
                out(2, 48, 5, 8), out(48), out(48), out(2, 96)));
        Tensor g4 = rnd(2, 10, 9, 12);
        step("gatedDwConv v4", () -> b.gatedDwConv(g4, dw, rnd(10), out(2, 5, 9, 12)));
        step("gatedDwConv backward v4", () -> b.gatedDwConvBackward(g4, dw, rnd(10), rnd(2, 5, 9, 12), out(2, 10, 9, 12),
                out(10, 1, 3, 3), out(10)));
        // Attention's pipelined kernels (one head of c = 4r channels: r = 12, 8, 4), 60 pixels: two
        // 32-pixel stages, the second partial.
        for (int[] a : new int[][]{{144, 1, 48}, {96, 1, 32}, {96, 2, 16}}) {
            int c3 = a[0], heads = a[1], ch = a[2], cAll = c3 / 3;
            Tensor q = rnd(2, c3, 6, 10), th = rnd(heads), at = out(2, heads, ch, ch), nr = out(2, 2 * cAll), gram = out(2, heads, ch, ch);
            step("channelAttention c" + ch, () -> b.channelAttention(q, th, heads, out(2, cAll, 6, 10), at, nr, gram));
            step("channelAttention backward c" + ch, () -> b.channelAttentionBackward(q, th, heads, at, nr, gram, rnd(2, cAll, 6, 10),
                    out(2, c3, 6, 10), out(heads)));
            step("channelAttention backward recomputing c" + ch, () -> b.channelAttentionBackward(q, th, heads, at, nr,
                    rnd(2, cAll, 6, 10), out(2, c3, 6, 10), out(heads)));
            step("channelAttention backward, temperature only, c" + ch, () -> b.channelAttentionBackward(q, th, heads, at, nr, gram,
                    rnd(2, cAll, 6, 10), null, out(heads)));
        }
    }
}
