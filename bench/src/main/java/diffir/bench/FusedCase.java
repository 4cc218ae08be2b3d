package diffir.bench;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.ops.Ops;

import java.util.List;
import java.util.SplittableRandom;

/**
 * One of DiffIR's fused ops with seeded random inputs on a device, and the ways {@link FusedBench} and
 * {@link FusedBackwardBench} run it: {@code fused} (the engine's kernel through Ops), {@code unfused} (the same
 * math composed from other Ops) and {@code loop} ({@link FusedLoops}: plain Java, CPU and forward only).
 * <ul>
 *   <li>{@code layernorm}: modulated WithBias channel LayerNorm, {@code y = ((x-mu)*rstd*w + b)*k1 + k2}; leaves x, w, b, mod;</li>
 *   <li>{@code gated}: GDFN's gated depthwise 3x3 conv, {@code gelu(z1) * z2} with z = dwconv(x), 2C channels in; leaves x, w;</li>
 *   <li>{@code attention}: MDTA's transposed attention over qkv (3C channels), heads of 48 channels; leaves qkv, temperature.</li>
 * </ul>
 * {@code shape} is "C x S": C channels (the op's own width: LayerNorm and attention C, gated conv 2*hidden) on an
 * S x S plane, one image. With gradients on, every leaf requires grad and {@link #backward} back-propagates a fixed
 * random upstream gradient of the output's shape.
 */
final class FusedCase {
    static final List<String> OPS = List.of("layernorm", "gated", "attention");

    final String op;
    final Device device;
    final int c, side, heads;
    private final Tensor[] leaves;
    private final Tensor upstream;
    private float[][] host;

    FusedCase(String op, String shape, Device device, boolean gradients) {
        if (!OPS.contains(op)) throw new IllegalArgumentException("unknown op '" + op + "': one of " + OPS);
        String[] cs = shape.split("x");
        if (cs.length != 2 || !cs[0].matches("\\d+") || !cs[1].matches("\\d+") || Integer.parseInt(cs[0]) < 1 || Integer.parseInt(cs[1]) < 1)
            throw new IllegalArgumentException("shape '" + shape + "' should be CxS (channels x plane side), e.g. 48x64");
        this.op = op;
        this.device = device;
        c = Integer.parseInt(cs[0]);
        side = Integer.parseInt(cs[1]);
        heads = Math.max(1, c / 48);
        SplittableRandom rng = new SplittableRandom(7);
        leaves = switch (op) {
            case "layernorm" -> new Tensor[]{Tensor.randn(device, rng, 1, c, side, side), Tensor.rand(device, rng, 0.5f, 1.5f, c),
                    Tensor.randn(device, rng, c), Tensor.randn(device, rng, 1, 2 * c)};
            case "gated" -> {
                if (c % 2 != 0) throw new IllegalArgumentException("gated takes 2 x hidden channels: C must be even, got " + shape);
                yield new Tensor[]{Tensor.randn(device, rng, 1, c, side, side), Tensor.rand(device, rng, -0.3f, 0.3f, c, 1, 3, 3)};
            }
            default -> {
                if (c % heads != 0) throw new IllegalArgumentException("attention: C = " + c + " is not a whole number of heads of 48");
                yield new Tensor[]{Tensor.randn(device, rng, 1, 3 * c, side, side), Tensor.rand(device, rng, 0.5f, 2f, heads, 1, 1)};
            }
        };
        if (gradients) {
            for (Tensor t : leaves) t.requiresGrad(true);
            upstream = Tensor.randn(device, rng, 1, op.equals("gated") ? c / 2 : c, side, side);
        } else {
            upstream = null;
        }
    }

    /** The op's inputs and weights, the tensors whose gradients {@link #backward} gives, in that order. */
    Tensor[] leaves() {
        return leaves.clone();
    }

    /** The forward through Ops: impl "fused" or "unfused". Records a graph when gradients are on and recording is. */
    Tensor forward(String impl) {
        return switch (impl) {
            case "fused" -> fused();
            case "unfused" -> unfused();
            default -> throw new IllegalArgumentException("unknown impl '" + impl + "' for Ops: fused or unfused");
        };
    }

    /**
     * The recorded forward of impl, then the backward through autograd from the fixed upstream gradient; returns
     * the leaves' gradients (accumulated into {@link Tensor#grad()}: call {@link #zeroGrads} before the next).
     */
    Tensor[] backward(String impl) {
        if (upstream == null) throw new IllegalStateException("this case was made without gradients");
        forward(impl).backward(upstream);
        Tensor[] g = new Tensor[leaves.length];
        for (int i = 0; i < g.length; i++) g[i] = leaves[i].grad();
        return g;
    }

    /** Drops the leaves' gradients (their memory goes back to the backend's allocator). */
    void zeroGrads() {
        for (Tensor t : leaves) t.zeroGrad();
    }

    /** The plain-loop forward over host copies of the inputs (made once, on the first call). CPU only. */
    float[] loop() {
        if (!device.isCpu()) throw new IllegalStateException("the plain loop runs on the CPU, not on " + device);
        if (host == null) {
            host = new float[leaves.length][];
            for (int i = 0; i < leaves.length; i++) host[i] = leaves[i].toFloatArray();
        }
        return switch (op) {
            case "layernorm" -> FusedLoops.layerNorm(host[0], host[1], host[2], host[3], c, side * side);
            case "gated" -> FusedLoops.gatedDwConv(host[0], host[1], c / 2, side, side);
            default -> FusedLoops.attention(host[0], host[1], c, heads, side * side);
        };
    }

    private Tensor fused() {
        return switch (op) {
            case "layernorm" -> Ops.modulatedLayerNorm(leaves[0], leaves[1], leaves[2], leaves[3], 1e-5f);
            case "gated" -> Ops.gatedDwConv(leaves[0], leaves[1], null);
            default -> Ops.channelAttention(leaves[0], leaves[1], heads);
        };
    }

    private Tensor unfused() {
        switch (op) {
            case "layernorm" -> {
                Tensor x = leaves[0], w = leaves[1], b = leaves[2], mod = leaves[3];
                Tensor mu = Ops.mean(x, true, 1), d = Ops.sub(x, mu);
                Tensor var = Ops.mean(Ops.mul(d, d), true, 1);
                Tensor y = Ops.div(d, Ops.sqrt(Ops.addScalar(var, 1e-5f)));
                y = Ops.add(Ops.mul(y, Ops.reshape(w, 1, c, 1, 1)), Ops.reshape(b, 1, c, 1, 1));
                Tensor k1 = Ops.reshape(Ops.narrow(mod, 1, 0, c), 1, c, 1, 1), k2 = Ops.reshape(Ops.narrow(mod, 1, c, c), 1, c, 1, 1);
                return Ops.add(Ops.mul(y, k1), k2);
            }
            case "gated" -> {
                List<Tensor> z = Ops.chunk(Ops.conv2d(leaves[0], leaves[1], null, 1, 1, c), 2, 1);
                return Ops.mul(Ops.gelu(z.get(0)), z.get(1));
            }
            default -> {
                Tensor qkv = leaves[0], temperature = leaves[1];
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
}
