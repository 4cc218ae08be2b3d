package diffir.engine.cpu;

import diffir.engine.Shapes;
import diffir.engine.Tensor;

import static diffir.engine.cpu.CpuBackend.data;

/**
 * The fused DiffIR kernels: gated depthwise conv (GDFN) and transposed channel attention (MDTA).
 *
 * <p>The gated conv works per (image, gate channel): it convolves the matching rows of both halves
 * and gates them straight into the output, so the 2Hd-channel intermediate never exists; its backward
 * recomputes it one plane at a time; planes up to {@link FlatPlanes#GATED_MAX_WIDTH} wide go through flat
 * padded planes. The attention's products over the pixels are batched {@link Sgemm} calls (the Grams
 * q k^T and, backward, G v^T, then the row combinations A v and their gradients), which block and
 * parallelise them (splitting the long K of a Gram over the cores when there are few heads); between
 * them a tiny per-head step (norms, softmax, the c x c gradients) in double.
 */
final class CpuFused {
    private CpuFused() {}

    /** Floats of work below which a task is not worth handing to another core. */
    private static final int GRAIN = 16384;
    /** F.normalize's eps in MDTA. */
    static final float NORM_EPS = 1e-12f;

    // ---------------------------------------------------------------- gated depthwise conv

    static void gatedDwConv(Tensor x, Tensor w, Tensor bias, Tensor out) {
        DwGeometry g = DwGeometry.of("gatedDwConv", x, w, bias);
        KernelArgs.shape(g.kernel, "out", out, g.n, g.hd, g.h, g.w);
        if (out.numel() == 0) return;
        float[] xa = data(x), wa = data(w), ba = bias == null ? null : data(bias), oa = data(out);
        int xo = (int) x.offset(), wo = (int) w.offset(), bo = bias == null ? 0 : (int) bias.offset(), oo = (int) out.offset();
        int hd = g.hd, p = g.p, kk = g.k * g.k;
        if (g.w <= FlatPlanes.GATED_MAX_WIDTH) {
            gatedFlat(g, xa, xo, wa, wo, ba, bo, oa, oo);
            return;
        }
        Parallel.range(g.n * hd, Math.max(1, GRAIN / (2 * p * kk)), (from, to) -> {
            float[] z1 = new float[g.w], z2 = new float[g.w];
            for (int u = from; u < to; u++) {
                int n = u / hd, ch = u % hd;
                int x1 = xo + (n * 2 * hd + ch) * p, x2 = x1 + hd * p;
                float b1 = ba == null ? 0f : ba[bo + ch], b2 = ba == null ? 0f : ba[bo + hd + ch];
                int ob = oo + (n * hd + ch) * p;
                for (int y = 0; y < g.h; y++) {
                    DepthwiseRows.convRow(xa, x1, g.h, g.w, wa, wo + ch * kk, g.k, b1, y, z1, 0);
                    DepthwiseRows.convRow(xa, x2, g.h, g.w, wa, wo + (hd + ch) * kk, g.k, b2, y, z2, 0);
                    GeluLanes.gate(z1, 0, z2, 0, oa, ob + y * g.w, g.w);
                }
            }
        });
    }

    /** {@link #gatedDwConv} of small planes through {@link FlatPlanes}: both halves convolved flat, gated, compacted. */
    private static void gatedFlat(DwGeometry g, float[] xa, int xo, float[] wa, int wo, float[] ba, int bo, float[] oa, int oo) {
        int hd = g.hd, p = g.p, k = g.k, kk = k * k;
        int padLen = FlatPlanes.paddedLength(g.h, g.w, k), flatLen = FlatPlanes.flatLength(g.h, g.w, k);
        Parallel.range(g.n * hd, Math.max(1, GRAIN / (2 * p * kk)), (from, to) -> {
            float[] pad = FlatPlanes.scratch(0, padLen), z1 = FlatPlanes.scratch(1, flatLen), z2 = FlatPlanes.scratch(2, flatLen);
            for (int u = from; u < to; u++) {
                int n = u / hd, ch = u % hd;
                int x1 = xo + (n * 2 * hd + ch) * p, x2 = x1 + hd * p;
                FlatPlanes.pad(xa, x1, g.h, g.w, k, pad);
                FlatPlanes.correlate(pad, g.h, g.w, k, wa, wo + ch * kk, ba == null ? 0f : ba[bo + ch], z1);
                FlatPlanes.pad(xa, x2, g.h, g.w, k, pad);
                FlatPlanes.correlate(pad, g.h, g.w, k, wa, wo + (hd + ch) * kk, ba == null ? 0f : ba[bo + hd + ch], z2);
                GeluLanes.gate(z1, 0, z2, 0, z1, 0, flatLen);
                FlatPlanes.fromFlat(z1, g.h, g.w, k, oa, oo + (n * hd + ch) * p);
            }
        });
    }

