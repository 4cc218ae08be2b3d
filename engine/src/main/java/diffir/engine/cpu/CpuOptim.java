package diffir.engine.cpu;

import diffir.engine.Tensor;
import diffir.engine.backend.AdamParams;

import static diffir.engine.cpu.CpuBackend.data;

/** Fused optimiser updates. */
final class CpuOptim {
    private CpuOptim() {}

    /** PyTorch's Adam/AdamW (non-amsgrad) update, in place. */
    static void adam(Tensor param, Tensor grad, Tensor mT, Tensor vT, AdamParams a) {
        float[] p = data(param), g = data(grad), m = data(mT), v = data(vT);
        int po = (int) param.offset(), go = (int) grad.offset(), mo = (int) mT.offset(), vo = (int) vT.offset();
        float b1 = a.beta1(), b2 = a.beta2(), lr = a.lr(), wd = a.weightDecay(), eps = a.eps();
        float bc1 = a.biasCorrection1();
        float bc2Sqrt = (float) Math.sqrt(a.biasCorrection2());
        float stepSize = lr / bc1;
        boolean decoupled = a.decoupled();
        Parallel.range(Math.toIntExact(param.numel()), CpuElementwise.GRAIN, (f, t) -> {
            for (int i = f; i < t; i++) {
                float pv = p[po + i], gv = g[go + i];
                if (wd != 0) {
                    if (decoupled) pv *= 1 - lr * wd;
                    else gv += wd * pv;
                }
                float mv = b1 * m[mo + i] + (1 - b1) * gv;
                float vv = b2 * v[vo + i] + (1 - b2) * gv * gv;
                m[mo + i] = mv;
                v[vo + i] = vv;
                float denom = (float) Math.sqrt(vv) / bc2Sqrt + eps;
                p[po + i] = pv - stepSize * mv / denom;
            }
        });
    }
}
