package diffir.train;

import diffir.data.ImageCache;
import diffir.data.TrainingSet;
import diffir.engine.Device;
import diffir.engine.nn.Init;
import diffir.model.DiffIRModel;
import diffir.model.DiffIRS1;
import diffir.model.Stage;

import java.io.IOException;

/**
 * Measures how long training iterations of a spec take on this machine, on throwaway networks, so a
 * run can be sized to a time budget before it starts (its length must be known up front: the
 * learning-rate schedule depends on it).
 */
public final class StepTimer {
    private StepTimer() {}

    /** Seconds per iteration of the given S2 phase (or S1), after warm-up iterations. */
    public static double secondsPerStep(TrainSpec spec, boolean encoderPhase, Device device, int warmup, int timed) throws IOException {
        TrainSpec s = spec.stage() == Stage.S2 ? spec.withEncoderSteps(encoderPhase ? spec.steps() : 0) : spec;
        TrainingSet data = new TrainingSet(Trainer.source(s.data(), s.task(), s.maxBlur(), new ImageCache(64L << 20)), s.seed(), true);
        DiffIRModel model = DiffIRModel.create(s.stage(), s.arch(), Init.on(device, s.seed()));
        DiffIRS1 s1 = s.stage() == Stage.S2 ? (DiffIRS1) DiffIRModel.create(Stage.S1, s.arch(), Init.on(device, s.seed() + 1)) : null;
        if (s1 != null) s1.requiresGrad(false);
        Iteration iteration = new Iteration(s, model, s1, device);
        long t0 = 0;
        for (int i = 0; i < warmup + timed; i++) {
            if (i == warmup) t0 = System.nanoTime();
            iteration.run(i + 1, data.batch(i, s.batch(), s.patch()), s.lr());
        }
        return (System.nanoTime() - t0) / 1e9 / timed;
    }
}