    /**
     * Per gate channel pair (c, c+Hd), over all images: recompute z1, z2 planes, turn them in place into
     * gz1 = gy*z2*gelu'(z1) and gz2 = gy*gelu(z1), then gb = sum gz, gw = correlation of gz with x, and
     * gx = gz convolved with the flipped kernel. Splitting by channel lets each task own its gw and gb.
     */
    static void gatedDwConvBackward(Tensor x, Tensor w, Tensor bias, Tensor gy, Tensor gx, Tensor gw, Tensor gb) {
        DwGeometry g = DwGeometry.of("gatedDwConv backward", x, w, bias);
        String k = g.kernel;
        KernelArgs.shape(k, "gy", gy, g.n, g.hd, g.h, g.w);
        KernelArgs.optionalShape(k, "gx", gx, x.shape());
        KernelArgs.optionalShape(k, "gw", gw, w.shape());
        KernelArgs.optionalShape(k, "gb", gb, 2 * g.hd);
        if (gx == null && gw == null && gb == null) return;
        float[] xa = data(x), wa = data(w), ba = bias == null ? null : data(bias), ga = data(gy);
        float[] gxa = gx == null ? null : data(gx), gwa = gw == null ? null : data(gw), gba = gb == null ? null : data(gb);
        int xo = (int) x.offset(), wo = (int) w.offset(), bo = bias == null ? 0 : (int) bias.offset(), go = (int) gy.offset();
        int gxo = gx == null ? 0 : (int) gx.offset(), gwo = gw == null ? 0 : (int) gw.offset(), gbo = gb == null ? 0 : (int) gb.offset();
        int hd = g.hd, p = g.p, kk = g.k * g.k;
        if (g.w <= FlatPlanes.GATED_MAX_WIDTH) {
            gatedFlatBackward(g, xa, xo, wa, wo, ba, bo, ga, go, gxa, gxo, gwa, gwo, gba, gbo);
            return;
        }
        Parallel.range(hd, Math.max(1, GRAIN / Math.max(1, 4 * g.n * p * kk)), (from, to) -> {
            float[] z1 = new float[p], z2 = new float[p], flipped = new float[kk];
            double[] acc1 = new double[kk + 1], acc2 = new double[kk + 1]; // kk weight sums, then the bias sum
            for (int ch = from; ch < to; ch++) {
                java.util.Arrays.fill(acc1, 0);
                java.util.Arrays.fill(acc2, 0);
                int w1 = wo + ch * kk, w2 = wo + (hd + ch) * kk;
                float b1 = ba == null ? 0f : ba[bo + ch], b2 = ba == null ? 0f : ba[bo + hd + ch];
                for (int n = 0; n < g.n; n++) {
                    int x1 = xo + (n * 2 * hd + ch) * p, x2 = x1 + hd * p;
                    for (int y = 0; y < g.h; y++) {
                        DepthwiseRows.convRow(xa, x1, g.h, g.w, wa, w1, g.k, b1, y, z1, y * g.w);
                        DepthwiseRows.convRow(xa, x2, g.h, g.w, wa, w2, g.k, b2, y, z2, y * g.w);
                    }
                    GeluLanes.gateBackward(z1, 0, z2, 0, ga, go + (n * hd + ch) * p, p);
                    if (gba != null) {
                        acc1[kk] += RowKernels.sum(z1, 0, p);
                        acc2[kk] += RowKernels.sum(z2, 0, p);
                    }
                    if (gwa != null) {
                        DepthwiseRows.weightGrad(z1, xa, x1, g.h, g.w, g.k, acc1);
                        DepthwiseRows.weightGrad(z2, xa, x2, g.h, g.w, g.k, acc2);
                    }
                    if (gxa != null) {
                        int gx1 = gxo + (n * 2 * hd + ch) * p, gx2 = gx1 + hd * p;
                        DepthwiseRows.flip(wa, w1, kk, flipped);
                        for (int y = 0; y < g.h; y++) DepthwiseRows.convRow(z1, 0, g.h, g.w, flipped, 0, g.k, 0f, y, gxa, gx1 + y * g.w);
                        DepthwiseRows.flip(wa, w2, kk, flipped);
                        for (int y = 0; y < g.h; y++) DepthwiseRows.convRow(z2, 0, g.h, g.w, flipped, 0, g.k, 0f, y, gxa, gx2 + y * g.w);
                    }
                }
                storeChannelGrads(acc1, acc2, ch, hd, kk, gwa, gwo, gba, gbo);
            }
        });
    }

