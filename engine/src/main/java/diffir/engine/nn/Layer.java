package diffir.engine.nn;

import diffir.engine.Tensor;

/** A layer with one input and one output: what {@link Sequential} chains. */
@FunctionalInterface
public interface Layer {
    Tensor forward(Tensor x);
}
