package diffir.engine.nn;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.ops.Ops;

/**
 * PyTorch's {@code nn.Linear}: {@code weight} (out, in) and optional {@code bias} (out), applied to the
 * last axis; PyTorch's default initialisation, kaiming_uniform_(a=sqrt(5)) for the weight and
 * U(+-1/sqrt(in)) for the bias.
 */
public final class Linear extends Module implements Layer {
    private final int inFeatures, outFeatures;
    private final Tensor weight;
    private final Tensor bias;

    public Linear(Init init, int inFeatures, int outFeatures, boolean bias) {
        if (inFeatures <= 0 || outFeatures <= 0)
            throw new IllegalArgumentException("Linear(" + inFeatures + ", " + outFeatures + "): sizes must be positive");
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.weight = param("weight", init.kaimingUniform(inFeatures, Math.sqrt(5), outFeatures, inFeatures));
        this.bias = bias ? param("bias", init.fanInUniform(inFeatures, outFeatures)) : null;
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.rank() < 1 || x.dim(-1) != inFeatures)
            throw new IllegalArgumentException("Linear(" + inFeatures + " -> " + outFeatures + ") needs input [..., "
                    + inFeatures + "], got " + Shapes.str(x.shape()));
        return Ops.linear(x, weight, bias);
    }

    public Tensor weight() { return weight; }

    /** Null when built without bias. */
    public Tensor bias() { return bias; }

    public int inFeatures() { return inFeatures; }
    public int outFeatures() { return outFeatures; }
}
