package diffir.engine.cpu;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import java.util.Arrays;

import static diffir.engine.cpu.CpuBackend.data;
import static diffir.engine.cpu.RowKernels.S;
import static diffir.engine.cpu.RowKernels.VL;

/**
 * Softmax, L2 normalisation and channel LayerNorm (plain and modulated).
 *
 * <p>Softmax and L2 normalisation work on rows of the last axis, spread over the cores. Channel
 * LayerNorm reduces over C, which is strided by H*W in NCHW memory: it works on runs of contiguous
 * pixels (one run per task) and sweeps the C channel rows of that run, so every inner loop is a
 * contiguous vector loop and the per-pixel statistics live in the mean/rstd outputs themselves.
 */
final class CpuNorm {
    private CpuNorm() {}

    /** Floats of work below which a task is not worth handing to another core. */
    private static final int GRAIN = 16384;
    /** Pixels normalised together; C rows of this many floats stay in cache across the passes over C. */
    private static final int PIXEL_BLOCK = 256;
    /** Floats summed in float lanes before folding into a double (long plane sums). */
    private static final int SUM_BLOCK = 1024;

    // ---------------------------------------------------------------- softmax

    static void softmax(Tensor x, boolean log, Tensor out) {
        String k = log ? "logSoftmax" : "softmax";
        int len = lastAxis(k, x);
        KernelArgs.shape(k, "out", out, x.shape());
        if (x.numel() == 0) return;
        float[] xa = data(x), oa = data(out);
        int xo = (int) x.offset(), oo = (int) out.offset();
        Parallel.range(Math.toIntExact(x.numel() / len), Math.max(1, GRAIN / len), (from, to) -> {
            for (int r = from; r < to; r++) softmaxRow(xa, xo + r * len, oa, oo + r * len, len, log);
        });
    }

    /** One row; reads each x before writing its output, so out may alias x. */
    private static void softmaxRow(float[] x, int xo, float[] o, int oo, int len, boolean log) {
        double m = RowKernels.max(x, xo, len);
        double s = 0;
        if (log) {
            for (int i = 0; i < len; i++) s += Math.exp(x[xo + i] - m);
            double lse = m + Math.log(s);
            for (int i = 0; i < len; i++) o[oo + i] = (float) (x[xo + i] - lse);
        } else {
            for (int i = 0; i < len; i++) {
                double e = Math.exp(x[xo + i] - m);
                o[oo + i] = (float) e;
                s += e;
            }
            RowKernels.scale(o, oo, (float) (1 / s), o, oo, len);
        }
    }

    static void softmaxBackward(Tensor y, Tensor gy, boolean log, Tensor gx) {
        String k = log ? "logSoftmax backward" : "softmax backward";
        int len = lastAxis(k, y);
        KernelArgs.shape(k, "gy", gy, y.shape());
        KernelArgs.shape(k, "gx", gx, y.shape());
        if (y.numel() == 0) return;
        float[] ya = data(y), ga = data(gy), xa = data(gx);
        int yo = (int) y.offset(), go = (int) gy.offset(), xo = (int) gx.offset();
        Parallel.range(Math.toIntExact(y.numel() / len), Math.max(1, GRAIN / len), (from, to) -> {
            for (int r = from; r < to; r++) {
                int yr = yo + r * len, gr = go + r * len, xr = xo + r * len;
                if (log) {
                    // d/dx of log-softmax: gx = gy - softmax * sum(gy), softmax = exp(y).
                    double s = RowKernels.sum(ga, gr, len);
                    for (int i = 0; i < len; i++) xa[xr + i] = (float) (ga[gr + i] - Math.exp(ya[yr + i]) * s);
                } else {
                    // gx = y * (gy - <gy, y>)
                    FloatVector d = FloatVector.broadcast(S, (float) RowKernels.dot(ga, gr, ya, yr, len));
                    int i = 0;
                    for (; i <= len - VL; i += VL)
                        FloatVector.fromArray(S, ga, gr + i).sub(d).mul(FloatVector.fromArray(S, ya, yr + i)).intoArray(xa, xr + i);
                    float ds = d.lane(0);
                    for (; i < len; i++) xa[xr + i] = (ga[gr + i] - ds) * ya[yr + i];
                }
            }
        });
    }

