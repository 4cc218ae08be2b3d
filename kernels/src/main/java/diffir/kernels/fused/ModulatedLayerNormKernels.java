package diffir.kernels.fused;

import diffir.engine.Tensor;
import diffir.kernels.Dim3;
import diffir.kernels.KernelLauncher;

import static diffir.kernels.fused.FusedArgs.gridLimit;
import static diffir.kernels.fused.FusedArgs.nchw;
import static diffir.kernels.fused.FusedArgs.required;
import static diffir.kernels.fused.FusedArgs.shape;

/**
 * Channel LayerNorm of NCHW with the optional DiffIR modulation, on the GPU ({@code fused_layernorm.cu}).
 * Semantics are those of {@code Backend.layerNorm} and {@code Backend.layerNormBackward}.
 *
 * <p>Forward: one kernel; threads own pixels and loop over channels. Up to {@link #FWD_REGS_MAX}
 * channels a thread keeps its pixel's values in registers (one DRAM read of x); beyond that it
 * streams 4 consecutive pixels (1 when H*W or an offset is not a multiple of 4) and reads x twice.
 * Backward: one kernel (registers up to {@link #BWD_REGS_MAX} channels) writes gx and partial sums
 * of g and g*xhat per (image, channel), one per block (per warp when streaming); then one block per
 * channel reduces them, image by image, into gmod, gw and gb.
 */
public final class ModulatedLayerNormKernels {
    private ModulatedLayerNormKernels() {}

    static final int THREADS = 128;
    static final int WARPS = THREADS / 32;
    /** Channel capacities of the register-path kernels (fused_ln_fwd_cN, fused_ln_bwd_cN). */
    private static final int[] FWD_REGS = {16, 32, 48, 64, 96, 128};
    private static final int[] BWD_REGS = {16, 32, 48, 64, 96};
    static final int FWD_REGS_MAX = 128, BWD_REGS_MAX = 96;

    /** The smallest capacity that holds c channels, or -1 when c needs the streaming kernels. */
    static int registerCapacity(int c, int[] capacities) {
        for (int cap : capacities) if (c <= cap) return cap;
        return -1;
    }

    public static void forward(KernelLauncher L, Tensor x, Tensor weight, Tensor bias, Tensor mod, float eps,
                               Tensor out, Tensor mean, Tensor rstd) {
        int[] s = nchw("layerNorm x", x);
        int n = s[0], c = s[1], hw = s[2] * s[3];
        checkParams(weight, bias, mod, n, c);
        if (!(eps >= 0) || Float.isInfinite(eps)) throw new IllegalArgumentException("layerNorm eps must be finite and >= 0, got " + eps);
        required("layerNorm out", out, s);
        required("layerNorm mean", mean, n, s[2], s[3]);
        required("layerNorm rstd", rstd, n, s[2], s[3]);
        if (n == 0 || c == 0 || hw == 0) return;  // nothing to write
        gridLimit("layerNorm batch", n);
        int cap = registerCapacity(c, FWD_REGS);
        int v = cap < 0 && FusedArgs.vectorizable(hw, x, out, mean, rstd) ? 4 : 1;
        String kernel = cap > 0 ? "fused_ln_fwd_c" + cap : v == 4 ? "fused_ln_fwd_v4" : "fused_ln_fwd_v1";
        L.launch(kernel, Dim3.of(Dim3.blocks(hw, THREADS * v), n), Dim3.of(THREADS), 0,
                x, weight, bias, mod, eps, out, mean, rstd, c, hw);
    }

    /**
     * Backward given the forward's inputs (bias null for BiasFree: its values enter gmod's k1 half,
     * which sums gy times the biased normalised output) and saved mean and rstd. gx, gw, gb, gmod
     * are each nullable; gb needs bias, gmod needs mod.
     */
    public static void backward(KernelLauncher L, Tensor x, Tensor weight, Tensor bias, Tensor mod, Tensor mean, Tensor rstd,
                                Tensor gy, Tensor gx, Tensor gw, Tensor gb, Tensor gmod) {
        int[] s = nchw("layerNormBackward x", x);
        int n = s[0], c = s[1], hw = s[2] * s[3];
        checkParams(weight, bias, mod, n, c);
        required("layerNormBackward mean", mean, n, s[2], s[3]);
        required("layerNormBackward rstd", rstd, n, s[2], s[3]);
        required("layerNormBackward gy", gy, s);
        shape("layerNormBackward gx", gx, s);
        shape("layerNormBackward gw", gw, c);
        shape("layerNormBackward gb", gb, c);
        shape("layerNormBackward gmod", gmod, n, 2 * c);
        if (gb != null && bias == null) throw new IllegalArgumentException("layerNormBackward: gb requested for a BiasFree LayerNorm (bias is null)");
        if (gmod != null && mod == null) throw new IllegalArgumentException("layerNormBackward: gmod requested without a modulation (mod is null)");
        boolean reduce = gw != null || gb != null || gmod != null;
        if (c == 0 || (!reduce && gx == null)) return;
        gridLimit("layerNormBackward batch", n);

        int cap = registerCapacity(c, BWD_REGS);
        int v = cap < 0 && FusedArgs.vectorizable(hw, x, mean, rstd, gy, gx) ? 4 : 1;
        String kernel = cap > 0 ? "fused_ln_bwd_c" + cap : v == 4 ? "fused_ln_bwd_v4" : "fused_ln_bwd_v1";
        int tiles = Dim3.blocks(hw, THREADS * v);  // hw = 0 still runs one (idle) tile: partials become 0
        int q = cap > 0 ? tiles : tiles * WARPS;    // partials per (image, channel): per block or per warp
        Tensor part = reduce && n > 0 ? L.scratch(n, c, q, 2) : null;
        if (n > 0)
            L.launch(kernel, Dim3.of(tiles, n), Dim3.of(THREADS), 0,
                    x, weight, mod, mean, rstd, gy, bias != null ? 1 : 0, gx, part, c, hw);
        if (reduce)  // one block per channel: gmod per image, and gw, gb summed over the images (zeros when none)
            L.launch("fused_ln_bwd_reduce", Dim3.of(c), Dim3.of(THREADS), 0, part, weight, bias, mod, gw, gb, gmod, n, c, q);
    }

    private static void checkParams(Tensor weight, Tensor bias, Tensor mod, int n, int c) {
        required("layerNorm weight", weight, c);
        shape("layerNorm bias", bias, c);
        shape("layerNorm modulation", mod, n, 2 * c);
    }
}
