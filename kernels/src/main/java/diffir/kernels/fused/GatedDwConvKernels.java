package diffir.kernels.fused;

import diffir.engine.Tensor;
import diffir.kernels.Dim3;
import diffir.kernels.KernelLauncher;

import static diffir.kernels.fused.FusedArgs.gridLimit;
import static diffir.kernels.fused.FusedArgs.nchw;
import static diffir.kernels.fused.FusedArgs.required;
import static diffir.kernels.fused.FusedArgs.shape;

/**
 * GDFN's gated depthwise convolution on the GPU ({@code fused_gdfn.cu}): semantics of
 * {@code Backend.gatedDwConv} and {@code Backend.gatedDwConvBackward}.
 *
 * <p>One block per 32x32 output tile of one channel pair (c, Hd + c) of one image, staging both
 * input planes with their halo in shared memory (with float4 loads, the {@code _v4} kernels, when
 * image rows are a multiple of 4 floats and the tensors 16-byte aligned). The backward recomputes z on the tile plus a halo,
 * writes gx for both halves through the transposed stencil, and leaves per-block partial sums of the
 * weight and bias gradients, which one block per channel then reduces. With {@link FusedPaths#pipelined()}
 * on, for 3x3 taps on float4 rows (DiffIR's case) a backward block walks a whole row of tiles
 * ({@code fused_gdfn_bwd_strip_k3}): the next tile's planes load while the current one computes, and
 * the block reduces its sums once. Off (the default until a GPU run has checked it), one tile per block.
 */
public final class GatedDwConvKernels {
    private GatedDwConvKernels() {}

    static final int TILE = 32;
    static final Dim3 BLOCK = Dim3.of(32, 8);
    static final int FINAL_THREADS = 256;

    public static void forward(KernelLauncher L, Tensor x, Tensor w, Tensor bias, Tensor out) {
        Geometry g = Geometry.of("gatedDwConv", x, w, bias);
        required("gatedDwConv out", out, g.n, g.hd, g.h, g.w);
        if (g.empty()) return;
        String kernel = "fused_gdfn_fwd_k" + g.k + (FusedArgs.vectorizable(g.w, x) ? "_v4" : "");
        L.launch(kernel, g.grid(), BLOCK, 0, x, w, bias, out, g.hd, g.h, g.w, g.tilesX);
    }

    /** gx, gw, gb each nullable. */
    public static void backward(KernelLauncher L, Tensor x, Tensor w, Tensor bias, Tensor gy, Tensor gx, Tensor gw, Tensor gb) {
        Geometry g = Geometry.of("gatedDwConvBackward", x, w, bias);
        required("gatedDwConvBackward gy", gy, g.n, g.hd, g.h, g.w);
        shape("gatedDwConvBackward gx", gx, x.shape());
        shape("gatedDwConvBackward gw", gw, w.shape());
        shape("gatedDwConvBackward gb", gb, 2 * g.hd);
        boolean reduce = gw != null || gb != null;
        if (g.hd == 0 || (!reduce && gx == null)) return;

        // Partials per (channel, tap): one per block (a tile, or with the strip kernel a row of tiles).
        // An empty image has none, and the finalize kernel then writes zero gradients.
        boolean vec = FusedArgs.vectorizable(g.w, x, gy), strip = FusedPaths.pipelined() && vec && g.k == 3;
        int nt = g.empty() ? 0 : g.n * g.tilesY * (strip ? 1 : g.tilesX);
        int taps = g.k * g.k;
        Tensor part = reduce && nt > 0 ? L.scratch(2 * g.hd, taps + 1, nt) : null;
        if (nt > 0 && strip)
            L.launch("fused_gdfn_bwd_strip_k3", Dim3.of(g.tilesY, g.hd, g.n), BLOCK, 0, x, w, bias, gy, gx, part, g.hd, g.h, g.w,
                    g.tilesX, nt);
        else if (nt > 0)
            L.launch("fused_gdfn_bwd_k" + g.k + (vec ? "_v4" : ""), g.grid(), BLOCK, 0, x, w, bias, gy, gx, part, g.hd, g.h, g.w,
                    g.tilesX, nt);
        if (reduce)
            L.launch("fused_gdfn_bwd_finalize", Dim3.of(2 * g.hd), Dim3.of(FINAL_THREADS), 0, part, gw, gb, taps, nt);
    }

    /** Shapes and launch grid of one call. */
    private record Geometry(int n, int hd, int h, int w, int k, int tilesX, int tilesY) {
        static Geometry of(String op, Tensor x, Tensor w, Tensor bias) {
            int[] s = nchw(op + " x", x);
            if (s[1] % 2 != 0)
                throw new IllegalArgumentException(op + " x needs an even channel count (2*Hd), got " + s[1]);
            if (w == null || w.rank() != 4)
                throw new IllegalArgumentException(op + " weight must be (2Hd, 1, K, K), got " + (w == null ? "null" : w));
            int k = w.dim(2);
            if (k != 1 && k != 3 && k != 5)
                throw new IllegalArgumentException(op + ": kernel size " + k + " is not supported on CUDA (1, 3 or 5)");
            required(op + " weight", w, s[1], 1, k, k);
            shape(op + " bias", bias, s[1]);
            Geometry g = new Geometry(s[0], s[1] / 2, s[2], s[3], k, Math.max(1, FusedArgs.ceilDiv(s[3], TILE)),
                    Math.max(1, FusedArgs.ceilDiv(s[2], TILE)));
            gridLimit(op + " hidden channels", g.hd);
            gridLimit(op + " batch", g.n);
            return g;
        }

        boolean empty() {
            return n == 0 || hd == 0 || h == 0 || w == 0;
        }

        Dim3 grid() {
            return Dim3.of(tilesX * tilesY, hd, n);
        }
    }
}