    // ---------------------------------------------------------------- L2 normalisation

    static void l2Normalize(Tensor x, float eps, Tensor out, Tensor norm) {
        String k = "l2Normalize";
        int len = lastAxis(k, x);
        KernelArgs.shape(k, "out", out, x.shape());
        KernelArgs.shape(k, "norm", norm, rowShape(x));
        if (x.numel() == 0) return;
        float[] xa = data(x), oa = data(out), na = data(norm);
        int xo = (int) x.offset(), oo = (int) out.offset(), no = (int) norm.offset();
        Parallel.range(Math.toIntExact(x.numel() / len), Math.max(1, GRAIN / len), (from, to) -> {
            for (int r = from; r < to; r++) {
                double n = Math.max(Math.sqrt(RowKernels.dot(xa, xo + r * len, xa, xo + r * len, len)), eps);
                na[no + r] = (float) n;
                RowKernels.scale(xa, xo + r * len, (float) (1 / n), oa, oo + r * len, len);
            }
        });
    }

    /**
     * PyTorch's F.normalize backward: out = x / clamp_min(||x||, eps). Unclamped rows get
     * gx = gy/n - x <gy, x>/n^3; clamped rows (||x|| < eps) only gy/eps, as clamp_min passes no gradient.
     */
    static void l2NormalizeBackward(Tensor x, Tensor norm, Tensor gy, float eps, Tensor gx) {
        String k = "l2Normalize backward";
        int len = lastAxis(k, x);
        KernelArgs.shape(k, "norm", norm, rowShape(x));
        KernelArgs.shape(k, "gy", gy, x.shape());
        KernelArgs.shape(k, "gx", gx, x.shape());
        if (x.numel() == 0) return;
        float[] xa = data(x), na = data(norm), ga = data(gy), oa = data(gx);
        int xo = (int) x.offset(), no = (int) norm.offset(), go = (int) gy.offset(), oo = (int) gx.offset();
        Parallel.range(Math.toIntExact(x.numel() / len), Math.max(1, GRAIN / len), (from, to) -> {
            for (int r = from; r < to; r++) {
                int xr = xo + r * len, gr = go + r * len, or = oo + r * len;
                double n = na[no + r];
                double raw = Math.sqrt(RowKernels.dot(xa, xr, xa, xr, len));
                double b = raw >= eps ? -RowKernels.dot(ga, gr, xa, xr, len) / (n * n * n) : 0;
                linear((float) (1 / n), ga, gr, (float) b, xa, xr, oa, or, len);
            }
        });
    }

    /** out = a*p + b*q. */
    private static void linear(float a, float[] p, int po, float b, float[] q, int qo, float[] out, int oo, int len) {
        FloatVector va = FloatVector.broadcast(S, a), vb = FloatVector.broadcast(S, b);
        int i = 0;
        for (; i <= len - VL; i += VL)
            FloatVector.fromArray(S, q, qo + i).mul(vb).add(FloatVector.fromArray(S, p, po + i).mul(va)).intoArray(out, oo + i);
        for (; i < len; i++) out[oo + i] = a * p[po + i] + b * q[qo + i];
    }

    // ---------------------------------------------------------------- channel LayerNorm

