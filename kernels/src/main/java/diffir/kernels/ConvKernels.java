package diffir.kernels;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.backend.BinaryOp;
import diffir.engine.backend.ConvSpec;

import java.lang.ref.Reference;
import java.util.ArrayList;
import java.util.List;

/**
 * Glue for conv2d and its gradients. Pointwise (1x1, stride 1, no padding, one group) convolutions
 * are GEMMs on the NCHW layout; depthwise ones run conv.cu's direct kernels; the rest go to cuDNN when
 * the machine has it, else to im2col + GEMM (col2im for the input gradient).
 */
public final class ConvKernels {
    private ConvKernels() {}

    /** Which implementation general convolutions use. */
    public enum Path {
        /** GEMM for pointwise, own kernels for depthwise, cuDNN (else im2col) for the rest. */
        AUTO,
        /** Never cuDNN. */
        OWN,
        /** cuDNN for every convolution (fails when absent): the reference in tests and benchmarks. */
        CUDNN
    }

    /** Floats of im2col buffer per chunk of images (128 MiB). */
    private static final long MAX_COLS = 32L << 20;

    static void forward(CudaBackend b, Tensor x, Tensor w, Tensor bias, ConvSpec s, Tensor out) {
        check(s, x, "input", s.n(), s.c(), s.h(), s.w());
        check(s, w, "weight", s.o(), s.cPerGroup(), s.kh(), s.kw());
        check(s, out, "output", s.n(), s.o(), s.outH(), s.outW());
        if (bias != null && bias.numel() != s.o())
            throw new IllegalArgumentException("conv2d " + s + ": bias " + Shapes.str(bias.shape()) + " for " + s.o() + " outputs");
        Path path = b.convPath();
        Workspace ws = new Workspace(b);
        if (path == Path.CUDNN) {
            if (!dnn(b).forward(s, b.ptr(x), b.ptr(w), b.ptr(out), ws))
                throw new CudaException("cuDNN has no forward algorithm for " + s);
            addBias(b, out, bias, s);
        } else if (s.depthwise() && sameTiled(s)) {
            sameTiled(b, "dwconv_same_k", x, w, bias, out, s);
        } else if (s.depthwise()) {
            b.launch("dwconv_forward", b.grid("dwconv_forward", out.numel()), CudaBackend.block(), 0, x, w, bias, out, s.n(), geom(s, s.c()));
        } else if (pointwise(s)) {
            int hw = s.h() * s.w();
            GemmKernels.gemm(b, false, false, s.o(), hw, s.c(), 1f, b.ptr(w), s.c(), 0, b.ptr(x), hw, (long) s.c() * hw,
                    0f, b.ptr(out), hw, (long) s.o() * hw, s.n());
            addBias(b, out, bias, s);
        } else if (path == Path.AUTO && b.dnn() != null && b.dnn().forward(s, b.ptr(x), b.ptr(w), b.ptr(out), ws)) {
            addBias(b, out, bias, s);
        } else {
            im2colForward(b, x, w, s, out);
            addBias(b, out, bias, s);
        }
        Reference.reachabilityFence(x);
        Reference.reachabilityFence(w);
        Reference.reachabilityFence(out);
        Reference.reachabilityFence(ws);
    }

