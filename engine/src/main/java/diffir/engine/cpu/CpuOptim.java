package diffir.engine.cpu;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.backend.AdamParams;

import static diffir.engine.cpu.CpuBackend.data;

/** Fused optimiser updates. */
final class CpuOptim {
    private CpuOptim() {}

    /**
     * PyTorch's Adam/AdamW (non-amsgrad) update, in place on param, m and v:
     * {@code g += wd*p} (Adam) or {@code p *= 1 - lr*wd} (AdamW); {@code m = b1*m + (1-b1)*g};
     * {@code v = b2*v + (1-b2)*g*g}; {@code p -= stepSize * m / (sqrt(v)/sqrt(bc2) + eps)}.
     */
    static void adam(Tensor param, Tensor grad, Tensor mT, Tensor vT, AdamParams a) {
        int[] shape = param.shape();
        if (!Shapes.same(shape, grad.shape()) || !Shapes.same(shape, mT.shape()) || !Shapes.same(shape, vT.shape()))
            throw new IllegalArgumentException("adam: param " + Shapes.str(shape) + ", grad " + Shapes.str(grad.shape())
                    + ", exp_avg " + Shapes.str(mT.shape()) + " and exp_avg_sq " + Shapes.str(vT.shape()) + " must have one shape");
        float[] p = data(param), g = data(grad), m = data(mT), v = data(vT);
        int po = (int) param.offset(), go = (int) grad.offset(), mo = (int) mT.offset(), vo = (int) vT.offset();
        float b1 = a.beta1(), b2 = a.beta2(), c1 = a.oneMinusBeta1(), c2 = a.oneMinusBeta2(), eps = a.eps();
        float wd = a.decoupled() ? 0f : a.weightDecay();
        float decay = a.decoupledDecay();
        float bc2Sqrt = a.biasCorrection2Sqrt();
        float stepSize = a.stepSize();
        // Memory-bound (7 floats moved per element): a plain loop runs as fast as a Vector API one here.
        Parallel.range(Math.toIntExact(param.numel()), CpuElementwise.GRAIN, (f, t) -> {
            for (int i = f; i < t; i++) {
                float pv = p[po + i] * decay;
                float gv = g[go + i] + wd * pv;
                float mv = b1 * m[mo + i] + c1 * gv;
                float vv = b2 * v[vo + i] + c2 * (gv * gv);
                m[mo + i] = mv;
                v[vo + i] = vv;
                float denom = (float) Math.sqrt(vv) / bc2Sqrt + eps;
                p[po + i] = pv - stepSize * mv / denom;
            }
        });
    }
}