    /** Channel ch's and hd + ch's weight sums (acc[0, kk)) and bias sums (acc[kk]) into gw and gb (each nullable). */
    private static void storeChannelGrads(double[] acc1, double[] acc2, int ch, int hd, int kk, float[] gwa, int gwo, float[] gba, int gbo) {
        for (int t = 0; t < kk && gwa != null; t++) {
            gwa[gwo + ch * kk + t] = (float) acc1[t];
            gwa[gwo + (hd + ch) * kk + t] = (float) acc2[t];
        }
        if (gba != null) {
            gba[gbo + ch] = (float) acc1[kk];
            gba[gbo + hd + ch] = (float) acc2[kk];
        }
    }

    /**
     * {@link #gatedDwConvBackward} of small planes through {@link FlatPlanes}. gy is copied flat with zero
     * junk columns, so the gradients gz1, gz2 computed in place over the whole flat planes are zero there
     * too: their sums are the bias gradients, and shifted they are the padded planes the input gradient
     * correlates.
     */
    private static void gatedFlatBackward(DwGeometry g, float[] xa, int xo, float[] wa, int wo, float[] ba, int bo, float[] ga, int go,
                                          float[] gxa, int gxo, float[] gwa, int gwo, float[] gba, int gbo) {
        int hd = g.hd, p = g.p, k = g.k, kk = k * k, h = g.h, w = g.w;
        int padLen = FlatPlanes.paddedLength(h, w, k), flatLen = FlatPlanes.flatLength(h, w, k);
        Parallel.range(hd, Math.max(1, GRAIN / Math.max(1, 4 * g.n * p * kk)), (from, to) -> {
            float[] pad1 = FlatPlanes.scratch(0, padLen), pad2 = FlatPlanes.scratch(1, padLen);
            float[] z1 = FlatPlanes.scratch(2, flatLen), z2 = FlatPlanes.scratch(3, flatLen), gyFlat = FlatPlanes.scratch(4, flatLen);
            float[] flipped = FlatPlanes.scratch(5, kk);
            double[] acc1 = new double[kk + 1], acc2 = new double[kk + 1]; // kk weight sums, then the bias sum
            for (int ch = from; ch < to; ch++) {
                java.util.Arrays.fill(acc1, 0);
                java.util.Arrays.fill(acc2, 0);
                int w1 = wo + ch * kk, w2 = wo + (hd + ch) * kk;
                float b1 = ba == null ? 0f : ba[bo + ch], b2 = ba == null ? 0f : ba[bo + hd + ch];
                for (int n = 0; n < g.n; n++) {
                    int x1 = xo + (n * 2 * hd + ch) * p, x2 = x1 + hd * p;
                    FlatPlanes.pad(xa, x1, h, w, k, pad1);
                    FlatPlanes.correlate(pad1, h, w, k, wa, w1, b1, z1);
                    FlatPlanes.pad(xa, x2, h, w, k, pad2);
                    FlatPlanes.correlate(pad2, h, w, k, wa, w2, b2, z2);
                    FlatPlanes.toFlat(ga, go + (n * hd + ch) * p, h, w, k, gyFlat);
                    GeluLanes.gateBackward(z1, 0, z2, 0, gyFlat, 0, flatLen);
                    if (gba != null) {
                        acc1[kk] += RowKernels.sum(z1, 0, flatLen);
                        acc2[kk] += RowKernels.sum(z2, 0, flatLen);
                    }
                    if (gwa != null) {
                        FlatPlanes.weightGrad(z1, pad1, h, w, k, acc1);
                        FlatPlanes.weightGrad(z2, pad2, h, w, k, acc2);
                    }
                    if (gxa != null) {
                        int gx1 = gxo + (n * 2 * hd + ch) * p, gx2 = gx1 + hd * p;
                        // pad1/pad2 are free again: they now hold the padded gradients.
                        FlatPlanes.padFlat(z1, h, w, k, pad1);
                        DepthwiseRows.flip(wa, w1, kk, flipped);
                        FlatPlanes.correlate(pad1, h, w, k, flipped, 0, 0f, gyFlat);
                        FlatPlanes.fromFlat(gyFlat, h, w, k, gxa, gx1);
                        FlatPlanes.padFlat(z2, h, w, k, pad2);
                        DepthwiseRows.flip(wa, w2, kk, flipped);
                        FlatPlanes.correlate(pad2, h, w, k, flipped, 0, 0f, gyFlat);
                        FlatPlanes.fromFlat(gyFlat, h, w, k, gxa, gx2);
                    }
                }
                storeChannelGrads(acc1, acc2, ch, hd, kk, gwa, gwo, gba, gbo);
            }
        });
    }

