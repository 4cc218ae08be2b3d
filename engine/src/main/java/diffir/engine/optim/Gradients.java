package diffir.engine.optim;

import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.engine.backend.ScalarOp;
import diffir.engine.ops.Ops;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/** Whole-model gradient utilities: norm clipping and the non-finite check behind training's NaN stop. */
public final class Gradients {
    private Gradients() {}

    /**
     * PyTorch's {@code clip_grad_norm_(params, maxNorm)}: the 2-norm over all gradients together (null
     * ones skipped), then every gradient scaled by min(1, maxNorm / (norm + 1e-6)). Returns the norm
     * before clipping (0 when no parameter has a gradient). One host read per call.
     */
    public static double clipGradNorm(Collection<Tensor> params, double maxNorm) {
        if (!(maxNorm > 0)) throw new IllegalArgumentException("max norm must be positive, got " + maxNorm);
        List<Tensor> grads = grads(params);
        if (grads.isEmpty()) return 0;
        float norm;
        try (var s = Autograd.noGrad()) {
            double sumSq = 0;
            for (float v : perGradient(grads, g -> Ops.sum(Ops.square(g)))) sumSq += v;
            norm = (float) Math.sqrt(sumSq);
        }
        float coef = (float) maxNorm / (norm + 1e-6f);
        if (coef < 1f || Float.isNaN(coef)) {
            for (Tensor g : grads) g.backend().scalar(ScalarOp.MUL, g, coef, g);
        }
        return norm;
    }

    /**
     * The name of the first parameter (in map order) whose gradient holds a NaN or an infinity, if
     * any. Null gradients are skipped. One host read per call.
     */
    public static Optional<String> firstNonFinite(Map<String, Tensor> params) {
        List<String> names = new ArrayList<>();
        List<Tensor> grads = new ArrayList<>();
        params.forEach((k, p) -> {
            if (p.grad() != null) {
                names.add(k);
                grads.add(p.grad());
            }
        });
        if (grads.isEmpty()) return Optional.empty();
        float[] probes;
        try (var s = Autograd.noGrad()) {
            // g*0 is 0 for finite values and NaN for NaN or +-Inf, so each sum is NaN exactly when its gradient is not finite.
            probes = perGradient(grads, g -> Ops.sum(Ops.mulScalar(g, 0f)));
        }
        for (int i = 0; i < probes.length; i++) if (Float.isNaN(probes[i])) return Optional.of(names.get(i));
        return Optional.empty();
    }

    private static List<Tensor> grads(Collection<Tensor> params) {
        List<Tensor> out = new ArrayList<>();
        for (Tensor p : params) if (p.grad() != null) out.add(p.grad());
        return out;
    }

    /** One scalar per gradient, gathered into one tensor so that reading them back is one transfer. */
    private static float[] perGradient(List<Tensor> grads, Function<Tensor, Tensor> f) {
        Tensor[] parts = new Tensor[grads.size()];
        for (int i = 0; i < parts.length; i++) parts[i] = Ops.reshape(f.apply(grads.get(i)), 1);
        return Ops.concat(0, parts).toFloatArray();
    }
}
