package diffir.train;

import diffir.data.Batch;
import diffir.data.Seeds;
import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.engine.ops.Ops;
import diffir.engine.optim.Adam;
import diffir.engine.optim.Gradients;
import diffir.engine.optim.Optimizer;
import diffir.model.DiffIRModel;
import diffir.model.DiffIRS1;
import diffir.model.DiffIRS2;
import diffir.model.Stage;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * One training iteration of the reference's losses and optimisers: forward, a check that the loss
 * and every gradient are finite (before anything is updated), backward, the Adam step.
 * <ul>
 * <li>S1: L1(G(LQ, CPEN_S1(LQ, GT)), GT); Adam betas 0.9/0.999.</li>
 * <li>S2 encoder stage: L1(IPR_S2, IPR_S1), stepping optimiser "e" (CPEN_S2 + denoise).</li>
 * <li>S2 joint stage: L1(out, GT) + L1(IPR_S2, IPR_S1), stepping optimiser "g" (everything); both Adam
 *     betas 0.9/0.99 with separate moments, as the reference's optimizer_e and optimizer_g.</li>
 * </ul>
 * IPR_S1 comes from the frozen S1 without a graph, and the diffusion noise of iteration it is drawn from
 * (seed, it), so an iteration depends on nothing but the state and its number.
 */
final class Iteration {
    private static final long EPS_STREAM = 0x45505331L; // keys the diffusion noise apart from the data stream

    /** A NaN or infinite loss or gradient, found before the update; the message says which. */
    static final class NonFinite extends RuntimeException {
        NonFinite(String message) {
            super(message);
        }
    }

    private final TrainSpec spec;
    private final DiffIRModel model;
    private final DiffIRS1 s1;
    private final Device device;
    private final Map<String, Optimizer> optimizers = new LinkedHashMap<>();

    Iteration(TrainSpec spec, DiffIRModel model, DiffIRS1 frozenS1, Device device) {
        if ((spec.stage() == Stage.S2) != (frozenS1 != null)) throw new IllegalArgumentException("S2 training needs the frozen S1, S1 none");
        this.spec = spec;
        this.model = model;
        this.s1 = frozenS1;
        this.device = device;
        if (spec.stage() == Stage.S1) {
            optimizers.put("g", new Adam(model.namedParameters(), spec.lr(), 0.9, 0.999, 1e-8, 0));
        } else {
            optimizers.put("g", new Adam(model.namedParameters(), spec.lr(), 0.9, 0.99, 1e-8, 0));
            Map<String, Tensor> enc = new LinkedHashMap<>();
            model.namedParameters().forEach((k, v) -> {
                if (k.contains("denoise") || k.contains("condition")) enc.put(k, v);
            });
            optimizers.put("e", new Adam(enc, spec.lr(), 0.9, 0.99, 1e-8, 0));
        }
    }

    /** The optimisers by name ("g", and for S2 "e"), whose states checkpoints save. */
    Map<String, Optimizer> optimizers() {
        return optimizers;
    }

    /** Runs 1-based iteration it on a batch at learning rate lr; returns {loss, l_pix, l_ipr} (NaN where absent). */
    double[] run(long it, Batch batch, double lr) {
        Optimizer opt = optimizers.get(spec.encoderStage(it) ? "e" : "g");
        opt.setLr(lr);
        model.zeroGrad();
        Tensor lq = batch.lqTensor(device), gt = batch.gtTensor(device);
        Tensor loss, lPix = null, lIpr = null;
        if (model instanceof DiffIRS1 m) {
            lPix = Ops.l1Loss(m.forward(lq, gt).out(), gt);
            loss = lPix;
        } else {
            DiffIRS2 m = (DiffIRS2) model;
            Tensor iprS1;
            try (var s = Autograd.noGrad()) {
                iprS1 = s1.prior(lq, gt);
            }
            Tensor eps = Tensor.randn(device, Seeds.rng(spec.seed(), EPS_STREAM, it), iprS1.shape());
            if (spec.encoderStage(it)) {
                lIpr = Ops.l1Loss(m.encoderForward(lq, iprS1, eps), iprS1);
                loss = lIpr;
            } else {
                DiffIRS2.Output o = m.trainForward(lq, iprS1, eps);
                lPix = Ops.l1Loss(o.out(), gt);
                lIpr = Ops.l1Loss(o.ipr(), iprS1);
                loss = Ops.add(lPix, lIpr);
            }
        }
        double value = loss.item();
        if (!Double.isFinite(value)) throw new NonFinite("the loss is " + value);
        loss.backward();
        Optional<String> bad = Gradients.firstNonFinite(opt.parameters());
        if (bad.isPresent()) throw new NonFinite("the gradient of " + bad.get() + " is not finite");
        if (spec.clipGrad() > 0) Gradients.clipGradNorm(opt.parameters().values(), spec.clipGrad());
        opt.step();
        return new double[]{value, lPix == null ? Double.NaN : lPix.item(), lIpr == null ? Double.NaN : lIpr.item()};
    }
}
