package diffir.kernels.fused;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.kernels.Dim3;
import diffir.kernels.KernelLauncher;

import static diffir.kernels.fused.FusedArgs.gridLimit;
import static diffir.kernels.fused.FusedArgs.nchw;
import static diffir.kernels.fused.FusedArgs.required;
import static diffir.kernels.fused.FusedArgs.shape;

/**
 * MDTA's transposed channel attention on the GPU ({@code fused_attention.cu}): semantics of
 * {@code Backend.channelAttention} and {@code Backend.channelAttentionBackward}.
 *
 * <p>Forward: Gram Q K^T and the squared row norms, split over pixel chunks (fused_attn_gram), summed
 * (fused_attn_reduce), then norms and softmax per (image, head) (fused_attn_softmax, which also saves
 * Q K^T when asked), then out = A V (fused_attn_apply). Backward: gy V^T (and Q K^T unless saved) in one
 * split Gram launch, their reduction, the c x c coefficients (fused_attn_bwd_coef), then gq and gk in
 * one pass over Q and K and gv = A^T gy.
 *
 * <p>Where the rows of a head fit one tile of 4r rows with r in {@link #FIXED_R} and the pixel rows
 * are 16-byte aligned, the kernels built for that r run ({@code _r12} for DIRformer's 48 channels per
 * head): their staging loops have known trip counts, so every load of a stage is in flight at once.
 * The Gram's pixel chunks are sized so that its grid fills the device in one wave.
 *
 * <p>With {@link FusedPaths#pipelined()} on, heads of 4r channels (r = 12, 8, 4) on aligned float4 rows
 * take the pipelined kernels instead ({@code fused_attn_gram_pipe_r*}, {@code _apply_softmax_r*} forward;
 * {@code _gram_gv_r*}, {@code _pair_r*} backward): cp.async stage rings, and the c x c steps folded into
 * the passes. Off by default until a GPU run has checked them.
 */
public final class ChannelAttentionKernels {
    private ChannelAttentionKernels() {}

    static final int SMALL_THREADS = 256;
    static final int PIXEL_TILE = 64;
    static final int STEP = 64;    // pixels per Gram stage (AT_BK); chunks are a multiple of it
    static final int MAX_TILE = 64;
    static final int PIPE_STAGE = 32;  // pixels per stage of the pipelined kernels (AP_BK)
    /** r values with pipelined kernels (a head of exactly 4r channels): forward and backward passes. */
    private static final java.util.Set<Integer> PIPE_R = java.util.Set.of(4, 8, 12);
    /** r values with kernels built for them: Gram, apply, apply pair. */
    private static final java.util.Set<Integer> FIXED_GRAM = java.util.Set.of(8, 12, 16), FIXED_APPLY = java.util.Set.of(4, 8, 12, 16),
            FIXED_PAIR = java.util.Set.of(4, 8, 12);