    /** Sizes of a gated depthwise conv call, validated once. */
    private record DwGeometry(String kernel, int n, int hd, int h, int w, int p, int k) {
        static DwGeometry of(String kernel, Tensor x, Tensor w, Tensor bias) {
            int[] xs = KernelArgs.rank(kernel, "x (N, 2Hd, H, W)", x, 4);
            KernelArgs.require(xs[1] % 2 == 0, kernel, "x needs an even channel count (N, 2Hd, H, W), got " + Shapes.str(xs));
            int[] ws = KernelArgs.rank(kernel, "w (2Hd, 1, K, K)", w, 4);
            KernelArgs.require(ws[0] == xs[1] && ws[1] == 1 && ws[2] == ws[3] && ws[2] % 2 == 1, kernel,
                    "w must be (" + xs[1] + ", 1, K, K) with odd K, got " + Shapes.str(ws));
            KernelArgs.optionalShape(kernel, "bias", bias, xs[1]);
            return new DwGeometry(kernel, xs[0], xs[1] / 2, xs[2], xs[3], xs[2] * xs[3], ws[2]);
        }
    }

    // ---------------------------------------------------------------- transposed channel attention

    static void channelAttention(Tensor qkv, Tensor temperature, int heads, Tensor out, Tensor attn, Tensor norms) {
        channelAttention(qkv, temperature, heads, out, attn, norms, null);
    }

