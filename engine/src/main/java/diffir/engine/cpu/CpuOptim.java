package diffir.engine.cpu;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.backend.AdamParams;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import static diffir.engine.cpu.CpuBackend.data;

/** Fused optimiser updates. */
final class CpuOptim {
    private CpuOptim() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

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
        Parallel.range(Math.toIntExact(param.numel()), CpuElementwise.GRAIN, (f, t) -> {
            int i = f;
            for (int upper = f + S.loopBound(t - f); i < upper; i += S.length()) {
                FloatVector pv = FloatVector.fromArray(S, p, po + i).mul(decay);
                FloatVector gv = FloatVector.fromArray(S, g, go + i);
                gv = gv.add(pv.mul(wd));
                FloatVector mv = FloatVector.fromArray(S, m, mo + i).mul(b1).add(gv.mul(c1));
                FloatVector vv = FloatVector.fromArray(S, v, vo + i).mul(b2).add(gv.mul(gv).mul(c2));
                mv.intoArray(m, mo + i);
                vv.intoArray(v, vo + i);
                FloatVector denom = vv.sqrt().div(bc2Sqrt).add(eps);
                pv.sub(mv.mul(stepSize).div(denom)).intoArray(p, po + i);
            }
            for (; i < t; i++) {
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
