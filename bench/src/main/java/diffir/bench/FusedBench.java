package diffir.bench;

import diffir.engine.Device;
import diffir.engine.MemoryScope;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.engine.ops.Ops;
import org.openjdk.jmh.annotations.*;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * DiffIR's fused CPU ops, each three ways: {@code fused} (the engine's kernel through Ops), {@code unfused}
 * (the same math composed from other Ops, as a model without the fused kernel would run it), and {@code loop}
 * (a plain scalar Java loop nest, the obvious single-threaded implementation). Forward only, no graph, one
 * image; time per call.
 * <ul>
 *   <li>{@code layernorm}: modulated WithBias channel LayerNorm, {@code y = ((x-mu)*rstd*w + b)*k1 + k2};</li>
 *   <li>{@code gated}: GDFN's gated depthwise 3x3 conv, {@code gelu(z1) * z2} with z = dwconv(x), 2C channels in;</li>
 *   <li>{@code attention}: MDTA's transposed attention over qkv (3C channels), heads of 48 channels.</li>
 * </ul>
 * {@code shape} is "C x S": C channels (the op's own width: LayerNorm and attention C, gated conv 2*hidden)
 * on an S x S plane. 48x256 and 48x64 are DIRformer level 1 at 256 and 64 px; 384x8 its latent at 64 px.
 *
 * <p>{@code java -jar bench/target/benchmarks.jar FusedBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC", "-Xmn64m", "-Xmx3g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 4, time = 1)
public class FusedBench {
    @Param({"layernorm", "gated", "attention"})
    public String op;

    @Param({"fused", "unfused", "loop"})
    public String impl;

    @Param({"48x64", "48x256", "384x8"})
    public String shape;

    private Tensor x, w, b, mod, qkv, temperature;
    private int c, side, heads;

    @Setup
    public void setup() {
        String[] cs = shape.split("x");
        c = Integer.parseInt(cs[0]);
        side = Integer.parseInt(cs[1]);
        SplittableRandom rng = new SplittableRandom(7);
        switch (op) {
            case "layernorm" -> {
                x = Tensor.randn(Device.CPU, rng, 1, c, side, side);
                w = Tensor.rand(Device.CPU, rng, 0.5f, 1.5f, c);
                b = Tensor.randn(Device.CPU, rng, c);
                mod = Tensor.randn(Device.CPU, rng, 1, 2 * c);
            }
            case "gated" -> {
                x = Tensor.randn(Device.CPU, rng, 1, c, side, side);
                w = Tensor.rand(Device.CPU, rng, -0.3f, 0.3f, c, 1, 3, 3);
            }
            case "attention" -> {
                heads = Math.max(1, c / 48);
                qkv = Tensor.randn(Device.CPU, rng, 1, 3 * c, side, side);
                temperature = Tensor.rand(Device.CPU, rng, 0.5f, 2f, heads, 1, 1);
            }
            default -> throw new IllegalArgumentException("unknown op " + op);
        }
    }

    @Benchmark
    public float run() {
        try (var g = Autograd.noGrad(); MemoryScope s = MemoryScope.open()) {
            return switch (impl) {
                case "fused" -> fused().storage().size();
                case "unfused" -> unfused().storage().size();
                case "loop" -> loop()[0];
                default -> throw new IllegalArgumentException("unknown impl " + impl);
            };
        }
    }

    private Tensor fused() {
        return switch (op) {
            case "layernorm" -> Ops.modulatedLayerNorm(x, w, b, mod, 1e-5f);
            case "gated" -> Ops.gatedDwConv(x, w, null);
            default -> Ops.channelAttention(qkv, temperature, heads);
        };
    }

    private Tensor unfused() {
        switch (op) {
            case "layernorm" -> {
                Tensor mu = Ops.mean(x, true, 1), d = Ops.sub(x, mu);
                Tensor var = Ops.mean(Ops.mul(d, d), true, 1);
                Tensor y = Ops.div(d, Ops.sqrt(Ops.addScalar(var, 1e-5f)));
                y = Ops.add(Ops.mul(y, Ops.reshape(w, 1, c, 1, 1)), Ops.reshape(b, 1, c, 1, 1));
                Tensor k1 = Ops.reshape(Ops.narrow(mod, 1, 0, c), 1, c, 1, 1), k2 = Ops.reshape(Ops.narrow(mod, 1, c, c), 1, c, 1, 1);
                return Ops.add(Ops.mul(y, k1), k2);
            }
            case "gated" -> {
                List<Tensor> z = Ops.chunk(Ops.conv2d(x, w, null, 1, 1, c), 2, 1);
                return Ops.mul(Ops.gelu(z.get(0)), z.get(1));
            }
            default -> {
                int ch = c / heads, p = side * side;
                Tensor q = Ops.reshape(Ops.narrow(qkv, 1, 0, c), 1, heads, ch, p);
                Tensor k = Ops.reshape(Ops.narrow(qkv, 1, c, c), 1, heads, ch, p);
                Tensor v = Ops.reshape(Ops.narrow(qkv, 1, 2 * c, c), 1, heads, ch, p);
                q = Ops.l2Normalize(q, 1e-12f);
                k = Ops.l2Normalize(k, 1e-12f);
                Tensor a = Ops.softmax(Ops.mul(Ops.matmul(q, k, false, true), temperature));
                return Ops.reshape(Ops.matmul(a, v), 1, c, side, side);
            }
        }
    }

    private float[] loop() {
        return switch (op) {
            case "layernorm" -> Loops.layerNorm(x.toFloatArray(), w.toFloatArray(), b.toFloatArray(), mod.toFloatArray(), c, side * side);
            case "gated" -> Loops.gatedDwConv(x.toFloatArray(), w.toFloatArray(), c / 2, side, side);
            default -> Loops.attention(qkv.toFloatArray(), temperature.toFloatArray(), c, heads, side * side);
        };
    }

    /** The ops as plain single-threaded loops over float arrays (one image, NCHW). */
    static final class Loops {
        private Loops() {}

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
}