    /** The attention; gramOut (N, heads, c, c), nullable, receives q k^T before normalisation for the backward. */
    static void channelAttention(Tensor qkv, Tensor temperature, int heads, Tensor out, Tensor attn, Tensor norms, Tensor gramOut) {
        AttnGeometry g = AttnGeometry.of("channelAttention", qkv, temperature, heads);
        KernelArgs.shape(g.kernel, "out", out, g.n, g.cAll, g.h, g.w);
        KernelArgs.shape(g.kernel, "attn", attn, g.n, heads, g.c, g.c);
        KernelArgs.shape(g.kernel, "norms", norms, g.n, 2 * g.cAll);
        KernelArgs.optionalShape(g.kernel, "gram", gramOut, g.n, heads, g.c, g.c);
        if (g.n == 0 || g.c == 0) return;
        float[] qa = data(qkv), ta = data(temperature), oa = data(out), aa = data(attn), na = data(norms);
        int to = (int) temperature.offset(), oo = (int) out.offset(), ao = (int) attn.offset(), no = (int) norms.offset();
        int c = g.c, cc = c * c, p = g.p, batch = g.n * heads;
        // 1. Squared norms of the q and k rows, in double, spread over the rows.
        double[] sq = squaredRowNorms(g, qa);
        // 2. q k^T of every (image, head) over all pixels: one batched GEMM.
        float[] gram = gramOut == null ? new float[batch * cc] : data(gramOut);
        int gramBase = gramOut == null ? 0 : (int) gramOut.offset();
        Sgemm.gemm(batch, c, c, p, g.rows(qa, 0, 1, p), g.rows(qa, g.cAll, 1, p), 1f, 0f, gram, BatchOffsets.of(gramBase, cc), c);
        // 3. Per head: clamped norms, S = q k^T / (|q| |k|), A = softmax(S * temperature).
        Parallel.range(batch, Math.max(1, 4096 / cc), (from, until) -> {
            double[] row = new double[c];
            for (int nh = from; nh < until; nh++) {
                int n = nh / heads, h = nh % heads;
                int nq = no + n * 2 * g.cAll + h * c, nk = nq + g.cAll, sq0 = n * 2 * g.cAll + h * c;
                for (int i = 0; i < c; i++) {
                    na[nq + i] = (float) Math.max(Math.sqrt(sq[sq0 + i]), NORM_EPS);
                    na[nk + i] = (float) Math.max(Math.sqrt(sq[sq0 + g.cAll + i]), NORM_EPS);
                }
                double t = ta[to + h];
                int ab = ao + nh * cc, gb = gramBase + nh * cc;
                for (int i = 0; i < c; i++) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j < c; j++) {
                        row[j] = gram[gb + i * c + j] / ((double) na[nq + i] * na[nk + j]) * t;
                        max = Math.max(max, row[j]);
                    }
                    double z = 0;
                    for (int j = 0; j < c; j++) z += row[j] = Math.exp(row[j] - max);
                    for (int j = 0; j < c; j++) aa[ab + i * c + j] = (float) (row[j] / z);
                }
            }
        });
        // 4. out = A v: one batched GEMM (A is c x c, v is c x pixels).
        Sgemm.gemm(batch, c, p, c, new DenseOperand(aa, BatchOffsets.of(ao, cc), 1, c), g.rows(qa, 2 * g.cAll, p, 1), 1f, 0f,
                oa, new BatchOffsets(oo, heads, (long) c * p, (long) g.cAll * p), p);
    }

    /**
     * |row|^2 of every q and k row: out[n*2C + r] for r < C the q rows of image n, r >= C its k rows (the
     * layout of the norms output).
     */
    private static double[] squaredRowNorms(AttnGeometry g, float[] qa) {
        int rows = g.n * 2 * g.cAll, p = g.p;
        double[] sq = new double[rows];
        Parallel.range(rows, Math.max(1, 16384 / Math.max(1, p)), (from, to) -> {
            for (int r = from; r < to; r++) {
                int base = g.qkvOffset + ((r / (2 * g.cAll)) * 3 * g.cAll + r % (2 * g.cAll)) * p;
                sq[r] = RowKernels.dot(qa, base, qa, base, p);
            }
        });
        return sq;
    }

    /**
     * Backward of the attention, with qn = q/|q|, kn = k/|k| (clamped norms), S = qn kn^T,
     * A = softmax(S t), out = A v and G the upstream gradient:
     * gA = G v^T; gv = A^T G; gL = A (gA - rowsum(gA A)); gt = sum gL S; gS = gL t;
     * gq_i = sum_j gS_ij/(|q_i||k_j|) k_j - (sum_j gS_ij S_ij)/|q_i|^2 q_i (second term only for unclamped
     * norms: it is the normalisation's own gradient, using <gqn_i, q_i> = |q_i| sum_j gS_ij S_ij), and the
     * same for k with gS transposed. The products over pixels are batched GEMMs: the Grams G v^T and
     * (unless the forward saved it) q k^T, then gq = [Cq | diag] [k; q], gk = [Ck | diag] [q; k] and
     * gv = A^T G, the right operands read as two row segments of qkv.
     */
    static void channelAttentionBackward(Tensor qkv, Tensor temperature, int heads, Tensor attn, Tensor norms,
                                         Tensor gy, Tensor gqkv, Tensor gtemp) {
        channelAttentionBackward(qkv, temperature, heads, attn, norms, null, gy, gqkv, gtemp);
    }

    /** The backward given q k^T saved by the forward (gramIn nullable: recomputed). */
    static void channelAttentionBackward(Tensor qkv, Tensor temperature, int heads, Tensor attn, Tensor norms, Tensor gramIn,
                                         Tensor gy, Tensor gqkv, Tensor gtemp) {
        AttnGeometry g = AttnGeometry.of("channelAttention backward", qkv, temperature, heads);
        String k = g.kernel;
        KernelArgs.shape(k, "attn", attn, g.n, heads, g.c, g.c);
        KernelArgs.shape(k, "norms", norms, g.n, 2 * g.cAll);
        KernelArgs.optionalShape(k, "gram", gramIn, g.n, heads, g.c, g.c);
        KernelArgs.shape(k, "gy", gy, g.n, g.cAll, g.h, g.w);
        KernelArgs.optionalShape(k, "gqkv", gqkv, qkv.shape());
        if (gtemp != null) KernelArgs.numel(k, "gtemp", gtemp, heads);
        if (gqkv == null && gtemp == null) return;
        float[] gta = gtemp == null ? null : data(gtemp);
        if (g.n == 0 || g.c == 0) {
            if (gta != null) java.util.Arrays.fill(gta, (int) gtemp.offset(), (int) gtemp.offset() + heads, 0f);
            return;
        }
        float[] qa = data(qkv), ta = data(temperature), aa = data(attn), na = data(norms), ga = data(gy);
        int to = (int) temperature.offset(), ao = (int) attn.offset(), no = (int) norms.offset(), go = (int) gy.offset();
        int c = g.c, cc = c * c, p = g.p, batch = g.n * heads;
        // 1. gA = G v^T and q k^T (unless saved), batched over (image, head).
        BatchOffsets gyRows = new BatchOffsets(go, heads, (long) c * p, (long) g.cAll * p);
        float[] gA = new float[batch * cc];
        Sgemm.gemm(batch, c, c, p, new DenseOperand(ga, gyRows, 1, p), g.rows(qa, 2 * g.cAll, 1, p), 1f, 0f, gA, BatchOffsets.of(0, cc), c);
        float[] gram;
        int gramBase;
        if (gramIn != null) {
            gram = data(gramIn);
            gramBase = (int) gramIn.offset();
        } else {
            gram = new float[batch * cc];
            gramBase = 0;
            Sgemm.gemm(batch, c, c, p, g.rows(qa, 0, 1, p), g.rows(qa, g.cAll, 1, p), 1f, 0f, gram, BatchOffsets.of(0, cc), c);
        }
        // 2. Per head the coefficients of the row combinations: cq = [Cq | diag(self q)], ck = [Ck | diag(self k)]
        //    (c x 2c each), and A^T.
        int c2 = 2 * c;
        float[] cq = new float[batch * c * c2], ck = new float[batch * c * c2], aT = new float[batch * cc];
        double[] gt = new double[batch];
        Parallel.range(batch, Math.max(1, 4096 / cc), (from, until) -> {
            double[] selfK = new double[c];
            for (int nh = from; nh < until; nh++) {
                int n = nh / heads, h = nh % heads;
                int nq = no + n * 2 * g.cAll + h * c, nk = nq + g.cAll, ab = ao + nh * cc, gb = nh * cc, qb = gramBase + nh * cc;
                int cqb = nh * c * c2;
                double t = ta[to + h];
                java.util.Arrays.fill(selfK, 0);
                java.util.Arrays.fill(cq, cqb, cqb + c * c2, 0f);
                java.util.Arrays.fill(ck, cqb, cqb + c * c2, 0f);
                double gtSum = 0;
                for (int i = 0; i < c; i++) {
                    double rowDot = 0;
                    for (int j = 0; j < c; j++) rowDot += (double) gA[gb + i * c + j] * aa[ab + i * c + j];
                    double selfQ = 0;
                    for (int j = 0; j < c; j++) {
                        double a = aa[ab + i * c + j], qk = (double) na[nq + i] * na[nk + j];
                        double sv = gram[qb + i * c + j] / qk;
                        double gl = a * (gA[gb + i * c + j] - rowDot);
                        double gs = gl * t;
                        gtSum += gl * sv;
                        selfQ += gs * sv;
                        selfK[j] += gs * sv;
                        cq[cqb + i * c2 + j] = (float) (gs / qk);
                        ck[cqb + j * c2 + i] = (float) (gs / qk);
                        aT[gb + j * c + i] = (float) a;
                    }
                    double nqi = na[nq + i];
                    cq[cqb + i * c2 + c + i] = nqi > NORM_EPS ? (float) (-selfQ / (nqi * nqi)) : 0f;
                }
                for (int j = 0; j < c; j++) {
                    double nkj = na[nk + j];
                    ck[cqb + j * c2 + c + j] = nkj > NORM_EPS ? (float) (-selfK[j] / (nkj * nkj)) : 0f;
                }
                gt[nh] = gtSum;
            }
        });
        if (gta != null) {
            for (int h = 0; h < heads; h++) {
                double sum = 0;
                for (int n = 0; n < g.n; n++) sum += gt[n * heads + h];
                gta[(int) gtemp.offset() + h] = (float) sum;
            }
        }
        if (gqkv == null) return;
        // 3. gq, gk, gv: batched GEMMs over the pixels. [k; q] are k's c rows then, cAll rows back, q's.
        float[] gqa = data(gqkv);
        long head = (long) c * p, image = 3L * g.cAll * p, block = (long) g.cAll * p;
        int seg = Math.toIntExact(block);
        DenseOperand kq = new DenseOperand(qa, new BatchOffsets(g.qkvOffset + block, heads, head, image), p, 1, c, -seg);
        DenseOperand qk = new DenseOperand(qa, new BatchOffsets(g.qkvOffset, heads, head, image), p, 1, c, seg);
        long gqo = gqkv.offset();
        Sgemm.gemm(batch, c, p, c2, new DenseOperand(cq, BatchOffsets.of(0, (long) c * c2), 1, c2), kq, 1f, 0f,
                gqa, new BatchOffsets(gqo, heads, head, image), p);
        Sgemm.gemm(batch, c, p, c2, new DenseOperand(ck, BatchOffsets.of(0, (long) c * c2), 1, c2), qk, 1f, 0f,
                gqa, new BatchOffsets(gqo + block, heads, head, image), p);
        Sgemm.gemm(batch, c, p, c, new DenseOperand(aT, BatchOffsets.of(0, cc), 1, c), new DenseOperand(ga, gyRows, p, 1), 1f, 0f,
                gqa, new BatchOffsets(gqo + 2 * block, heads, head, image), p);
    }

    /** Sizes of an attention call, validated once. */
    private record AttnGeometry(String kernel, int n, int heads, int cAll, int c, int h, int w, int p, int qkvOffset) {
        static AttnGeometry of(String kernel, Tensor qkv, Tensor temperature, int heads) {
            int[] s = KernelArgs.rank(kernel, "qkv (N, 3C, H, W)", qkv, 4);
            KernelArgs.require(heads > 0, kernel, "heads must be positive, got " + heads);
            KernelArgs.require(s[1] % (3 * heads) == 0, kernel,
                    "qkv " + Shapes.str(s) + " needs 3C channels with C divisible by " + heads + " heads");
            KernelArgs.numel(kernel, "temperature", temperature, heads);
            return new AttnGeometry(kernel, s[0], heads, s[1] / 3, s[1] / 3 / heads, s[2], s[3], s[2] * s[3], (int) qkv.offset());
        }

        /**
         * The channel rows of every (image, head) of the block starting {@code first} channels into qkv
         * (0: q, C: k, 2C: v) as a GEMM operand, batch b = image * heads + head: element (k, j) at
         * row-relative index {@code k*kStride + j*jStride}. Rows (q, k: kStride 1, jStride p) make the
         * channels its j and the pixels its k; (kStride p, jStride 1) the other way round.
         */
        DenseOperand rows(float[] qa, int first, int kStride, int jStride) {
            return new DenseOperand(qa, new BatchOffsets(qkvOffset + (long) first * p, heads, (long) c * p, 3L * cAll * p), kStride, jStride);
        }
    }
}