    static void layerNorm(Tensor x, Tensor weight, Tensor bias, Tensor mod, float eps, Tensor out, Tensor mean, Tensor rstd) {
        Geometry g = Geometry.of("layerNorm", x, weight, bias, mod);
        KernelArgs.shape(g.kernel, "out", out, x.shape());
        KernelArgs.shape(g.kernel, "mean", mean, g.n, g.h, g.w);
        KernelArgs.shape(g.kernel, "rstd", rstd, g.n, g.h, g.w);
        if (x.numel() == 0) return;
        float[] xa = data(x), wa = data(weight), ba = bias == null ? null : data(bias), ma = mod == null ? null : data(mod);
        float[] oa = data(out), mua = data(mean), ra = data(rstd);
        int xo = (int) x.offset(), wo = (int) weight.offset(), bo = bias == null ? 0 : (int) bias.offset();
        int mo = mod == null ? 0 : (int) mod.offset(), oo = (int) out.offset(), muo = (int) mean.offset(), ro = (int) rstd.offset();
        int c = g.c, p = g.p, blocks = g.pixelBlocks();
        Parallel.range(g.n * blocks, Math.max(1, GRAIN / (PIXEL_BLOCK * c)), (from, to) -> {
            for (int u = from; u < to; u++) {
                int n = u / blocks, p0 = (u % blocks) * PIXEL_BLOCK, len = Math.min(PIXEL_BLOCK, p - p0);
                int xb = xo + n * c * p + p0, ob = oo + n * c * p + p0;
                int mb = muo + n * p + p0, rb = ro + n * p + p0;
                // Statistics: mean, then the biased variance about it (two passes for accuracy).
                Arrays.fill(mua, mb, mb + len, 0f);
                for (int ch = 0; ch < c; ch++) RowKernels.add(xa, xb + ch * p, mua, mb, len);
                RowKernels.scale(mua, mb, 1f / c, mua, mb, len);
                Arrays.fill(ra, rb, rb + len, 0f);
                for (int ch = 0; ch < c; ch++) addSquaredDiff(xa, xb + ch * p, mua, mb, ra, rb, len);
                toRstd(ra, rb, 1f / c, eps, len);
                // y*k1 + k2 = u*(w*k1) + (b*k1 + k2), u = (x - mean)*rstd (WithBias) or x*rstd (BiasFree).
                for (int ch = 0; ch < c; ch++) {
                    float k1 = ma == null ? 1f : ma[mo + n * 2 * c + ch], k2 = ma == null ? 0f : ma[mo + n * 2 * c + c + ch];
                    float scale = wa[wo + ch] * k1, shift = (ba == null ? 0f : ba[bo + ch] * k1) + k2;
                    normaliseRow(xa, xb + ch * p, ba == null ? null : mua, mb, ra, rb, scale, shift, oa, ob + ch * p, len);
                }
            }
        });
    }

    /** acc += (x - mean)^2. */
    private static void addSquaredDiff(float[] x, int xo, float[] mu, int mo, float[] acc, int ao, int len) {
        int i = 0;
        for (; i <= len - VL; i += VL) {
            FloatVector d = FloatVector.fromArray(S, x, xo + i).sub(FloatVector.fromArray(S, mu, mo + i));
            d.fma(d, FloatVector.fromArray(S, acc, ao + i)).intoArray(acc, ao + i);
        }
        for (; i < len; i++) {
            float d = x[xo + i] - mu[mo + i];
            acc[ao + i] += d * d;
        }
    }

    /** r = 1 / sqrt(r * invC + eps), in place. */
    private static void toRstd(float[] r, int ro, float invC, float eps, int len) {
        FloatVector one = FloatVector.broadcast(S, 1f), vi = FloatVector.broadcast(S, invC), ve = FloatVector.broadcast(S, eps);
        int i = 0;
        for (; i <= len - VL; i += VL)
            one.div(FloatVector.fromArray(S, r, ro + i).fma(vi, ve).lanewise(VectorOperators.SQRT)).intoArray(r, ro + i);
        for (; i < len; i++) r[ro + i] = 1f / (float) Math.sqrt(r[ro + i] * invC + eps);
    }

    /** out = u * scale + shift with u = (x - mean) * rstd, or x * rstd when mean is null (BiasFree). */
    private static void normaliseRow(float[] x, int xo, float[] mu, int mo, float[] r, int ro, float scale, float shift,
                                     float[] out, int oo, int len) {
        FloatVector vs = FloatVector.broadcast(S, scale), vh = FloatVector.broadcast(S, shift);
        int i = 0;
        for (; i <= len - VL; i += VL) {
            FloatVector v = FloatVector.fromArray(S, x, xo + i);
            if (mu != null) v = v.sub(FloatVector.fromArray(S, mu, mo + i));
            v.mul(FloatVector.fromArray(S, r, ro + i)).fma(vs, vh).intoArray(out, oo + i);
        }
        for (; i < len; i++) {
            float v = mu == null ? x[xo + i] : x[xo + i] - mu[mo + i];
            out[oo + i] = v * r[ro + i] * scale + shift;
        }
    }