    static void backwardInput(CudaBackend b, Tensor gy, Tensor w, ConvSpec s, Tensor gx) {
        check(s, gy, "output gradient", s.n(), s.o(), s.outH(), s.outW());
        check(s, w, "weight", s.o(), s.cPerGroup(), s.kh(), s.kw());
        check(s, gx, "input gradient", s.n(), s.c(), s.h(), s.w());
        Path path = b.convPath();
        Workspace ws = new Workspace(b);
        if (path == Path.CUDNN) {
            if (!dnn(b).backwardData(s, b.ptr(w), b.ptr(gy), b.ptr(gx), ws))
                throw new CudaException("cuDNN has no backward-data algorithm for " + s);
        } else if (s.depthwise() && sameTiled(s)) {
            // For stride 1 and padding K/2 the input gradient is the same convolution of gy with the taps rotated by 180 degrees.
            sameTiled(b, "dwconv_same_flip_k", gy, w, null, gx, s);
        } else if (s.depthwise()) {
            b.launch("dwconv_backward_input", b.grid("dwconv_backward_input", gx.numel()), CudaBackend.block(), 0, gy, w, gx, s.n(), geom(s, s.c()));
        } else if (pointwise(s)) {
            int hw = s.h() * s.w();
            GemmKernels.gemm(b, true, false, s.c(), hw, s.o(), 1f, b.ptr(w), s.c(), 0, b.ptr(gy), hw, (long) s.o() * hw,
                    0f, b.ptr(gx), hw, (long) s.c() * hw, s.n());
        } else if (!(path == Path.AUTO && b.dnn() != null
                && b.dnn().backwardData(s, b.ptr(w), b.ptr(gy), b.ptr(gx), ws))) {
            col2imBackward(b, gy, w, s, gx);
        }
        Reference.reachabilityFence(gy);
        Reference.reachabilityFence(w);
        Reference.reachabilityFence(gx);
        Reference.reachabilityFence(ws);
    }

    static void backwardWeight(CudaBackend b, Tensor x, Tensor gy, ConvSpec s, Tensor gw) {
        check(s, x, "input", s.n(), s.c(), s.h(), s.w());
        check(s, gy, "output gradient", s.n(), s.o(), s.outH(), s.outW());
        check(s, gw, "weight gradient", s.o(), s.cPerGroup(), s.kh(), s.kw());
        Path path = b.convPath();
        Workspace ws = new Workspace(b);
        if (path == Path.CUDNN) {
            if (!dnn(b).backwardFilter(s, b.ptr(x), b.ptr(gy), b.ptr(gw), ws))
                throw new CudaException("cuDNN has no backward-filter algorithm for " + s);
        } else if (s.depthwise()) {
            depthwiseWeight(b, x, gy, s, gw);
        } else if (pointwise(s)) {
            // gw (o x c) = sum over images of gy[i] (o x hw) x[i]^T (hw x c), accumulated through beta.
            int hw = s.h() * s.w();
            for (int i = 0; i < s.n(); i++)
                GemmKernels.gemm(b, false, true, s.o(), s.c(), hw, 1f, b.ptr(gy) + 4L * i * s.o() * hw, hw, 0,
                        b.ptr(x) + 4L * i * s.c() * hw, hw, 0, i == 0 ? 0f : 1f, b.ptr(gw), s.c(), 0, 1);
        } else if (!(path == Path.AUTO && b.dnn() != null
                && b.dnn().backwardFilter(s, b.ptr(x), b.ptr(gy), b.ptr(gw), ws))) {
            im2colWeight(b, x, gy, s, gw);
        }
        Reference.reachabilityFence(x);
        Reference.reachabilityFence(gy);
        Reference.reachabilityFence(gw);
        Reference.reachabilityFence(ws);
    }

    // ---------------------------------------------------------------- im2col + GEMM

    private static void im2colForward(CudaBackend b, Tensor x, Tensor w, ConvSpec s, Tensor out) {
        int og = s.oPerGroup(), rows = colRows(s), ohw = s.outH() * s.outW();
        inChunks(b, s, (g, n0, imgs, cols) -> {
            im2col(b, x, s, g, n0, imgs, cols);
            GemmKernels.gemm(b, false, false, og, ohw, rows, 1f, b.ptr(w) + 4L * g * og * rows, rows, 0,
                    b.ptr(cols), ohw, (long) rows * ohw, 0f,
                    b.ptr(out) + 4L * ((long) n0 * s.o() + (long) g * og) * ohw, ohw, (long) s.o() * ohw, imgs);
        });
    }

