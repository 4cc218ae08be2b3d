package diffir.engine.ops;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;

/** Softmax, L2 normalisation, channel LayerNorm (optionally modulated) and transposed channel attention. */
final class Norm {
    private Norm() {}

    static Tensor softmax(Tensor x, boolean log) {
        Tensor out = Tensor.empty(x.device(), x.shape());
        x.backend().softmax(x, log, out);
        return Autograd.record(log ? "log_softmax" : "softmax", out, new Tensor[]{x}, g -> {
            Tensor gx = Tensor.empty(x.device(), x.shape());
            x.backend().softmaxBackward(out, g, log, gx);
            return new Tensor[]{gx};
        });
    }

    static Tensor l2Normalize(Tensor x, float eps) {
        int[] s = x.shape();
        int[] ns = s.clone();
        ns[ns.length - 1] = 1;
        Tensor out = Tensor.empty(x.device(), s);
        Tensor norm = Tensor.empty(x.device(), ns);
        x.backend().l2Normalize(x, eps, out, norm);
        return Autograd.record("l2_normalize", out, new Tensor[]{x}, g -> {
            Tensor gx = Tensor.empty(x.device(), s);
            x.backend().l2NormalizeBackward(x, norm, g, eps, gx);
            return new Tensor[]{gx};
        });
    }

    /** Channel LayerNorm of NCHW x; bias null for BiasFree; mod (N, 2C) null for none. */
    static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, Tensor mod, float eps) {
        int[] s = x.shape();
        if (s.length != 4) throw new IllegalArgumentException("layerNorm needs NCHW, got " + Shapes.str(s));
        int n = s[0], c = s[1];
        if (weight.rank() != 1 || weight.dim(0) != c)
            throw new IllegalArgumentException("layerNorm weight " + Shapes.str(weight.shape()) + " for " + c + " channels");
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != c))
            throw new IllegalArgumentException("layerNorm bias " + Shapes.str(bias.shape()) + " for " + c + " channels");
        if (mod != null && !Shapes.same(mod.shape(), new int[]{n, 2 * c}))
            throw new IllegalArgumentException("modulation " + Shapes.str(mod.shape()) + " should be (" + n + ", " + 2 * c + ")");
        Tensor out = Tensor.empty(x.device(), s);
        Tensor mean = Tensor.empty(x.device(), n, s[2], s[3]);
        Tensor rstd = Tensor.empty(x.device(), n, s[2], s[3]);
        x.backend().layerNorm(x, weight, bias, mod, eps, out, mean, rstd);
        return Autograd.record(mod == null ? "layer_norm" : "modulated_layer_norm", out, new Tensor[]{x, weight, bias, mod}, g -> {
            Tensor gx = Autograd.wants(x) ? Tensor.empty(x.device(), s) : null;
            Tensor gw = Autograd.wants(weight) ? Tensor.empty(x.device(), c) : null;
            Tensor gb = Autograd.wants(bias) ? Tensor.empty(x.device(), c) : null;
            Tensor gm = Autograd.wants(mod) ? Tensor.empty(x.device(), n, 2 * c) : null;
            x.backend().layerNormBackward(x, weight, bias, mod, mean, rstd, g, gx, gw, gb, gm);
            return new Tensor[]{gx, gw, gb, gm};
        });
    }

    static Tensor channelAttention(Tensor qkv, Tensor temperature, int heads) {
        int[] s = qkv.shape();
        if (s.length != 4 || s[1] % 3 != 0 || (s[1] / 3) % heads != 0)
            throw new IllegalArgumentException("channelAttention needs qkv (N, 3C, H, W) with C divisible by " + heads + " heads, got " + Shapes.str(s));
        if (temperature.numel() != heads)
            throw new IllegalArgumentException("temperature " + Shapes.str(temperature.shape()) + " for " + heads + " heads");
        int n = s[0], c = s[1] / 3, ch = c / heads;
        Tensor out = Tensor.empty(qkv.device(), n, c, s[2], s[3]);
        Tensor attn = Tensor.empty(qkv.device(), n, heads, ch, ch);
        Tensor norms = Tensor.empty(qkv.device(), n, 2 * c);
        if (!Autograd.needsGrad(qkv, temperature)) {
            qkv.backend().channelAttention(qkv, temperature, heads, out, attn, norms);
            return out;
        }
        // Saved for the backward where the backend keeps it: Q K^T, which it would otherwise recompute.
        Tensor gramOut = Tensor.empty(qkv.device(), n, heads, ch, ch);
        Tensor gram = qkv.backend().channelAttention(qkv, temperature, heads, out, attn, norms, gramOut) ? gramOut : null;
        return Autograd.record("channel_attention", out, new Tensor[]{qkv, temperature}, g -> {
            Tensor gq = Autograd.wants(qkv) ? Tensor.empty(qkv.device(), s) : null;
            Tensor gt = Autograd.wants(temperature) ? Tensor.empty(qkv.device(), temperature.shape()) : null;
            qkv.backend().channelAttentionBackward(qkv, temperature, heads, attn, norms, gram, g, gq, gt);
            return new Tensor[]{gq, gt};
        });
    }
}