    /**
     * Backward of the modulated channel LayerNorm. With u the normalised input ((x-mu)*r WithBias,
     * x*r BiasFree), y = u*w + b, out = y*k1 + k2 and gu = gy*k1*w:
     * <ul>
     * <li>gk1[n,c] = sum_p gy*y, gk2[n,c] = sum_p gy, gw[c] = sum_{n,p} gy*k1*u, gb[c] = sum_{n,p} gy*k1;</li>
     * <li>WithBias: gx = r*(gu - mean_c(gu) - xhat*mean_c(gu*xhat)), xhat = (x-mu)*r (the usual LayerNorm);</li>
     * <li>BiasFree: x is not centred but r still depends on x through var about the mean, so
     *     gx = r*gu + sum_c(gu*x) * dr/dx = r*(gu - xhat*mean_c(gu*u)), u = x*r.</li>
     * </ul>
     */
    static void layerNormBackward(Tensor x, Tensor weight, Tensor bias, Tensor mod, Tensor mean, Tensor rstd,
                                  Tensor gy, Tensor gx, Tensor gw, Tensor gb, Tensor gmod) {
        Geometry g = Geometry.of("layerNorm backward", x, weight, bias, mod);
        String k = g.kernel;
        KernelArgs.shape(k, "mean", mean, g.n, g.h, g.w);
        KernelArgs.shape(k, "rstd", rstd, g.n, g.h, g.w);
        KernelArgs.shape(k, "gy", gy, x.shape());
        KernelArgs.optionalShape(k, "gx", gx, x.shape());
        KernelArgs.optionalShape(k, "gw", gw, g.c);
        KernelArgs.require(gb == null || bias != null, k, "gb requested for a BiasFree LayerNorm (no bias)");
        KernelArgs.optionalShape(k, "gb", gb, g.c);
        KernelArgs.require(gmod == null || mod != null, k, "gmod requested without a modulation input");
        KernelArgs.optionalShape(k, "gmod", gmod, g.n, 2 * g.c);
        Views v = new Views(x, weight, bias, mod, mean, rstd, gy);
        if (gw != null || gb != null || gmod != null) parameterGradients(g, v, gw, gb, gmod);
        if (gx != null && x.numel() > 0) inputGradient(g, v, gx);
    }

    /** Arrays and offsets of the backward's inputs. */
    private record Views(float[] x, int xo, float[] w, int wo, float[] b, int bo, float[] m, int mo,
                         float[] mu, int muo, float[] r, int ro, float[] gy, int go) {
        Views(Tensor x, Tensor w, Tensor b, Tensor m, Tensor mu, Tensor r, Tensor gy) {
            this(data(x), (int) x.offset(), data(w), (int) w.offset(), b == null ? null : data(b), b == null ? 0 : (int) b.offset(),
                    m == null ? null : data(m), m == null ? 0 : (int) m.offset(), data(mu), (int) mu.offset(),
                    data(r), (int) r.offset(), data(gy), (int) gy.offset());
        }

        float k1(int n, int c, int ch) {
            return m == null ? 1f : m[mo + n * 2 * c + ch];
        }
    }