    /** gram (N, heads, c, c) nullable: when given, Q K^T (before normalisation) is saved there for the backward. */
    public static void forward(KernelLauncher L, Tensor qkv, Tensor temperature, int heads, Tensor out, Tensor attn, Tensor norms,
                               Tensor gram) {
        boolean vec = FusedArgs.vectorizable(pixels(qkv), qkv, out);
        Geometry g = Geometry.of("channelAttention", qkv, temperature, heads, L, 1, vec);
        required("channelAttention out", out, g.n, g.cAll, g.h, g.w);
        required("channelAttention attn", attn, g.n, heads, g.c, g.c);
        required("channelAttention norms", norms, g.n, 2 * g.cAll);
        shape("channelAttention gram", gram, g.n, heads, g.c, g.c);
        if (g.nh == 0 || g.c == 0) return;

        long qkvNS = 3L * g.cAll * g.hw, outNS = (long) g.cAll * g.hw;
        Tensor q = qkv, k = FusedArgs.tail(qkv, (long) g.cAll * g.hw), v = FusedArgs.tail(qkv, 2L * g.cAll * g.hw);
        int e = g.c * g.c + 2 * g.c;
        if (g.pipelined()) {
            Tensor red = gramPipelined(L, g, q, k, qkvNS);
            String apply = "fused_attn_apply_softmax_r" + g.r;
            L.launch(apply, Dim3.of(g.pipeBlocks(L, apply), g.nh), Dim3.of(16 * g.r), 0,
                    red, temperature, attn, norms, gram, v, qkvNS, out, outNS, heads, g.hw);
            return;
        }
        Tensor part = L.scratch(g.nh, g.chunks, e);
        Tensor red = L.scratch(g.nh, e);
        L.launch(g.gram, Dim3.of(g.tiles * g.tiles, g.chunks, g.nh), Dim3.of(g.r, g.r), 0,
                q, k, qkvNS, qkvNS, null, null, 0L, 0L, part, g.c, heads, g.nh, g.hw, g.tiles, g.chunkLen, 1);
        L.launch("fused_attn_reduce", Dim3.of(Dim3.blocks(e, 32), g.nh), Dim3.of(32, 8), 0, part, red, g.chunks, e);
        L.launch("fused_attn_softmax", Dim3.of(g.nh), Dim3.of(SMALL_THREADS), 0, red, temperature, attn, norms, gram, g.c, heads);
        if (g.hw > 0)
            L.launch(g.applyKernel(false, vec && attn.offset() % 4 == 0), g.applyGrid(), Dim3.of(16, g.r), 0,
                    attn, v, qkvNS, null, null, 0L, out, outNS,
                    null, null, 0L, null, null, 0L, null, 0L, g.c, heads, g.hw);
    }

    /**
     * gqkv and gtemp each nullable; gram nullable: Q K^T as the forward saved it, else it is recomputed
     * (one more pass over q and k, the largest part of the backward's traffic after the gradients').
     */
    public static void backward(KernelLauncher L, Tensor qkv, Tensor temperature, int heads, Tensor attn, Tensor norms, Tensor gram,
                                Tensor gy, Tensor gqkv, Tensor gtemp) {
        boolean vec = FusedArgs.vectorizable(pixels(qkv), qkv, gy, gqkv);
        int pairs = gram != null ? 1 : 2;
        Geometry g = Geometry.of("channelAttentionBackward", qkv, temperature, heads, L, pairs, vec);
        required("channelAttentionBackward attn", attn, g.n, heads, g.c, g.c);
        required("channelAttentionBackward norms", norms, g.n, 2 * g.cAll);
        required("channelAttentionBackward gy", gy, g.n, g.cAll, g.h, g.w);
        shape("channelAttentionBackward gqkv", gqkv, qkv.shape());
        shape("channelAttentionBackward gtemp", gtemp, temperature.shape());
        shape("channelAttentionBackward gram", gram, g.n, heads, g.c, g.c);
        if (gqkv == null && gtemp == null) return;
        if (g.nh == 0 || g.c == 0) {
            if (gtemp != null && heads > 0)  // no terms: the gradient is 0
                L.launch("fused_attn_gtemp", Dim3.of(1), Dim3.of(32), 0, null, gtemp, 0, heads);
            return;
        }

        long qkvNS = 3L * g.cAll * g.hw, outNS = (long) g.cAll * g.hw;
        Tensor q = qkv, k = FusedArgs.tail(qkv, (long) g.cAll * g.hw), v = FusedArgs.tail(qkv, 2L * g.cAll * g.hw);
        int cc = g.c * g.c;
        if (g.pipelined()) {
            backwardPipelined(L, g, temperature, attn, norms, gram, gy, gqkv, gtemp, q, k, v, qkvNS, outNS);
            return;
        }

        // gA = gy V^T, and Q K^T unless the forward saved it: one Gram launch, pairs (gy, V) and (Q, K).
        Tensor part = L.scratch(pairs, g.nh, g.chunks, cc);
        Tensor red = L.scratch(pairs, g.nh, cc);
        if (gram != null)
            L.launch(g.gram, Dim3.of(g.tiles * g.tiles, g.chunks, g.nh), Dim3.of(g.r, g.r), 0,
                    gy, v, outNS, qkvNS, null, null, 0L, 0L, part, g.c, heads, g.nh, g.hw, g.tiles, g.chunkLen, 0);
        else
            L.launch(g.gram, Dim3.of(g.tiles * g.tiles, g.chunks, 2 * g.nh), Dim3.of(g.r, g.r), 0,
                    gy, v, outNS, qkvNS, q, k, qkvNS, qkvNS, part, g.c, heads, g.nh, g.hw, g.tiles, g.chunkLen, 0);
        L.launch("fused_attn_reduce", Dim3.of(Dim3.blocks(cc, 32), pairs * g.nh), Dim3.of(32, 8), 0, part, red, g.chunks, cc);
        Tensor gA = FusedArgs.tail(red, 0), qk = gram != null ? gram : FusedArgs.tail(red, (long) g.nh * cc);

        Tensor bq = L.scratch(g.nh, g.c, g.c), bqT = L.scratch(g.nh, g.c, g.c), aT = L.scratch(g.nh, g.c, g.c);
        Tensor gs = L.scratch(g.nh, g.c, g.c);
        Tensor dq = L.scratch(g.nh, g.c), dk = L.scratch(g.nh, g.c), gtPart = L.scratch(g.nh);
        L.launch("fused_attn_bwd_coef", Dim3.of(g.nh), Dim3.of(SMALL_THREADS), 0,
                qk, cc, gA, attn, norms, temperature, bq, bqT, aT, dq, dk, gs, gtPart, g.c, heads);
        if (gtemp != null)
            L.launch("fused_attn_gtemp", Dim3.of(1), Dim3.of(32), 0, gtPart, gtemp, g.n, heads);
        if (gqkv == null || g.hw == 0) return;

        Tensor gq = gqkv, gk = FusedArgs.tail(gqkv, (long) g.cAll * g.hw), gv = FusedArgs.tail(gqkv, 2L * g.cAll * g.hw);
        // gq = Bq K + diag(dq) Q and gk = Bq^T Q + diag(dk) K in one pass over Q and K.
        L.launch(g.applyKernel(true, vec), g.applyGrid(), Dim3.of(16, g.r), 0,
                bq, k, qkvNS, dq, q, qkvNS, gq, qkvNS,
                bqT, q, qkvNS, dk, k, qkvNS, gk, qkvNS, g.c, heads, g.hw);
        // gv = A^T gy.
        L.launch(g.applyKernel(false, vec), g.applyGrid(), Dim3.of(16, g.r), 0,
                aT, gy, outNS, null, null, 0L, gv, qkvNS,
                null, null, 0L, null, null, 0L, null, 0L, g.c, heads, g.hw);
    }

