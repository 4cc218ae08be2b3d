package diffir.engine.cpu;

import diffir.engine.backend.ConvSpec;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * Depthwise convolution (groups == C == O): every channel plane is correlated with its own kh x kw
 * kernel. A GEMM would have K = kh*kw, far too short to pay for packing, so each plane is first
 * copied into a zero-padded buffer (one per thread) and the taps then run as unmasked vector FMAs
 * along output rows. The backward input pass is the same correlation over gy with the kernel flipped
 * (and zeros inserted between gy's pixels when the stride is above 1).
 */
final class CpuDepthwise {
    private CpuDepthwise() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int V = S.length();

    private static final ThreadLocal<float[][]> PADDED = ThreadLocal.withInitial(() -> new float[][]{new float[0]});

    private static float[] padded(int n) {
        float[][] holder = PADDED.get();
        if (holder[0].length < n) holder[0] = new float[n];
        return holder[0];
    }

    /** Whether the spec's planes are small enough for {@link FlatPlanes} (stride 1, same padding). */
    private static boolean flat(ConvSpec s) {
        return FlatPlanes.applies(s.w(), s.kh(), s.kw(), s.strideH(), s.strideW(), s.padH(), s.padW());
    }

    /** out[n, c] = bias[c] + correlate(x[n, c], w[c]) with the spec's stride and padding. */
    static void forward(float[] x, int xo, float[] w, int wo, float[] bias, int bo, ConvSpec s, float[] out, int oo) {
        int c = s.c(), h = s.h(), wd = s.w(), kh = s.kh(), kw = s.kw(), oh = s.outH(), ow = s.outW();
        if (flat(s)) {
            flatCorrelate(x, xo, w, wo, false, bias, bo, s, out, oo);
            return;
        }
        int ph = (oh - 1) * s.strideH() + kh, pw = (ow - 1) * s.strideW() + kw;
        Parallel.range(s.n() * c, 1, (from, to) -> {
            float[] pad = padded(ph * pw);
            for (int plane = from; plane < to; plane++) {
                int ch = plane % c;
                padPlane(x, xo + plane * h * wd, h, wd, s.padH(), s.padW(), 1, 1, pad, ph, pw);
                float b = bias == null ? 0f : bias[bo + ch];
                correlate(pad, pw, w, wo + ch * kh * kw, kh, kw, s.strideH(), s.strideW(), b,
                        out, oo + plane * oh * ow, oh, ow);
            }
        });
    }

    /** gx[n, c] = sum over taps of w[c, r, s] * gy[n, c] at the output pixels that read each input pixel. */
    static void backwardInput(float[] gy, int go, float[] w, int wo, ConvSpec s, float[] gx, int xo) {
        int c = s.c(), h = s.h(), wd = s.w(), kh = s.kh(), kw = s.kw(), oh = s.outH(), ow = s.outW();
        if (flat(s)) {
            // Stride 1 with same padding: the input gradient is the same correlation over gy, kernel flipped.
            flatCorrelate(gy, go, w, wo, true, null, 0, s, gx, xo);
            return;
        }
        float[] flipped = new float[c * kh * kw];
        for (int ch = 0; ch < c; ch++)
            for (int t = 0; t < kh * kw; t++) flipped[ch * kh * kw + t] = w[wo + ch * kh * kw + kh * kw - 1 - t];
        int ph = h + kh - 1, pw = wd + kw - 1;
        Parallel.range(s.n() * c, 1, (from, to) -> {
            float[] pad = padded(ph * pw);
            for (int plane = from; plane < to; plane++) {
                int ch = plane % c;
                padPlane(gy, go + plane * oh * ow, oh, ow, kh - 1 - s.padH(), kw - 1 - s.padW(),
                        s.strideH(), s.strideW(), pad, ph, pw);
                correlate(pad, pw, flipped, ch * kh * kw, kh, kw, 1, 1, 0f, gx, xo + plane * h * wd, h, wd);
            }
        });
    }

    /** gw[c, r, s] = sum over images and output pixels of gy * the input pixel that tap (r, s) read. */
    static void backwardWeight(float[] x, int xo, float[] gy, int go, ConvSpec s, float[] gw, int wo) {
        int c = s.c(), h = s.h(), wd = s.w(), kh = s.kh(), kw = s.kw(), oh = s.outH(), ow = s.outW();
        if (flat(s)) {
            flatWeightGrad(x, xo, gy, go, s, gw, wo);
            return;
        }
        int sh = s.strideH(), sw = s.strideW();
        int ph = (oh - 1) * sh + kh, pw = (ow - 1) * sw + kw;
        Parallel.range(c, 1, (from, to) -> {
            float[] pad = padded(ph * pw);
            float[] sums = new float[kh * kw];
            for (int ch = from; ch < to; ch++) {
                Arrays.fill(sums, 0f);
                for (int n = 0; n < s.n(); n++) {
                    int plane = n * c + ch;
                    padPlane(x, xo + plane * h * wd, h, wd, s.padH(), s.padW(), 1, 1, pad, ph, pw);
                    int g = go + plane * oh * ow;
                    if (kh == 3 && kw == 3 && sh == 1 && sw == 1) {
                        taps3x3(gy, g, oh, ow, pad, pw, sums);
                    } else {
                        for (int r = 0; r < kh; r++)
                            for (int t = 0; t < kw; t++) sums[r * kw + t] += dotTap(gy, g, oh, ow, pad, pw, r * pw + t, sh, sw);
                    }
                }
                System.arraycopy(sums, 0, gw, wo + ch * kh * kw, kh * kw);
            }
        });
    }

    /** Every plane of src correlated with its channel's kernel (flipped: rotated 180 degrees) plus bias, through flat planes. */
    private static void flatCorrelate(float[] src, int so, float[] w, int wo, boolean flip, float[] bias, int bo, ConvSpec s,
                                      float[] out, int oo) {
        int c = s.c(), h = s.h(), wd = s.w(), k = s.kh(), kk = k * k, p = h * wd;
        int padLen = FlatPlanes.paddedLength(h, wd, k), flatLen = FlatPlanes.flatLength(h, wd, k);
        Parallel.range(s.n() * c, Math.max(1, 4096 / Math.max(1, p * kk)), (from, to) -> {
            float[] pad = FlatPlanes.scratch(0, padLen), res = FlatPlanes.scratch(1, flatLen), taps = FlatPlanes.scratch(2, kk);
            for (int plane = from; plane < to; plane++) {
                int ch = plane % c;
                if (flip) DepthwiseRows.flip(w, wo + ch * kk, kk, taps);
                else System.arraycopy(w, wo + ch * kk, taps, 0, kk);
                FlatPlanes.pad(src, so + plane * p, h, wd, k, pad);
                FlatPlanes.correlate(pad, h, wd, k, taps, 0, bias == null ? 0f : bias[bo + ch], res);
                FlatPlanes.fromFlat(res, h, wd, k, out, oo + plane * p);
            }
        });
    }

    /** gw[c] = sum over images of the flat weight gradient of gy[n, c] against x[n, c]. */
    private static void flatWeightGrad(float[] x, int xo, float[] gy, int go, ConvSpec s, float[] gw, int wo) {
        int c = s.c(), h = s.h(), wd = s.w(), k = s.kh(), kk = k * k, p = h * wd;
        int padLen = FlatPlanes.paddedLength(h, wd, k), flatLen = FlatPlanes.flatLength(h, wd, k);
        Parallel.range(c, Math.max(1, 4096 / Math.max(1, s.n() * p * kk)), (from, to) -> {
            float[] pad = FlatPlanes.scratch(0, padLen), g = FlatPlanes.scratch(1, flatLen);
            double[] acc = new double[kk];
            for (int ch = from; ch < to; ch++) {
                Arrays.fill(acc, 0);
                for (int n = 0; n < s.n(); n++) {
                    int plane = n * c + ch;
                    FlatPlanes.pad(x, xo + plane * p, h, wd, k, pad);
                    FlatPlanes.toFlat(gy, go + plane * p, h, wd, k, g);
                    FlatPlanes.weightGrad(g, pad, h, wd, k, acc);
                }
                for (int t = 0; t < kk; t++) gw[wo + ch * kk + t] = (float) acc[t];
            }
        });
    }

    /**
     * pad[i][j] (ph x pw) = the source plane (h x w at src[so]) with zeros dil-1 apart between its
     * pixels, shifted down by top and right by left (negative: cropped); zero elsewhere.
     */
    static void padPlane(float[] src, int so, int h, int w, int top, int left, int dilH, int dilW,
                         float[] pad, int ph, int pw) {
        for (int i = 0; i < ph; i++) {
            int d = i * pw, q = i - top;
            if (q < 0 || q % dilH != 0 || q / dilH >= h) {
                FloatCopy.zero(pad, d, pw);
                continue;
            }
            int row = so + (q / dilH) * w;
            if (dilW == 1) {
                int lo = Math.clamp(left, 0, pw), hi = Math.clamp((long) left + w, lo, pw);
                FloatCopy.zero(pad, d, lo);
                FloatCopy.copy(src, row + lo - left, pad, d + lo, hi - lo);
                FloatCopy.zero(pad, d + hi, pw - hi);
            } else {
                for (int j = 0; j < pw; j++) {
                    int qx = j - left;
                    pad[d + j] = qx >= 0 && qx % dilW == 0 && qx / dilW < w ? src[row + qx / dilW] : 0f;
                }
            }
        }
    }

    /** out (oh x ow at out[oo]) = bias + correlation of pad (row length pw) with the kh x kw taps at wt[wo]. */
    static void correlate(float[] pad, int pw, float[] wt, int wo, int kh, int kw, int sh, int sw, float bias,
                          float[] out, int oo, int oh, int ow) {
        // Whole vectors of output columns (stride 1 along rows only), then the rest one by one.
        int vecEnd = sw == 1 ? ow - ow % V : 0;
        if (kh == 3 && kw == 3) correlate3x3(pad, pw, wt, wo, sh, bias, out, oo, oh, vecEnd, ow);
        else correlateVectors(pad, pw, wt, wo, kh, kw, sh, bias, out, oo, oh, vecEnd, ow);
        for (int y = 0; y < oh; y++) {
            int top = y * sh * pw, o = oo + y * ow;
            for (int x = vecEnd; x < ow; x++) {
                float acc = bias;
                for (int r = 0; r < kh; r++) {
                    int row = top + r * pw + x * sw, wr = wo + r * kw;
                    for (int t = 0; t < kw; t++) acc += pad[row + t] * wt[wr + t];
                }
                out[o + x] = acc;
            }
        }
    }

    /** Output columns [0, vecEnd) of {@link #correlate}, any kernel, stride 1 along rows. */
    private static void correlateVectors(float[] pad, int pw, float[] wt, int wo, int kh, int kw, int sh, float bias,
                                         float[] out, int oo, int oh, int vecEnd, int ow) {
        for (int y = 0; y < oh; y++) {
            int top = y * sh * pw, o = oo + y * ow;
            for (int x = 0; x < vecEnd; x += V) {
                FloatVector acc = FloatVector.broadcast(S, bias);
                for (int r = 0; r < kh; r++) {
                    int row = top + r * pw + x, wr = wo + r * kw;
                    for (int t = 0; t < kw; t++)
                        acc = FloatVector.fromArray(S, pad, row + t).fma(FloatVector.broadcast(S, wt[wr + t]), acc);
                }
                acc.intoArray(out, o + x);
            }
        }
    }

    /** {@link #correlateVectors} for 3x3 kernels: the nine taps stay in registers. */
    private static void correlate3x3(float[] pad, int pw, float[] wt, int wo, int sh, float bias,
                                     float[] out, int oo, int oh, int vecEnd, int ow) {
        FloatVector w0 = FloatVector.broadcast(S, wt[wo]), w1 = FloatVector.broadcast(S, wt[wo + 1]);
        FloatVector w2 = FloatVector.broadcast(S, wt[wo + 2]), w3 = FloatVector.broadcast(S, wt[wo + 3]);
        FloatVector w4 = FloatVector.broadcast(S, wt[wo + 4]), w5 = FloatVector.broadcast(S, wt[wo + 5]);
        FloatVector w6 = FloatVector.broadcast(S, wt[wo + 6]), w7 = FloatVector.broadcast(S, wt[wo + 7]);
        FloatVector w8 = FloatVector.broadcast(S, wt[wo + 8]), b = FloatVector.broadcast(S, bias);
        for (int y = 0; y < oh; y++) {
            int r0 = y * sh * pw, r1 = r0 + pw, r2 = r1 + pw, o = oo + y * ow;
            for (int x = 0; x < vecEnd; x += V) {
                FloatVector acc = FloatVector.fromArray(S, pad, r0 + x).fma(w0, b);
                acc = FloatVector.fromArray(S, pad, r0 + x + 1).fma(w1, acc);
                acc = FloatVector.fromArray(S, pad, r0 + x + 2).fma(w2, acc);
                acc = FloatVector.fromArray(S, pad, r1 + x).fma(w3, acc);
                acc = FloatVector.fromArray(S, pad, r1 + x + 1).fma(w4, acc);
                acc = FloatVector.fromArray(S, pad, r1 + x + 2).fma(w5, acc);
                acc = FloatVector.fromArray(S, pad, r2 + x).fma(w6, acc);
                acc = FloatVector.fromArray(S, pad, r2 + x + 1).fma(w7, acc);
                acc = FloatVector.fromArray(S, pad, r2 + x + 2).fma(w8, acc);
                acc.intoArray(out, o + x);
            }
        }
    }

    /**
     * Adds to g9[0..9) the weight gradients of the nine taps of a 3x3 kernel, stride 1: sums over output
     * pixels of g[y][x] * pad[y + r][x + s], in one pass over the rows with the nine sums in registers.
     */
    private static void taps3x3(float[] g, int go, int oh, int ow, float[] pad, int pw, float[] g9) {
        FloatVector z = FloatVector.zero(S);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z, a4 = z, a5 = z, a6 = z, a7 = z, a8 = z;
        int vecEnd = ow - ow % V;
        for (int y = 0; y < oh; y++) {
            int gr = go + y * ow, r0 = y * pw, r1 = r0 + pw, r2 = r1 + pw;
            for (int x = 0; x < vecEnd; x += V) {
                FloatVector v = FloatVector.fromArray(S, g, gr + x);
                a0 = v.fma(FloatVector.fromArray(S, pad, r0 + x), a0);
                a1 = v.fma(FloatVector.fromArray(S, pad, r0 + x + 1), a1);
                a2 = v.fma(FloatVector.fromArray(S, pad, r0 + x + 2), a2);
                a3 = v.fma(FloatVector.fromArray(S, pad, r1 + x), a3);
                a4 = v.fma(FloatVector.fromArray(S, pad, r1 + x + 1), a4);
                a5 = v.fma(FloatVector.fromArray(S, pad, r1 + x + 2), a5);
                a6 = v.fma(FloatVector.fromArray(S, pad, r2 + x), a6);
                a7 = v.fma(FloatVector.fromArray(S, pad, r2 + x + 1), a7);
                a8 = v.fma(FloatVector.fromArray(S, pad, r2 + x + 2), a8);
            }
            for (int x = vecEnd; x < ow; x++) {
                float v = g[gr + x];
                for (int r = 0; r < 3; r++)
                    for (int t = 0; t < 3; t++) g9[r * 3 + t] += v * pad[(y + r) * pw + x + t];
            }
        }
        g9[0] += Lanes.sum(a0);
        g9[1] += Lanes.sum(a1);
        g9[2] += Lanes.sum(a2);
        g9[3] += Lanes.sum(a3);
        g9[4] += Lanes.sum(a4);
        g9[5] += Lanes.sum(a5);
        g9[6] += Lanes.sum(a6);
        g9[7] += Lanes.sum(a7);
        g9[8] += Lanes.sum(a8);
    }

    /** Sum over output pixels (y, x) of g[y][x] * pad[y*sh*pw + x*sw + shift]: one tap's weight gradient. */
    private static float dotTap(float[] g, int go, int oh, int ow, float[] pad, int pw, int shift, int sh, int sw) {
        int vecEnd = sw == 1 ? ow - ow % V : 0;
        FloatVector acc = FloatVector.zero(S);
        float tail = 0f;
        for (int y = 0; y < oh; y++) {
            int gr = go + y * ow, pr = y * sh * pw + shift;
            for (int x = 0; x < vecEnd; x += V)
                acc = FloatVector.fromArray(S, g, gr + x).fma(FloatVector.fromArray(S, pad, pr + x), acc);
            for (int x = vecEnd; x < ow; x++) tail += g[gr + x] * pad[pr + x * sw];
        }
        return Lanes.sum(acc) + tail;
    }
}
