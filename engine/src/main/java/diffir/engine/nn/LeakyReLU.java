package diffir.engine.nn;

import diffir.engine.Tensor;
import diffir.engine.ops.Ops;

/** Stateless {@code nn.LeakyReLU(slope)}; a module so that it takes an index in a {@link Sequential}. */
public final class LeakyReLU extends Module implements Layer {
    private final float slope;

    public LeakyReLU(float slope) {
        this.slope = slope;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Ops.leakyRelu(x, slope);
    }

    public float slope() { return slope; }
}
