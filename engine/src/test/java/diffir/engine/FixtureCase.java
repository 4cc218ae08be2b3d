package diffir.engine;

import diffir.engine.testing.Assert;
import diffir.engine.testing.Fixtures;

import java.util.Map;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Runs one case of a gen_norm_fused.py fixture: inputs {@code <prefix><name>}, output {@code <prefix>y},
 * upstream gradient {@code <prefix>gy} and input gradients {@code <prefix>g<name>}. Checks the forward
 * at 1e-5 and every stored input gradient at 1e-4 (relative error).
 */
final class FixtureCase {
    private FixtureCase() {}

    static final double FORWARD_TOL = 1e-5, BACKWARD_TOL = 1e-4;

    static void check(Map<String, Tensor> f, String prefix, Function<Tensor[], Tensor> op, String... names) {
        Tensor[] in = new Tensor[names.length];
        for (int i = 0; i < names.length; i++) in[i] = Fixtures.get(f, prefix + names[i]).requiresGrad(true);
        Tensor y = op.apply(in);
        Assert.close(y, Fixtures.get(f, prefix + "y"), FORWARD_TOL, prefix + "y");
        y.backward(Fixtures.get(f, prefix + "gy"));
        for (int i = 0; i < names.length; i++) {
            Tensor ref = f.get(prefix + "g" + names[i]);
            if (ref == null) continue;
            assertNotNull(in[i].grad(), prefix + names[i] + " got no gradient");
            Assert.close(in[i].grad(), ref, BACKWARD_TOL, prefix + "g" + names[i]);
        }
    }
}