    /** The pipelined forward's first pass: Q K^T and the squared row norms, reduced to (nh, c*c + 2c). */
    private static Tensor gramPipelined(KernelLauncher L, Geometry g, Tensor q, Tensor k, long qkvNS) {
        int e = g.c * g.c + 2 * g.c;
        String gram = "fused_attn_gram_pipe_r" + g.r;
        int blocks = g.pipeBlocks(L, gram);
        Tensor part = L.scratch(g.nh, blocks, e), red = L.scratch(g.nh, e);
        L.launch(gram, Dim3.of(blocks, g.nh), Dim3.of(16 * g.r), 0, q, k, qkvNS, part, g.heads, g.hw);
        L.launch("fused_attn_reduce", Dim3.of(Dim3.blocks(e, 32), g.nh), Dim3.of(32, 8), 0, part, red, blocks, e);
        return red;
    }

    /**
     * The pipelined backward: gA = gy V^T with gv = A^T gy in one pass over gy and v, its reduction, then
     * gq and gk in one pass over q and k by blocks that first compute the c x c coefficients themselves.
     */
    private static void backwardPipelined(KernelLauncher L, Geometry g, Tensor temperature, Tensor attn, Tensor norms, Tensor gram,
                                          Tensor gy, Tensor gqkv, Tensor gtemp, Tensor q, Tensor k, Tensor v, long qkvNS, long outNS) {
        int cc = g.c * g.c;
        Tensor qk = gram != null ? gram : gramPipelined(L, g, q, k, qkvNS);
        int qkStride = gram != null ? cc : cc + 2 * g.c;

        String pass1 = "fused_attn_gram_gv_r" + g.r;
        int blocks = g.pipeBlocks(L, pass1);
        Tensor part = L.scratch(g.nh, blocks, cc), gA = L.scratch(g.nh, cc);
        Tensor gv = gqkv != null ? FusedArgs.tail(gqkv, 2L * g.cAll * g.hw) : null;
        L.launch(pass1, Dim3.of(blocks, g.nh), Dim3.of(16 * g.r), 0, gy, outNS, v, qkvNS, attn, gv, qkvNS, part, g.heads, g.hw);
        L.launch("fused_attn_reduce", Dim3.of(Dim3.blocks(cc, 32), g.nh), Dim3.of(32, 8), 0, part, gA, blocks, cc);

        Tensor gtPart = L.scratch(g.nh);
        if (gqkv != null) {
            String pass2 = "fused_attn_pair_r" + g.r;
            Tensor gq = gqkv, gk = FusedArgs.tail(gqkv, (long) g.cAll * g.hw);
            L.launch(pass2, Dim3.of(g.pipeBlocks(L, pass2), g.nh), Dim3.of(16 * g.r), 0,
                    gA, qk, qkStride, attn, norms, temperature, q, k, qkvNS, gq, gk, qkvNS, gtPart, g.heads, g.hw);
        } else {  // only the temperature's gradient: the coefficients kernel gives gtPart
            Tensor bq = L.scratch(g.nh, g.c, g.c), bqT = L.scratch(g.nh, g.c, g.c), aT = L.scratch(g.nh, g.c, g.c);
            Tensor gs = L.scratch(g.nh, g.c, g.c), dq = L.scratch(g.nh, g.c), dk = L.scratch(g.nh, g.c);
            L.launch("fused_attn_bwd_coef", Dim3.of(g.nh), Dim3.of(SMALL_THREADS), 0,
                    qk, qkStride, gA, attn, norms, temperature, bq, bqT, aT, dq, dk, gs, gtPart, g.c, g.heads);
        }
        if (gtemp != null)
            L.launch("fused_attn_gtemp", Dim3.of(1), Dim3.of(32), 0, gtPart, gtemp, g.n, g.heads);
    }