    private static void col2imBackward(CudaBackend b, Tensor gy, Tensor w, ConvSpec s, Tensor gx) {
        int cg = s.cPerGroup(), og = s.oPerGroup(), rows = colRows(s), hw = s.h() * s.w(), ohw = s.outH() * s.outW();
        inChunks(b, s, (g, n0, imgs, cols) -> {
            // cols_i (rows x ohw) = W_g^T (rows x og) gy[i, g] (og x ohw)
            GemmKernels.gemm(b, true, false, rows, ohw, og, 1f, b.ptr(w) + 4L * g * og * rows, rows, 0,
                    b.ptr(gy) + 4L * ((long) n0 * s.o() + (long) g * og) * ohw, ohw, (long) s.o() * ohw, 0f,
                    b.ptr(cols), ohw, (long) rows * ohw, imgs);
            long gxAt = b.ptr(gx) + 4L * ((long) n0 * s.c() + (long) g * cg) * hw;
            b.launch("col2im", b.grid("col2im", (long) imgs * cg * hw), CudaBackend.block(), 0,
                    cols, new Ptr(gxAt), imgs, (long) s.c() * hw, geom(s, cg));
        });
    }

    private static void im2colWeight(CudaBackend b, Tensor x, Tensor gy, ConvSpec s, Tensor gw) {
        int og = s.oPerGroup(), rows = colRows(s), ohw = s.outH() * s.outW();
        inChunks(b, s, (g, n0, imgs, cols) -> {
            im2col(b, x, s, g, n0, imgs, cols);
            // gw_g (og x rows) += gy[i, g] (og x ohw) cols_i^T (ohw x rows), one image at a time.
            for (int i = 0; i < imgs; i++) {
                boolean first = n0 + i == 0;
                GemmKernels.gemm(b, false, true, og, rows, ohw, 1f,
                        b.ptr(gy) + 4L * ((long) (n0 + i) * s.o() + (long) g * og) * ohw, ohw, 0,
                        b.ptr(cols) + 4L * i * rows * ohw, ohw, 0, first ? 0f : 1f,
                        b.ptr(gw) + 4L * g * og * rows, rows, 0, 1);
            }
        });
    }

    /** Rows of an image's column matrix: one per (input channel of the group, kernel tap). */
    private static int colRows(ConvSpec s) {
        return s.cPerGroup() * s.kh() * s.kw();
    }

    /** Work on images [n0, n0 + imgs) of group g, with cols room for their column matrices. */
    @FunctionalInterface
    private interface ChunkWork {
        void run(int g, int n0, int imgs, Tensor cols);
    }

    /** Runs work for every group and every chunk of images whose column matrices fit in MAX_COLS floats (at least one image). */
    private static void inChunks(CudaBackend b, ConvSpec s, ChunkWork work) {
        long perImage = (long) colRows(s) * s.outH() * s.outW();
        int chunk = (int) Math.max(1, Math.min(s.n(), MAX_COLS / Math.max(1, perImage)));
        Tensor cols = b.scratch(Math.toIntExact(chunk * perImage));
        for (int g = 0; g < s.groups(); g++)
            for (int n0 = 0; n0 < s.n(); n0 += chunk) work.run(g, n0, Math.min(chunk, s.n() - n0), cols);
        Reference.reachabilityFence(cols);
    }

    /** cols = the column matrices of images [n0, n0 + imgs) of group g of x. */
    private static void im2col(CudaBackend b, Tensor x, ConvSpec s, int g, int n0, int imgs, Tensor cols) {
        int cg = s.cPerGroup(), hw = s.h() * s.w();
        long xAt = b.ptr(x) + 4L * ((long) n0 * s.c() + (long) g * cg) * hw;
        b.launch("im2col", b.grid("im2col", (long) imgs * colRows(s) * s.outH() * s.outW()), CudaBackend.block(), 0,
                new Ptr(xAt), cols, imgs, (long) s.c() * hw, geom(s, cg));
    }

    // ---------------------------------------------------------------- depthwise, tiled

    /** The tiled depthwise kernels' case: square odd K in {3, 5, 7}, stride 1, padding K/2 ("same"). */
    private static boolean sameTiled(ConvSpec s) {
        int k = s.kh();
        return s.kw() == k && (k == 3 || k == 5 || k == 7) && s.strideH() == 1 && s.strideW() == 1 && s.padH() == k / 2
                && s.padW() == k / 2 && s.c() <= 65535 && s.n() <= 65535;
    }