    private static void parameterGradients(Geometry g, Views v, Tensor gw, Tensor gb, Tensor gmod) {
        int c = g.c, p = g.p;
        boolean withBias = v.b != null;
        // Per (n, c) plane: s1 = sum_p gy*u, s0 = sum_p gy; each plane is contiguous.
        double[] s1 = new double[g.n * c], s0 = new double[g.n * c];
        Parallel.range(g.n * c, Math.max(1, GRAIN / Math.max(1, p)), (from, to) -> {
            for (int plane = from; plane < to; plane++) {
                int n = plane / c;
                planeSums(v, v.xo + plane * p, v.go + plane * p, v.muo + n * p, v.ro + n * p, p, withBias, s1, s0, plane);
            }
        });
        float[] gwa = gw == null ? null : data(gw), gba = gb == null ? null : data(gb), gma = gmod == null ? null : data(gmod);
        for (int ch = 0; ch < c; ch++) {
            double accW = 0, accB = 0;
            for (int n = 0; n < g.n; n++) {
                int i = n * c + ch;
                double k1 = v.k1(n, c, ch);
                accW += k1 * s1[i];
                accB += k1 * s0[i];
                if (gma != null) {
                    int at = (int) gmod.offset() + n * 2 * c;
                    gma[at + ch] = (float) (v.w[v.wo + ch] * s1[i] + (withBias ? v.b[v.bo + ch] * s0[i] : 0));
                    gma[at + c + ch] = (float) s0[i];
                }
            }
            if (gwa != null) gwa[(int) gw.offset() + ch] = (float) accW;
            if (gba != null) gba[(int) gb.offset() + ch] = (float) accB;
        }
    }

    /** s1[i] = sum gy*u and s0[i] = sum gy over one channel plane. */
    private static void planeSums(Views v, int xb, int gb, int mb, int rb, int len, boolean withBias,
                                  double[] s1, double[] s0, int i) {
        float[] x = v.x, gy = v.gy, mu = v.mu, r = v.r;
        double a1 = 0, a0 = 0;
        for (int blk = 0; blk < len; blk += SUM_BLOCK) {
            int e = Math.min(len, blk + SUM_BLOCK), j = blk;
            FloatVector t1 = FloatVector.zero(S), t0 = FloatVector.zero(S);
            for (; j <= e - VL; j += VL) {
                FloatVector u = FloatVector.fromArray(S, x, xb + j);
                if (withBias) u = u.sub(FloatVector.fromArray(S, mu, mb + j));
                u = u.mul(FloatVector.fromArray(S, r, rb + j));
                FloatVector gv = FloatVector.fromArray(S, gy, gb + j);
                t1 = gv.fma(u, t1);
                t0 = t0.add(gv);
            }
            float f1 = Lanes.sum(t1), f0 = Lanes.sum(t0);
            for (; j < e; j++) {
                float u = (withBias ? x[xb + j] - mu[mb + j] : x[xb + j]) * r[rb + j];
                f1 += gy[gb + j] * u;
                f0 += gy[gb + j];
            }
            a1 += f1;
            a0 += f0;
        }
        s1[i] = a1;
        s0[i] = a0;
    }

    private static void inputGradient(Geometry g, Views v, Tensor gx) {
        int c = g.c, p = g.p, blocks = g.pixelBlocks();
        boolean withBias = v.b != null;
        float[] ga = data(gx);
        int gxo = (int) gx.offset();
        Parallel.range(g.n * blocks, Math.max(1, GRAIN / (PIXEL_BLOCK * c)), (from, to) -> {
            // Per-pixel means over C of gu (WithBias only) and of gu*u.
            float[] meanG = new float[PIXEL_BLOCK], meanGu = new float[PIXEL_BLOCK];
            for (int unit = from; unit < to; unit++) {
                int n = unit / blocks, p0 = (unit % blocks) * PIXEL_BLOCK, len = Math.min(PIXEL_BLOCK, p - p0);
                int xb = v.xo + n * c * p + p0, gb = v.go + n * c * p + p0, ob = gxo + n * c * p + p0;
                int mb = v.muo + n * p + p0, rb = v.ro + n * p + p0;
                Arrays.fill(meanG, 0, len, 0f);
                Arrays.fill(meanGu, 0, len, 0f);
                for (int ch = 0; ch < c; ch++) {
                    float kw = v.k1(n, c, ch) * v.w[v.wo + ch];
                    accumulateGu(v, xb + ch * p, gb + ch * p, mb, rb, kw, withBias, meanG, meanGu, len);
                }
                RowKernels.scale(meanG, 0, 1f / c, meanG, 0, len);
                RowKernels.scale(meanGu, 0, 1f / c, meanGu, 0, len);
                for (int ch = 0; ch < c; ch++) {
                    float kw = v.k1(n, c, ch) * v.w[v.wo + ch];
                    gradRow(v, xb + ch * p, gb + ch * p, mb, rb, kw, meanG, meanGu, ga, ob + ch * p, len);
                }
            }
        });
    }

