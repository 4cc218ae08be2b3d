package diffir.train;

import diffir.engine.optim.CosineAnnealingRestartCyclicLR;
import diffir.model.Stage;

/**
 * The learning rate of every iteration, in closed form (so a resumed run needs no scheduler state),
 * with the reference's GoPro schedules scaled to the run's length:
 * <ul>
 * <li>S1: CosineAnnealingRestartCyclicLR with periods 92k and 208k of 300k and eta_mins (lr, 1e-6): the
 *     base rate for the first 92/300 of the run, then a cosine down to 1e-6.</li>
 * <li>S2 encoder stage ({@code lr_encoder * 0.1^(iter // 60000)} of 100k): x0.1 after 60% of it.</li>
 * <li>S2 joint stage ({@code lr_sr * 0.5^((iter - encoder_iter) // 80000)} of 300k): halved every 80/300
 *     of it.</li>
 * </ul>
 */
public final class LrPlan {
    private static final double S1_FLAT = 92.0 / 300, ENCODER_DROP = 0.6, JOINT_HALVING = 80.0 / 300, ETA_MIN = 1e-6;

    private final TrainSpec spec;
    private final CosineAnnealingRestartCyclicLR s1Cosine;

    public LrPlan(TrainSpec spec) {
        this.spec = spec;
        long flat = Math.max(1, Math.round(spec.steps() * S1_FLAT)), rest = Math.max(1, spec.steps() - flat);
        this.s1Cosine = new CosineAnnealingRestartCyclicLR(new long[]{flat, rest}, new double[]{1, 1},
                new double[]{spec.lr(), Math.min(ETA_MIN, spec.lr())});
    }

    /** The rate at 1-based iteration it. */
    public double at(long it) {
        double lr = spec.lr();
        if (spec.stage() == Stage.S1) return s1Cosine.lrAtIteration(lr, it);
        if (spec.encoderStage(it)) {
            long drop = Math.max(1, Math.round(spec.encoderSteps() * ENCODER_DROP));
            return lr * Math.pow(0.1, (it - 1) / drop);
        }
        long joint = spec.steps() - spec.encoderSteps();
        long every = Math.max(1, Math.round(joint * JOINT_HALVING));
        return lr * Math.pow(0.5, (it - 1 - spec.encoderSteps()) / every);
    }
}
