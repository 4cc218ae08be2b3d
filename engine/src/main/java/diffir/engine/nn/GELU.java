package diffir.engine.nn;

import diffir.engine.Tensor;
import diffir.engine.ops.Ops;

/** Stateless exact (erf) {@code nn.GELU()}; a module so that it takes an index in a {@link Sequential}. */
public final class GELU extends Module implements Layer {
    @Override
    public Tensor forward(Tensor x) {
        return Ops.gelu(x);
    }
}