    /** meanG += gu (WithBias), meanGu += gu*u, gu = gy*kw. */
    private static void accumulateGu(Views v, int xb, int gb, int mb, int rb, float kw, boolean withBias,
                                     float[] meanG, float[] meanGu, int len) {
        float[] x = v.x, gy = v.gy, mu = v.mu, r = v.r;
        FloatVector vk = FloatVector.broadcast(S, kw);
        int i = 0;
        for (; i <= len - VL; i += VL) {
            FloatVector gu = FloatVector.fromArray(S, gy, gb + i).mul(vk);
            FloatVector u = FloatVector.fromArray(S, x, xb + i);
            if (withBias) {
                u = u.sub(FloatVector.fromArray(S, mu, mb + i));
                gu.add(FloatVector.fromArray(S, meanG, i)).intoArray(meanG, i);
            }
            u = u.mul(FloatVector.fromArray(S, r, rb + i));
            gu.fma(u, FloatVector.fromArray(S, meanGu, i)).intoArray(meanGu, i);
        }
        for (; i < len; i++) {
            float gu = gy[gb + i] * kw;
            float u = (withBias ? x[xb + i] - mu[mb + i] : x[xb + i]) * r[rb + i];
            if (withBias) meanG[i] += gu;
            meanGu[i] += gu * u;
        }
    }

    /** gx = r * (gy*kw - meanG - xhat*meanGu), xhat = (x - mu)*r (meanG stays 0 for BiasFree). */
    private static void gradRow(Views v, int xb, int gb, int mb, int rb, float kw, float[] meanG, float[] meanGu,
                                float[] gx, int ob, int len) {
        float[] x = v.x, gy = v.gy, mu = v.mu, r = v.r;
        FloatVector vk = FloatVector.broadcast(S, kw);
        int i = 0;
        for (; i <= len - VL; i += VL) {
            FloatVector rv = FloatVector.fromArray(S, r, rb + i);
            FloatVector xhat = FloatVector.fromArray(S, x, xb + i).sub(FloatVector.fromArray(S, mu, mb + i)).mul(rv);
            FloatVector t = FloatVector.fromArray(S, gy, gb + i).mul(vk).sub(FloatVector.fromArray(S, meanG, i));
            t.sub(xhat.mul(FloatVector.fromArray(S, meanGu, i))).mul(rv).intoArray(gx, ob + i);
        }
        for (; i < len; i++) {
            float xhat = (x[xb + i] - mu[mb + i]) * r[rb + i];
            gx[ob + i] = r[rb + i] * (gy[gb + i] * kw - meanG[i] - xhat * meanGu[i]);
        }
    }

    /** Sizes of a channel LayerNorm call, validated once. */
    private record Geometry(String kernel, int n, int c, int h, int w, int p) {
        static Geometry of(String kernel, Tensor x, Tensor weight, Tensor bias, Tensor mod) {
            int[] s = KernelArgs.rank(kernel, "x (N, C, H, W)", x, 4);
            KernelArgs.require(s[1] > 0, kernel, "x has no channels: " + Shapes.str(s));
            KernelArgs.shape(kernel, "weight", weight, s[1]);
            KernelArgs.optionalShape(kernel, "bias", bias, s[1]);
            KernelArgs.optionalShape(kernel, "mod", mod, s[0], 2 * s[1]);
            return new Geometry(kernel, s[0], s[1], s[2], s[3], s[2] * s[3]);
        }

        int pixelBlocks() {
            return (p + PIXEL_BLOCK - 1) / PIXEL_BLOCK;
        }
    }

    // ---------------------------------------------------------------- shared

    /** Length of the last axis (the rows these kernels work on). */
    private static int lastAxis(String kernel, Tensor x) {
        int[] s = x.shape();
        KernelArgs.require(s.length >= 1, kernel, "needs at least one axis, got a scalar");
        return s[s.length - 1];
    }

    /** x's shape with the last axis set to 1. */
    private static int[] rowShape(Tensor x) {
        int[] s = x.shape();
        s[s.length - 1] = 1;
        return s;
    }
}
