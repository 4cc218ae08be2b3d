package diffir.engine.nn;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.ops.Ops;

/**
 * DiffIR's channel LayerNorm of NCHW tensors: per pixel over channels, biased variance, eps 1e-5.
 * WithBias: {@code (x-mu)/sqrt(var+eps)*w + b}; BiasFree: {@code x/sqrt(var+eps)*w}.
 *
 * <p>As in the reference, the parameters sit in a child named {@code body}, so the state-dict keys are
 * {@code body.weight} and (WithBias only) {@code body.bias}; weight starts at 1, bias at 0.
 */
public final class LayerNorm extends Module implements Layer {
    public static final float EPS = 1e-5f;

    /** The two variants; the reference reads them from {@code LayerNorm_type} in its options. */
    public enum Type {
        WITH_BIAS, BIAS_FREE;

        /** The reference's rule: "BiasFree" selects BiasFree, any other value WithBias. */
        public static Type fromConfig(String name) {
            return "BiasFree".equals(name) ? BIAS_FREE : WITH_BIAS;
        }
    }

    private static final class Body extends Module {
        final Tensor weight, bias;

        Body(Init init, int channels, boolean withBias) {
            weight = param("weight", init.ones(channels));
            bias = withBias ? param("bias", init.zeros(channels)) : null;
        }
    }

    private final int channels;
    private final Type type;
    private final Body body;

    public LayerNorm(Init init, int channels, Type type) {
        if (channels <= 0) throw new IllegalArgumentException("LayerNorm needs channels > 0, got " + channels);
        this.channels = channels;
        this.type = type;
        this.body = child("body", new Body(init, channels, type == Type.WITH_BIAS));
    }

    @Override
    public Tensor forward(Tensor x) {
        checkInput(x);
        return Ops.layerNorm(x, body.weight, body.bias, EPS);
    }

    /**
     * LayerNorm followed by DiffIR's dynamic modulation {@code y*k1 + k2}, fused: mod is (N, 2C) with
     * k1 = mod[:, :C] and k2 = mod[:, C:].
     */
    public Tensor forward(Tensor x, Tensor mod) {
        checkInput(x);
        return Ops.modulatedLayerNorm(x, body.weight, body.bias, mod, EPS);
    }

    private void checkInput(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != channels)
            throw new IllegalArgumentException("LayerNorm(" + channels + ") needs input (N, " + channels + ", H, W), got " + Shapes.str(x.shape()));
    }

    public Tensor weight() { return body.weight; }

    /** Null for BiasFree. */
    public Tensor bias() { return body.bias; }

    public Type type() { return type; }
    public int channels() { return channels; }
}
