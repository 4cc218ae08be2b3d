package diffir.engine.cpu;

import diffir.engine.Shapes;
import diffir.engine.Tensor;

import static diffir.engine.cpu.CpuBackend.data;

/**
 * The fused DiffIR kernels: gated depthwise conv (GDFN) and transposed channel attention (MDTA).
 *
 * <p>The gated conv works per (image, gate channel): it convolves the matching rows of both halves
 * and gates them straight into the output, so the 2Hd-channel intermediate never exists; its backward
 * recomputes it one plane at a time. The attention splits each (image, head) over pixel ranges so that
 * even one head keeps every core busy: partial Gram matrices per range, a tiny per-head softmax step,
 * then row combinations per range.
 */
final class CpuFused {
    private CpuFused() {}

    /** Floats of work below which a task is not worth handing to another core. */
    private static final int GRAIN = 16384;
    /** Attention pixel ranges are at least this long. */
    private static final int MIN_RANGE = 256;
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
        if (g.w <= FlatPlanes.MAX_WIDTH) {
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
        if (g.w <= FlatPlanes.MAX_WIDTH) {
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
                for (int t = 0; t < kk && gwa != null; t++) {
                    gwa[gwo + ch * kk + t] = (float) acc1[t];
                    gwa[gwo + (hd + ch) * kk + t] = (float) acc2[t];
                }
                if (gba != null) {
                    gba[gbo + ch] = (float) acc1[kk];
                    gba[gbo + hd + ch] = (float) acc2[kk];
                }
            }
        });
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
                for (int t = 0; t < kk && gwa != null; t++) {
                    gwa[gwo + ch * kk + t] = (float) acc1[t];
                    gwa[gwo + (hd + ch) * kk + t] = (float) acc2[t];
                }
                if (gba != null) {
                    gba[gbo + ch] = (float) acc1[kk];
                    gba[gbo + hd + ch] = (float) acc2[kk];
                }
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
        AttnGeometry g = AttnGeometry.of("channelAttention", qkv, temperature, heads);
        KernelArgs.shape(g.kernel, "out", out, g.n, g.cAll, g.h, g.w);
        KernelArgs.shape(g.kernel, "attn", attn, g.n, heads, g.c, g.c);
        KernelArgs.shape(g.kernel, "norms", norms, g.n, 2 * g.cAll);
        if (g.n == 0 || g.c == 0) return;
        float[] qa = data(qkv), ta = data(temperature), oa = data(out), aa = data(attn), na = data(norms);
        int to = (int) temperature.offset(), oo = (int) out.offset(), ao = (int) attn.offset(), no = (int) norms.offset();
        int c = g.c, cc = c * c, p = g.p;
        // 1. Per pixel range: partial q k^T and squared row norms of q and k.
        double[][] part = new double[g.units()][cc + 2 * c];
        Parallel.each(g.units(), u -> {
            int nh = u / g.ranges, p0 = g.rangeStart(u % g.ranges), p1 = g.rangeStart(u % g.ranges + 1);
            int qb = g.q(nh), kb = g.k(nh);
            RowProducts.gram(qa, qb, c, qa, kb, c, p, p0, p1, part[u], 0);
            for (int i = 0; i < c; i++) {
                part[u][cc + i] = RowKernels.dot(qa, qb + i * p + p0, qa, qb + i * p + p0, p1 - p0);
                part[u][cc + c + i] = RowKernels.dot(qa, kb + i * p + p0, qa, kb + i * p + p0, p1 - p0);
            }
        });
        // 2. Per head: clamped norms, S = q k^T / (|q| |k|), A = softmax(S * temperature).
        Parallel.each(g.n * heads, nh -> {
            double[] sum = g.reduce(part, nh, cc + 2 * c);
            int n = nh / heads, h = nh % heads;
            int nq = no + n * 2 * g.cAll + h * c, nk = nq + g.cAll;
            for (int i = 0; i < c; i++) {
                na[nq + i] = (float) Math.max(Math.sqrt(sum[cc + i]), NORM_EPS);
                na[nk + i] = (float) Math.max(Math.sqrt(sum[cc + c + i]), NORM_EPS);
            }
            double t = ta[to + h];
            double[] row = new double[c];
            int ab = ao + nh * cc;
            for (int i = 0; i < c; i++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int j = 0; j < c; j++) {
                    row[j] = sum[i * c + j] / ((double) na[nq + i] * na[nk + j]) * t;
                    max = Math.max(max, row[j]);
                }
                double z = 0;
                for (int j = 0; j < c; j++) z += row[j] = Math.exp(row[j] - max);
                for (int j = 0; j < c; j++) aa[ab + i * c + j] = (float) (row[j] / z);
            }
        });
        // 3. out = A v, per pixel range.
        Parallel.each(g.units(), u -> {
            int nh = u / g.ranges, p0 = g.rangeStart(u % g.ranges), p1 = g.rangeStart(u % g.ranges + 1);
            RowProducts.combine(aa, ao + nh * cc, c, qa, g.v(nh), null, 0, null, 0, oa, oo + g.outRow(nh), c, p, p0, p1);
        });
    }

    /**
     * Backward of the attention, with qn = q/|q|, kn = k/|k| (clamped norms), S = qn kn^T,
     * A = softmax(S t), out = A v and G the upstream gradient:
     * gA = G v^T; gv = A^T G; gL = A (gA - rowsum(gA A)); gt = sum gL S; gS = gL t;
     * gq_i = sum_j gS_ij/(|q_i||k_j|) k_j - (sum_j gS_ij S_ij)/|q_i|^2 q_i (second term only for unclamped
     * norms: it is the normalisation's own gradient, using <gqn_i, q_i> = |q_i| sum_j gS_ij S_ij), and the
     * same for k with gS transposed. S is recomputed from a Gram pass rather than stored.
     */
    static void channelAttentionBackward(Tensor qkv, Tensor temperature, int heads, Tensor attn, Tensor norms,
                                         Tensor gy, Tensor gqkv, Tensor gtemp) {
        AttnGeometry g = AttnGeometry.of("channelAttention backward", qkv, temperature, heads);
        String k = g.kernel;
        KernelArgs.shape(k, "attn", attn, g.n, heads, g.c, g.c);
        KernelArgs.shape(k, "norms", norms, g.n, 2 * g.cAll);
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
        int c = g.c, cc = c * c, p = g.p;
        // 1. Per pixel range: partial gA = G v^T and q k^T.
        double[][] part = new double[g.units()][2 * cc];
        Parallel.each(g.units(), u -> {
            int nh = u / g.ranges, p0 = g.rangeStart(u % g.ranges), p1 = g.rangeStart(u % g.ranges + 1);
            RowProducts.gram(ga, go + g.outRow(nh), c, qa, g.v(nh), c, p, p0, p1, part[u], 0);
            RowProducts.gram(qa, g.q(nh), c, qa, g.k(nh), c, p, p0, p1, part[u], cc);
        });
        // 2. Per head: the c x c gradients and the coefficients of the row combinations.
        //    coef[nh] = [gq coefficients (i, j) | gk coefficients (j, i) | A^T | gq self | gk self]
        float[][] coef = new float[g.n * heads][3 * cc + 2 * c];
        double[] gt = new double[g.n * heads];
        Parallel.each(g.n * heads, nh -> {
            double[] sum = g.reduce(part, nh, 2 * cc);
            int n = nh / heads, h = nh % heads;
            int nq = no + n * 2 * g.cAll + h * c, nk = nq + g.cAll, ab = ao + nh * cc;
            double t = ta[to + h];
            float[] cf = coef[nh];
            double[] selfK = new double[c];
            double gtSum = 0;
            for (int i = 0; i < c; i++) {
                double rowDot = 0;
                for (int j = 0; j < c; j++) rowDot += sum[i * c + j] * aa[ab + i * c + j];
                double selfQ = 0;
                for (int j = 0; j < c; j++) {
                    double a = aa[ab + i * c + j], qk = (double) na[nq + i] * na[nk + j];
                    double s = sum[cc + i * c + j] / qk;
                    double gl = a * (sum[i * c + j] - rowDot);
                    double gs = gl * t;
                    gtSum += gl * s;
                    selfQ += gs * s;
                    selfK[j] += gs * s;
                    cf[i * c + j] = (float) (gs / qk);
                    cf[cc + j * c + i] = (float) (gs / qk);
                    cf[2 * cc + j * c + i] = (float) a;
                }
                double nqi = na[nq + i];
                cf[3 * cc + i] = nqi > NORM_EPS ? (float) (-selfQ / (nqi * nqi)) : 0f;
            }
            for (int j = 0; j < c; j++) {
                double nkj = na[nk + j];
                cf[3 * cc + c + j] = nkj > NORM_EPS ? (float) (-selfK[j] / (nkj * nkj)) : 0f;
            }
            gt[nh] = gtSum;
        });
        if (gta != null) {
            for (int h = 0; h < heads; h++) {
                double s = 0;
                for (int n = 0; n < g.n; n++) s += gt[n * heads + h];
                gta[(int) gtemp.offset() + h] = (float) s;
            }
        }
        if (gqkv == null) return;
        // 3. Per pixel range: gq, gk and gv as combinations of k, q and G rows.
        float[] gqa = data(gqkv);
        int gqo = (int) gqkv.offset();
        Parallel.each(g.units(), u -> {
            int nh = u / g.ranges, p0 = g.rangeStart(u % g.ranges), p1 = g.rangeStart(u % g.ranges + 1);
            float[] cf = coef[nh];
            int qb = g.q(nh), kb = g.k(nh), vb = g.v(nh), shift = gqo - (int) qkv.offset();
            RowProducts.combine(cf, 0, c, qa, kb, cf, 3 * cc, qa, qb, gqa, qb + shift, c, p, p0, p1);
            RowProducts.combine(cf, cc, c, qa, qb, cf, 3 * cc + c, qa, kb, gqa, kb + shift, c, p, p0, p1);
            RowProducts.combine(cf, 2 * cc, c, ga, go + g.outRow(nh), null, 0, null, 0, gqa, vb + shift, c, p, p0, p1);
        });
    }

    /**
     * Sizes of an attention call, and its work split: units are (image, head, pixel range), enough
     * ranges per head to give every core work when there are few heads.
     */
    private record AttnGeometry(String kernel, int n, int heads, int cAll, int c, int h, int w, int p, int qkvOffset, int ranges) {
        static AttnGeometry of(String kernel, Tensor qkv, Tensor temperature, int heads) {
            int[] s = KernelArgs.rank(kernel, "qkv (N, 3C, H, W)", qkv, 4);
            KernelArgs.require(heads > 0, kernel, "heads must be positive, got " + heads);
            KernelArgs.require(s[1] % (3 * heads) == 0, kernel,
                    "qkv " + Shapes.str(s) + " needs 3C channels with C divisible by " + heads + " heads");
            KernelArgs.numel(kernel, "temperature", temperature, heads);
            int p = s[2] * s[3], nh = s[0] * heads;
            int want = nh == 0 ? 1 : (4 * Parallel.THREADS + nh - 1) / nh;
            int ranges = Math.max(1, Math.min(want, p / MIN_RANGE));
            return new AttnGeometry(kernel, s[0], heads, s[1] / 3, s[1] / 3 / heads, s[2], s[3], p, (int) qkv.offset(), ranges);
        }

        int units() {
            return n * heads * ranges;
        }

        /** First pixel of range r (r = ranges gives p); inner boundaries are multiples of 16. */
        int rangeStart(int r) {
            return r == ranges ? p : (int) ((long) p * r / ranges) & ~15;
        }

        /** Offset of head nh's first q row in qkv's array; k and v rows follow C channels later. */
        int q(int nh) {
            return qkvOffset + ((nh / heads) * 3 * cAll + (nh % heads) * c) * p;
        }

        int k(int nh) {
            return q(nh) + cAll * p;
        }

        int v(int nh) {
            return q(nh) + 2 * cAll * p;
        }

        /** Offset of head nh's first row within an (N, C, H, W) tensor (out, gy), relative to its offset. */
        int outRow(int nh) {
            return ((nh / heads) * cAll + (nh % heads) * c) * p;
        }

        /** Sums the per-range partials of head nh. */
        double[] reduce(double[][] part, int nh, int len) {
            double[] s = new double[len];
            for (int r = 0; r < ranges; r++) {
                double[] q = part[nh * ranges + r];
                for (int i = 0; i < len; i++) s[i] += q[i];
            }
            return s;
        }
    }
}