    /** One 32 x 32 output tile of one plane per block, the input tile staged in shared memory (float4 when rows allow). */
    private static void sameTiled(CudaBackend b, String kernel, Tensor in, Tensor w, Tensor bias, Tensor out, ConvSpec s) {
        int tilesX = Dim3.blocks(s.w(), 32), tilesY = Dim3.blocks(s.h(), 32);
        boolean vec = s.w() % 4 == 0 && in.offset() % 4 == 0;
        b.launch(kernel + s.kh() + (vec ? "_v4" : ""), Dim3.of(tilesX * tilesY, s.c(), s.n()), Dim3.of(32, 8), 0,
                in, w, bias, out, s.c(), s.h(), s.w(), tilesX);
    }

    // ---------------------------------------------------------------- depthwise weight gradient

    private static void depthwiseWeight(CudaBackend b, Tensor x, Tensor gy, ConvSpec s, Tensor gw) {
        int c = s.c(), kk = s.kh() * s.kw();
        long pixels = (long) s.n() * s.outH() * s.outW();
        int k = s.kh() == s.kw() && (s.kh() == 3 || s.kh() == 5 || s.kh() == 7) ? s.kh() : 0;
        int blocksPerSplit = k > 0 ? c : c * kk;
        // Enough blocks for about 4 per SM, each summing at least 1024 pixels.
        long splits = Math.max(1, Math.min((4L * b.multiprocessors() + blocksPerSplit - 1) / blocksPerSplit, (pixels + 1023) / 1024));
        splits = Math.min(splits, 65535);
        int chunk = (int) ((pixels + splits - 1) / splits);
        int parts = (int) ((pixels + chunk - 1) / chunk);
        Tensor partial = parts == 1 ? gw : b.scratch(parts * c * kk);
        String kernel = k > 0 ? "dwconv_backward_weight_k" + k : "dwconv_backward_weight_any";
        b.launch(kernel, Dim3.of(blocksPerSplit, parts), CudaBackend.block(), 0, x, gy, partial, s.n(), chunk, geom(s, c));
        if (parts > 1) ReduceKernels.pass(b, partial, gw, 1, parts, c * kk);
    }

    // ---------------------------------------------------------------- helpers

    private static boolean pointwise(ConvSpec s) {
        return s.kh() == 1 && s.kw() == 1 && s.strideH() == 1 && s.strideW() == 1 && s.padH() == 0 && s.padW() == 0
                && s.groups() == 1;
    }

    private static void addBias(CudaBackend b, Tensor out, Tensor bias, ConvSpec s) {
        if (bias != null) ElementwiseKernels.binary(b, BinaryOp.ADD, out, bias.reshapeView(1, s.o(), 1, 1), out);
    }

    /** The kernels' ConvGeom struct for c channels. */
    private static int[] geom(ConvSpec s, int c) {
        return new int[]{c, s.h(), s.w(), s.kh(), s.kw(), s.strideH(), s.strideW(), s.padH(), s.padW(), s.outH(), s.outW()};
    }

    private static Dnn dnn(CudaBackend b) {
        Dnn d = b.dnn();
        if (d == null) throw new CudaException("convolution path CUDNN asked for, but cuDNN is not available");
        return d;
    }

    /** cuDNN workspace from the caching allocator, held until the op returns (its work is queued by then). */
    private static final class Workspace implements Dnn.Workspace {
        private final CudaBackend b;
        private final List<Tensor> held = new ArrayList<>(1);

        Workspace(CudaBackend b) {
            this.b = b;
        }

        @Override
        public long get(long bytes) {
            Tensor t = b.scratch(Math.toIntExact((bytes + 3) / 4));
            held.add(t);
            return b.ptr(t);
        }
    }

    private static void check(ConvSpec s, Tensor t, String what, int... shape) {
        if (t.numel() != Shapes.numel(shape))
            throw new IllegalArgumentException("conv2d " + s + ": " + what + " " + Shapes.str(t.shape()) + " should be " + Shapes.str(shape));
    }
}
