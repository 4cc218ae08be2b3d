package diffir.engine;

import diffir.engine.testing.Assert;

import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * "Fused equals unfused": runs a fused op and its composition from other Ops on copies of the same
 * inputs, back-propagates the same random upstream gradient through both, and compares the outputs
 * (1e-5) and every input gradient (1e-4).
 */
final class Equivalence {
    private Equivalence() {}

    static void check(String what, Function<Tensor[], Tensor> fused, Function<Tensor[], Tensor> unfused, Tensor... inputs) {
        Tensor[] a = copies(inputs), b = copies(inputs);
        Tensor ya = fused.apply(a), yb = unfused.apply(b);
        Assert.close(ya, yb, 1e-5, what + " forward");
        Tensor gy = Tensor.randn(Device.CPU, new SplittableRandom(99), ya.shape());
        ya.backward(gy);
        yb.backward(gy);
        for (int i = 0; i < inputs.length; i++)
            Assert.close(a[i].grad(), b[i].grad(), 1e-4, what + " gradient of input " + i);
    }

    private static Tensor[] copies(Tensor[] in) {
        Tensor[] out = new Tensor[in.length];
        for (int i = 0; i < in.length; i++) out[i] = Tensor.of(in[i].toFloatArray(), in[i].shape()).requiresGrad(true);
        return out;
    }
}
