package diffir.engine.testing;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.engine.ops.Ops;

import java.util.SplittableRandom;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Finite-difference gradient checks for CPU ops. The scalar probed is {@code sum(f(inputs) * r)} with a
 * fixed random r, so every output element contributes with its own weight. Central differences in
 * float32 need a coarse step; the comparison is relative to the gradient's overall scale.
 */
public final class GradCheck {
    private GradCheck() {}

    /** Checks every input that requires grad; probes at most maxPerInput elements of each. */
    public static void check(Function<Tensor[], Tensor> f, Tensor[] inputs, float step, double tol, int maxPerInput) {
        SplittableRandom rng = new SplittableRandom(1234);
        Tensor out0 = f.apply(inputs);
        Tensor r = Tensor.randn(Device.CPU, rng, out0.shape());
        for (Tensor t : inputs) if (t != null && t.requiresGrad()) t.zeroGrad();
        Tensor loss = Ops.sum(Ops.mul(f.apply(inputs), r));
        loss.backward();
        for (int k = 0; k < inputs.length; k++) {
            Tensor t = inputs[k];
            if (t == null || !t.requiresGrad()) continue;
            if (t.grad() == null) fail("input " + k + " got no gradient");
            float[] analytic = t.grad().toFloatArray();
            float[] values = t.toFloatArray();
            int n = values.length;
            int probes = Math.min(n, maxPerInput);
            double maxErr = 0, scale = 1e-6;
            for (float a : analytic) scale = Math.max(scale, Math.abs(a));
            for (int p = 0; p < probes; p++) {
                int i = probes == n ? p : rng.nextInt(n);
                float orig = values[i];
                double plus = probe(f, inputs, k, values, i, orig + step, r);
                double minus = probe(f, inputs, k, values, i, orig - step, r);
                values[i] = orig;
                t.copyFrom(Tensor.of(values, t.shape()));
                double numeric = (plus - minus) / (2 * step);
                maxErr = Math.max(maxErr, Math.abs(numeric - analytic[i]));
            }
            assertTrue(maxErr / scale <= tol, "input " + k + ": finite-difference error " + maxErr + " vs gradient scale " + scale);
        }
    }

    public static void check(Function<Tensor[], Tensor> f, Tensor... inputs) {
        check(f, inputs, 1e-2f, 2e-2, 64);
    }

    private static double probe(Function<Tensor[], Tensor> f, Tensor[] inputs, int k, float[] values, int i, float v, Tensor r) {
        values[i] = v;
        inputs[k].copyFrom(Tensor.of(values, inputs[k].shape()));
        try (var s = Autograd.noGrad()) {
            float[] out = f.apply(inputs).toFloatArray();
            float[] w = r.toFloatArray();
            double acc = 0;
            for (int j = 0; j < out.length; j++) acc += (double) out[j] * w[j];
            return acc;
        }
    }

    /** A CPU tensor of standard normals that requires grad. */
    public static Tensor param(long seed, int... shape) {
        return Tensor.randn(Device.CPU, new SplittableRandom(seed), shape).requiresGrad(true);
    }
}
