package diffir.model;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.nn.Init;
import diffir.engine.nn.Layer;
import diffir.engine.nn.LeakyReLU;
import diffir.engine.nn.Linear;
import diffir.engine.nn.Module;
import diffir.engine.nn.Sequential;
import diffir.engine.ops.Ops;

/**
 * The diffusion network on the IPR, predicting x0: {@code MLP(concat[c, t/(10T), x_t])} with
 * Linear(2*ipr+1 -> ipr), LeakyReLU(0.1), then {@code n_denoise_res} times Linear(ipr, ipr) + LeakyReLU
 * (the reference's ResMLP, which despite its name adds no residual).
 */
public final class Denoise extends Module {
    private final int iprDim;
    private final float maxPeriod;
    private final Sequential resmlp;

    /** The reference's ResMLP: a child "resmlp" holding Linear + LeakyReLU. */
    static final class ResMlp extends Module implements Layer {
        private final Sequential resmlp;

        ResMlp(Init init, int n) {
            resmlp = child("resmlp", new Sequential(new Linear(init, n, n, true), new LeakyReLU(Cpen.SLOPE)));
        }

        @Override
        public Tensor forward(Tensor x) {
            return resmlp.forward(x);
        }
    }

    public Denoise(Init init, ArchConfig cfg) {
        iprDim = cfg.iprDim();
        maxPeriod = cfg.timesteps() * 10;
        Sequential s = new Sequential(new Linear(init, 2 * iprDim + 1, iprDim, true), new LeakyReLU(Cpen.SLOPE));
        for (int i = 0; i < cfg.denoiseRes(); i++) s.add(new ResMlp(init, iprDim));
        resmlp = child("resmlp", s);
    }

    /** x0 from x_t (N, ipr) at step t, given the condition c (N, ipr). */
    public Tensor forward(Tensor x, int t, Tensor c) {
        if (x.rank() != 2 || x.dim(1) != iprDim || !Shapes.same(x.shape(), c.shape()))
            throw new IllegalArgumentException("denoise needs x and c of shape (N, " + iprDim + "), got " + Shapes.str(x.shape())
                    + " and " + Shapes.str(c.shape()));
        // The reference divides a float32 t by max_period in float32.
        Tensor time = Tensor.full(x.device(), (float) t / maxPeriod, x.dim(0), 1);
        return resmlp.forward(Ops.concat(1, c, time, x));
    }
}
