package diffir.train;

import diffir.data.ImageCache;
import diffir.data.TrainingSet;
import diffir.engine.Device;
import diffir.engine.MemoryScope;
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

    /**
     * Seconds per iteration of the given S2 phase (or S1) once the speed has settled: iterations run in
     * windows of {@code window}, from the third window on until one is no more than 10% faster than the
     * fastest before it, or {@code maxSeconds} have passed; the fastest window's mean counts. A fixed short warm-up is not enough:
     * the JIT compiles the engine's kernels over the first dozen iterations, and an iteration of the
     * demo's S1 measured after 6 of them took 5 times as long as in the run that followed.
     */
    public static double settledSecondsPerStep(TrainSpec spec, boolean encoderPhase, Device device, int window, double maxSeconds)
            throws IOException {
        Probe probe = probe(spec, encoderPhase, device);
        long start = System.nanoTime();
        double best = Double.POSITIVE_INFINITY;
        for (int w = 0; ; w++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < window; i++) probe.step(w * window + i);
            double perStep = (System.nanoTime() - t0) / 1e9 / window;
            boolean settled = w >= 2 && perStep >= 0.9 * best;
            best = Math.min(best, perStep);
            if (settled || (System.nanoTime() - start) / 1e9 >= maxSeconds) return best;
        }
    }

    /** A throwaway network of the spec's stage with its data: step(i) runs iteration i + 1, in a scope as the Trainer does. */
    private record Probe(Iteration iteration, TrainingSet data, TrainSpec spec) {
        void step(int i) throws IOException {
            var batch = data.batch(i, spec.batch(), spec.patch());
            try (MemoryScope scope = MemoryScope.open()) {
                iteration.run(i + 1, batch, spec.lr());
            }
        }
    }

    private static Probe probe(TrainSpec spec, boolean encoderPhase, Device device) throws IOException {
        TrainSpec s = spec.stage() == Stage.S2 ? spec.withEncoderSteps(encoderPhase ? spec.steps() : 0) : spec;
        TrainingSet data = new TrainingSet(Trainer.source(s.data(), s.task(), s.maxBlur(), new ImageCache(64L << 20)), s.seed(), true);
        DiffIRModel model = DiffIRModel.create(s.stage(), s.arch(), Init.on(device, s.seed()));
        DiffIRS1 s1 = s.stage() == Stage.S2 ? (DiffIRS1) DiffIRModel.create(Stage.S1, s.arch(), Init.on(device, s.seed() + 1)) : null;
        if (s1 != null) s1.requiresGrad(false);
        return new Probe(new Iteration(s, model, s1, device), data, s);
    }
}