    /** H*W of an NCHW tensor (1 for anything else: the geometry checks report it). */
    private static int pixels(Tensor t) {
        return t != null && t.rank() == 4 ? t.dim(2) * t.dim(3) : 1;
    }

    /**
     * Shapes and launch geometry. Rows of a c x c product are covered by {@code tiles} tiles of
     * 4r rows (r threads per block side, r <= 16), chosen for the least padding; the pixel axis of
     * the Gram (kernel {@code gram}) is cut into {@code chunks} chunks of {@code chunkLen} pixels so
     * that its grid fills every multiprocessor's resident blocks once.
     */
    record Geometry(int n, int cAll, int h, int w, int hw, int heads, int c, int nh, int tiles, int r, int chunkLen, int chunks,
                    String gram, boolean vec) {
        /** Geometry for {@code pairs} products per Gram launch, on the device of L; vec when pixel rows take float4. */
        static Geometry of(String op, Tensor qkv, Tensor temperature, int heads, KernelLauncher L, int pairs, boolean vec) {
            Geometry g = of(op, qkv, temperature, heads, 0, pairs, vec);
            int slots = g.nh == 0 ? 0 : L.residentBlocks(g.gram, g.r * g.r) * L.multiprocessors();
            int chunkLen = chunkLength(g.hw, g.tiles * g.tiles * g.nh * pairs, slots);
            return new Geometry(g.n, g.cAll, g.h, g.w, g.hw, heads, g.c, g.nh, g.tiles, g.r, chunkLen,
                    Math.max(1, FusedArgs.ceilDiv(g.hw, chunkLen)), g.gram, vec);
        }

        /** Geometry with the Gram's grid sized for {@code slots} resident blocks in all (0: one chunk). */
        static Geometry of(String op, Tensor qkv, Tensor temperature, int heads, int slots, int pairs, boolean vec) {
            int[] s = nchw(op + " qkv", qkv);
            if (heads < 1) throw new IllegalArgumentException(op + ": heads must be >= 1, got " + heads);
            if (s[1] % 3 != 0 || (s[1] / 3) % heads != 0)
                throw new IllegalArgumentException(op + " needs qkv (N, 3C, H, W) with C divisible by " + heads + " heads, got " + Shapes.str(s));
            if (temperature == null || temperature.numel() != heads)
                throw new IllegalArgumentException(op + ": temperature " + (temperature == null ? "null" : Shapes.str(temperature.shape()))
                        + " does not hold one value per head (" + heads + ")");
            int n = s[0], cAll = s[1] / 3, hw = s[2] * s[3], c = cAll / heads, nh = n * heads;
            int tiles = Math.max(1, FusedArgs.ceilDiv(c, MAX_TILE));
            int r = Math.max(1, FusedArgs.ceilDiv(FusedArgs.ceilDiv(c, tiles), 4));
            String gram = vec && tiles == 1 && FIXED_GRAM.contains(r) ? "fused_attn_gram_r" + r : vec ? "fused_attn_gram_v4" : "fused_attn_gram_v1";
            int chunkLen = chunkLength(hw, tiles * tiles * nh * pairs, slots);
            gridLimit(op + " batch x heads", (long) nh * pairs);
            return new Geometry(n, cAll, s[2], s[3], hw, heads, c, nh, tiles, r, chunkLen, Math.max(1, FusedArgs.ceilDiv(hw, chunkLen)),
                    gram, vec);
        }

        /**
         * Pixels per Gram chunk (a multiple of {@link #STEP}): as many chunks as fit the device's
         * {@code slots} resident blocks in one wave, given {@code blocksPerChunk} blocks for each chunk
         * (a grid one wave plus a little would take two waves' time). slots = 0 asks for a single chunk.
         */
        static int chunkLength(int hw, int blocksPerChunk, int slots) {
            int want = Math.max(1, Math.max(0, slots) / Math.max(1, blocksPerChunk));
            int chunks = Math.max(1, Math.min(want, FusedArgs.ceilDiv(hw, STEP)));
            return Math.max(STEP, FusedArgs.ceilDiv(FusedArgs.ceilDiv(hw, chunks), STEP) * STEP);
        }

        /**
         * The apply kernel: built for r when the head's rows fit one tile, c is a multiple of 4 and
         * every operand (vecOperands) is 16-byte aligned; else the general one.
         */
        String applyKernel(boolean pair, boolean vecOperands) {
            boolean fixed = vecOperands && tiles == 1 && c % 4 == 0 && (pair ? FIXED_PAIR : FIXED_APPLY).contains(r);
            String base = pair ? "fused_attn_apply_pair_" : "fused_attn_apply_";
            return base + (fixed ? "r" + r : vecOperands ? "v4" : "v1");
        }

        /**
         * True when the pipelined kernels serve this call: they are switched on ({@link FusedPaths#pipelined()})
         * and apply to its shape ({@link #pipelinable()}). Off, every call takes the general kernels.
         */
        boolean pipelined() {
            return FusedPaths.pipelined() && pipelinable();
        }

        /**
         * True when the pipelined kernels have a build for this shape: one head of exactly c = 4r rows
         * with r in {@link #PIPE_R}, 16-byte aligned pixel rows, and pixels to walk.
         */
        boolean pipelinable() {
            return vec && tiles == 1 && c == 4 * r && PIPE_R.contains(r) && hw > 0;
        }

        /**
         * Blocks per (image, head) of a pipelined kernel: as many as the device holds at once across all
         * (image, head) pairs (one wave), at most one per stage of {@link #PIPE_STAGE} pixels.
         */
        int pipeBlocks(KernelLauncher L, String kernel) {
            int stages = FusedArgs.ceilDiv(hw, PIPE_STAGE);
            long slots = (long) L.residentBlocks(kernel, 16 * r) * L.multiprocessors();
            return (int) Math.max(1, Math.min(stages, slots / nh));
        }

        Dim3 applyGrid() {
            return Dim3.of(Dim3.blocks(hw, PIXEL_TILE), tiles, nh);
        }
    }
}
