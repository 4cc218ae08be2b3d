package diffir.kernels;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.ops.Ops;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * A small stand-in for DIRformer built from Ops, to check a whole forward and backward pass on the
 * GPU against the CPU: 3x3 conv in, a modulated LayerNorm, MDTA-style channel attention, a BiasFree
 * LayerNorm, a GDFN-style gated depthwise feed-forward, a pixel-unshuffle down and pixel-shuffle up,
 * a 3x3 conv out with the input added, and an L1 loss. With {@code fused} the LayerNorms, attention
 * and gated convolution are the fused ops; without, they are composed from elementwise ops,
 * reductions, l2Normalize, matmul and softmax.
 */
final class TinyDiffIR {
    private TinyDiffIR() {}

    static final int C = 8, HIDDEN = 10;

    /** Parameters on the CPU, by name. */
    static Map<String, Tensor> parameters(SplittableRandom rng) {
        Map<String, Tensor> p = new LinkedHashMap<>();
        p.put("in.w", scaled(rng, 0.3f, C, 3, 3, 3));
        p.put("in.b", scaled(rng, 0.1f, C));
        p.put("mod.w", scaled(rng, 0.3f, 2 * C, 8));
        p.put("ln1.w", Ops.addScalar(scaled(rng, 0.1f, C), 1f));
        p.put("ln1.b", scaled(rng, 0.1f, C));
        p.put("qkv.w", scaled(rng, 0.3f, 3 * C, C, 1, 1));
        p.put("qkv.dw", scaled(rng, 0.3f, 3 * C, 1, 3, 3));
        p.put("temperature", Ops.addScalar(scaled(rng, 0.1f, 1), 1f));
        p.put("proj.w", scaled(rng, 0.3f, C, C, 1, 1));
        p.put("ln2.w", Ops.addScalar(scaled(rng, 0.1f, C), 1f));
        p.put("ffn.in", scaled(rng, 0.3f, 2 * HIDDEN, C, 1, 1));
        p.put("ffn.dw", scaled(rng, 0.3f, 2 * HIDDEN, 1, 3, 3));
        p.put("ffn.out", scaled(rng, 0.3f, C, HIDDEN, 1, 1));
        p.put("down.w", scaled(rng, 0.2f, C / 2, C, 3, 3));
        p.put("up.w", scaled(rng, 0.2f, 4 * C, 2 * C, 3, 3));
        p.put("out.w", scaled(rng, 0.2f, 3, C, 3, 3));
        return p;
    }

    private static Tensor scaled(SplittableRandom rng, float s, int... shape) {
        return Ops.mulScalar(Tensor.randn(Device.CPU, rng, shape), s);
    }

    /** L1 loss of the network on x (N, 3, H, W) with prior z (N, 8) against target. */
    static Tensor loss(Map<String, Tensor> p, Tensor x, Tensor z, Tensor target, boolean fused) {
        int n = x.dim(0);
        Tensor f = Ops.conv2d(x, p.get("in.w"), p.get("in.b"), 1, 1, 1);
        Tensor mod = Ops.linear(z, p.get("mod.w"), null);
        Tensor h = fused ? Ops.modulatedLayerNorm(f, p.get("ln1.w"), p.get("ln1.b"), mod, 1e-5f)
                : modulate(layerNorm(f, p.get("ln1.w"), p.get("ln1.b")), mod, n);
        Tensor qkv = Ops.conv2d(Ops.conv2d(h, p.get("qkv.w"), null, 1, 0, 1), p.get("qkv.dw"), null, 1, 1, 3 * C);
        Tensor a = fused ? Ops.channelAttention(qkv, p.get("temperature"), 1) : attention(qkv, p.get("temperature"));
        f = Ops.add(f, Ops.conv2d(a, p.get("proj.w"), null, 1, 0, 1));
        Tensor h2 = fused ? Ops.layerNorm(f, p.get("ln2.w"), null, 1e-5f) : layerNorm(f, p.get("ln2.w"), null);
        Tensor g0 = Ops.conv2d(h2, p.get("ffn.in"), null, 1, 0, 1);
        Tensor g = fused ? Ops.gatedDwConv(g0, p.get("ffn.dw"), null) : gated(g0, p.get("ffn.dw"));
        f = Ops.add(f, Ops.conv2d(g, p.get("ffn.out"), null, 1, 0, 1));
        Tensor d = Ops.pixelUnshuffle(Ops.conv2d(f, p.get("down.w"), null, 1, 1, 1), 2);
        Tensor u = Ops.pixelShuffle(Ops.conv2d(d, p.get("up.w"), null, 1, 1, 1), 2);
        Tensor out = Ops.add(Ops.conv2d(u, p.get("out.w"), null, 1, 1, 1), x);
        return Ops.l1Loss(out, target);
    }

    /** Channel LayerNorm from primitives: WithBias centres and adds b; BiasFree (b null) scales x itself. */
    private static Tensor layerNorm(Tensor x, Tensor w, Tensor b) {
        int c = x.dim(1);
        Tensor mu = Ops.mean(x, true, 1);
        Tensor xc = Ops.sub(x, mu);
        Tensor var = Ops.mean(Ops.square(xc), true, 1);
        Tensor rstd = Ops.rdivScalar(Ops.sqrt(Ops.addScalar(var, 1e-5f)), 1f);
        Tensor y = Ops.mul(b == null ? x : xc, rstd);
        y = Ops.mul(y, Ops.reshape(w, 1, c, 1, 1));
        return b == null ? y : Ops.add(y, Ops.reshape(b, 1, c, 1, 1));
    }

    private static Tensor modulate(Tensor y, Tensor mod, int n) {
        List<Tensor> k = Ops.chunk(mod, 2, 1);
        return Ops.add(Ops.mul(y, Ops.reshape(k.get(0), n, C, 1, 1)), Ops.reshape(k.get(1), n, C, 1, 1));
    }

    /** One-head transposed attention from primitives. */
    private static Tensor attention(Tensor qkv, Tensor temperature) {
        int n = qkv.dim(0), h = qkv.dim(2), w = qkv.dim(3);
        List<Tensor> parts = Ops.chunk(qkv, 3, 1);
        Tensor q = Ops.l2Normalize(Ops.reshape(parts.get(0), n, C, h * w), 1e-12f);
        Tensor k = Ops.l2Normalize(Ops.reshape(parts.get(1), n, C, h * w), 1e-12f);
        Tensor v = Ops.reshape(parts.get(2), n, C, h * w);
        Tensor attn = Ops.softmax(Ops.mul(Ops.matmul(q, k, false, true), temperature));
        return Ops.reshape(Ops.matmul(attn, v), n, C, h, w);
    }

    private static Tensor gated(Tensor x, Tensor dw) {
        Tensor y = Ops.conv2d(x, dw, null, 1, 1, x.dim(1));
        List<Tensor> ab = Ops.chunk(y, 2, 1);
        return Ops.mul(Ops.gelu(ab.get(0)), ab.get(1));
    }
}
