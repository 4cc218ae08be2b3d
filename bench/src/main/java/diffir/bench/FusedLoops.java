package diffir.bench;

/**
 * FusedBench's {@code loop} implementation: the ops as plain single-threaded loops over float arrays (one image,
 * NCHW), the obvious implementation the fused kernels are measured against. Forward only.
 */
final class FusedLoops {
    private FusedLoops() {}

    static float[] layerNorm(float[] x, float[] w, float[] b, float[] mod, int c, int p) {
        float[] out = new float[c * p];
        for (int i = 0; i < p; i++) {
            float mean = 0;
            for (int ch = 0; ch < c; ch++) mean += x[ch * p + i];
            mean /= c;
            float var = 0;
            for (int ch = 0; ch < c; ch++) {
                float d = x[ch * p + i] - mean;
                var += d * d;
            }
            float rstd = (float) (1 / Math.sqrt(var / c + 1e-5f));
            for (int ch = 0; ch < c; ch++)
                out[ch * p + i] = ((x[ch * p + i] - mean) * rstd * w[ch] + b[ch]) * mod[ch] + mod[c + ch];
        }
        return out;
    }

    static float[] gatedDwConv(float[] x, float[] w, int hd, int h, int wd) {
        float[] out = new float[hd * h * wd];
        for (int ch = 0; ch < hd; ch++)
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < wd; xx++) {
                    float z1 = dw(x, w, ch, h, wd, y, xx), z2 = dw(x, w, hd + ch, h, wd, y, xx);
                    float gelu = (float) (0.5 * z1 * (1 + erf(z1 / Math.sqrt(2))));
                    out[(ch * h + y) * wd + xx] = gelu * z2;
                }
        return out;
    }

    private static float dw(float[] x, float[] w, int ch, int h, int wd, int y, int xx) {
        float s = 0;
        for (int r = 0; r < 3; r++)
            for (int t = 0; t < 3; t++) {
                int iy = y + r - 1, ix = xx + t - 1;
                if (iy >= 0 && iy < h && ix >= 0 && ix < wd) s += w[ch * 9 + r * 3 + t] * x[(ch * h + iy) * wd + ix];
            }
        return s;
    }

    /** erf by Abramowitz and Stegun 7.1.26 (enough for timing). */
    private static double erf(double z) {
        double t = 1 / (1 + 0.3275911 * Math.abs(z));
        double y = 1 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
        return z >= 0 ? y : -y;
    }

    static float[] attention(float[] qkv, float[] temp, int c, int heads, int p) {
        int ch = c / heads;
        float[] out = new float[c * p];
        float[][] a = new float[ch][ch];
        for (int h = 0; h < heads; h++) {
            int q0 = h * ch * p, k0 = (c + h * ch) * p, v0 = (2 * c + h * ch) * p;
            float[] nq = new float[ch], nk = new float[ch];
            for (int i = 0; i < ch; i++) {
                float sq = 0, sk = 0;
                for (int j = 0; j < p; j++) {
                    sq += qkv[q0 + i * p + j] * qkv[q0 + i * p + j];
                    sk += qkv[k0 + i * p + j] * qkv[k0 + i * p + j];
                }
                nq[i] = (float) Math.max(Math.sqrt(sq), 1e-12);
                nk[i] = (float) Math.max(Math.sqrt(sk), 1e-12);
            }
            for (int i = 0; i < ch; i++) {
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < ch; j++) {
                    float s = 0;
                    for (int t = 0; t < p; t++) s += qkv[q0 + i * p + t] * qkv[k0 + j * p + t];
                    a[i][j] = s / (nq[i] * nk[j]) * temp[h];
                    max = Math.max(max, a[i][j]);
                }
                float z = 0;
                for (int j = 0; j < ch; j++) z += a[i][j] = (float) Math.exp(a[i][j] - max);
                for (int j = 0; j < ch; j++) a[i][j] /= z;
            }
            for (int i = 0; i < ch; i++)
                for (int t = 0; t < p; t++) {
                    float s = 0;
                    for (int j = 0; j < ch; j++) s += a[i][j] * qkv[v0 + j * p + t];
                    out[(h * ch + i) * p + t] = s;
                }
        }
        return out;
    }
}
