package diffir.train;

import diffir.engine.MemoryScope;
import diffir.data.Degradations;
import diffir.data.FolderPairs;
import diffir.data.ImageFolders;
import diffir.data.ImageCache;
import diffir.data.LqGt;
import diffir.data.PairSource;
import diffir.data.Seeds;
import diffir.data.SyntheticPairs;
import diffir.data.Task;
import diffir.data.TrainingSet;
import diffir.data.ValidationSet;
import diffir.engine.Device;
import diffir.engine.io.AtomicFiles;
import diffir.engine.io.CheckpointFormatException;
import diffir.engine.nn.Init;
import diffir.engine.optim.Ema;
import diffir.engine.optim.Optimizer;
import diffir.image.Image;
import diffir.metrics.Psnr;
import diffir.model.Checkpoints;
import diffir.model.DiffIRModel;
import diffir.model.DiffIRS1;
import diffir.model.Stage;
import diffir.restore.Restorer;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Trains S1 or S2 as the reference does: Adam (S1 betas 0.9/0.999; S2 0.9/0.99 with a separate
 * optimiser for the encoder stage, which trains CPEN_S2 + denoise alone on L1(IPR_S2, IPR_S1), then
 * everything on L1(out, GT) + L1(IPR_S2, IPR_S1)), the {@link LrPlan} schedule, a 0.999 weight EMA,
 * random crops, flips and rotations, validation PSNR of the EMA weights, a CSV log and loss chart.
 *
 * <p>Every random choice is a function of (seed, iteration), and checkpoints hold all other state, so a
 * resumed run is bit-identical to an uninterrupted one (with the same thread count). A non-finite loss
 * or gradient stops training before the weights are touched, and the last checkpoint stays as it was.
 */
public final class Trainer {
    /** How often to validate and save, where to stop, whether to resume. */
    public record Schedule(int valEvery, int saveEvery, long stopAfter, boolean resume, int maxValImages) {
        public Schedule {
            if (valEvery < 0) throw new IllegalArgumentException("--val-every must be >= 0, got " + valEvery);
            if (saveEvery < 1) throw new IllegalArgumentException("--save-every must be >= 1, got " + saveEvery);
            if (stopAfter < 0) throw new IllegalArgumentException("--stop-after must be >= 0, got " + stopAfter);
        }
    }

    /** What a finished run leaves. */
    public record Result(RunFiles files, long step, double valPsnr, double inputPsnr, double seconds) {}

    private static final long VAL_NOISE_SEED = 1234;

    private final TrainSpec spec;
    private final RunFiles files;
    private final Device device;
    private final Schedule schedule;
    private final PrintWriter out;
    private final boolean processStdout;

    public Trainer(TrainSpec spec, Path runDir, Device device, Schedule schedule, PrintWriter out, boolean processStdout) {
        this.spec = spec;
        this.files = new RunFiles(runDir);
        this.device = device;
        this.schedule = schedule;
        this.out = out;
        this.processStdout = processStdout;
    }

    /** The pairs of a data folder: DIR/lq + DIR/gt when both exist, else clean images degraded on the fly. */
    public static PairSource source(Path dir, Task task, int maxBlur, ImageCache cache) throws IOException {
        if (Files.isDirectory(dir.resolve("lq")) && Files.isDirectory(dir.resolve("gt"))) return FolderPairs.fromFolder(dir, task, cache);
        if (maxBlur > 0) return new SyntheticPairs(ImageFolders.list(dir), task, Degradations.motionBlur(maxBlur), cache);
        return SyntheticPairs.fromFolder(dir, task, cache);
    }

    public Result run() throws IOException {
        long t0 = System.nanoTime();
        // Everything that can fail on bad input happens before the run folder is touched.
        ImageCache cache = new ImageCache(64L << 20);
        PairSource train = source(spec.data(), spec.task(), spec.maxBlur(), cache);
        train.checkPatch(spec.patch());
        // Decode every image once (a centred patch of each): a truncated or corrupt file is named now, not hours in.
        for (int i = 0; i < train.size(); i++) train.fixed(i, spec.patch(), Seeds.rng(spec.seed(), -1, i));
        List<LqGt> valPairs = validationPairs(train, cache);
        TrainState.Saved saved = null;
        if (schedule.resume()) {
            saved = TrainState.load(files.checkpoint());
            List<String> diff = saved.spec().withSteps(spec.steps()).differences(spec);
            if (!diff.isEmpty())
                throw new IllegalArgumentException("--resume: " + files.checkpoint() + " is a different run; these settings differ: "
                        + String.join(", ", diff));
            if (saved.step() >= spec.steps())
                throw new IllegalArgumentException("--resume: the run in " + files.dir() + " already finished its " + saved.step()
                        + " iterations; give a larger --steps to train on");
        } else if (Files.exists(files.checkpoint())) {
            throw new IllegalArgumentException(files.dir() + " already holds a run (" + files.checkpoint().getFileName()
                    + "); use --resume to continue it, or choose another --out");
        }
        DiffIRS1 frozenS1 = spec.stage() == Stage.S2 ? loadS1() : null;
        DiffIRModel model = DiffIRModel.create(spec.stage(), spec.arch(), Init.on(device, spec.seed()));
        if (frozenS1 != null && saved == null) Checkpoints.loadInto(model, frozenS1.stateDict(), spec.s1(), false); // G from S1, as the reference
        DiffIRModel emaModel = DiffIRModel.create(spec.stage(), spec.arch(), Init.on(device, spec.seed()));
        Ema ema = new Ema(model, emaModel);
        ema.copyWeights();
        Iteration iteration = new Iteration(spec, model, frozenS1, device);
        Map<String, Optimizer> optimizers = iteration.optimizers();
        long start = 0;
        if (saved != null) {
            TrainState.restore(saved, model, emaModel, optimizers);
            start = saved.step();
        }

        Files.createDirectories(files.dir());
        if (frozenS1 != null && Files.isRegularFile(spec.s1())
                && !spec.s1().toAbsolutePath().normalize().equals(files.s1Copy().toAbsolutePath().normalize()))
            AtomicFiles.write(files.s1Copy(), os -> Files.copy(spec.s1(), os));
        TrainingSet data = new TrainingSet(train, spec.seed(), true);
        LrPlan lrPlan = new LrPlan(spec);
        long end = schedule.stopAfter() > 0 ? Math.min(spec.steps(), schedule.stopAfter()) : spec.steps();
        double inputPsnr = inputPsnr(valPairs);
        long lastSaved = start;
        double lastVal = Double.NaN;
        model.train(true);
        try (TrainLog log = new TrainLog(files.log(), start);
             Progress progress = Progress.create(spec.stage().name(), start, spec.steps(), out, processStdout)) {
            if (start > 0) progress.message("resuming " + files.dir() + " after iteration " + start);
            else if (Double.isFinite(inputPsnr))
                progress.message(String.format(Locale.ROOT, "validation input PSNR %.2f dB (%d images)", inputPsnr, valPairs.size()));
            for (long it = start + 1; it <= end; it++) {
                long ts = System.nanoTime();
                double lr = lrPlan.at(it);
                diffir.data.Batch batch = data.batch(it - 1, spec.batch(), spec.patch());
                String phase = spec.stage() == Stage.S1 ? "s1" : spec.encoderStage(it) ? "encoder" : "joint";
                double[] losses;
                // The step's activations, graph and temporaries are freed when it ends (weights,
                // gradients, optimiser and EMA state live outside the scope).
                try (MemoryScope scope = MemoryScope.open()) {
                    losses = iteration.run(it, batch, lr);
                    ema.update(spec.emaDecay());
                } catch (Iteration.NonFinite e) {
                    LossChart.write(files.chart(), log.rows(), chartTitle());
                    String keep = lastSaved > 0 ? "the last good checkpoint (iteration " + lastSaved + ") is kept in " + files.checkpoint()
                            : "no checkpoint had been written yet";
                    throw new TrainingStopped(it, "training stopped at iteration " + it + ": " + e.getMessage() + " (try a lower --lr); " + keep);
                }
                double val = Double.NaN;
                boolean last = it == end;
                if ((schedule.valEvery() > 0 && it % schedule.valEvery() == 0) || (last && end == spec.steps())) {
                    val = validate(emaModel, valPairs);
                    lastVal = val;
                    progress.message(String.format(Locale.ROOT, "iteration %d: validation PSNR %.2f dB (input %.2f dB)", it, val, inputPsnr));
                }
                log.add(new TrainLog.Row(it, phase, losses[0], losses[1], losses[2], lr, (System.nanoTime() - ts) / 1e9, val));
                progress.step(it, losses[0], lr);
                if (it % schedule.saveEvery() == 0 || last) {
                    save(it, model, emaModel, optimizers);
                    LossChart.write(files.chart(), log.rows(), chartTitle());
                    lastSaved = it;
                }
            }
            if (end < spec.steps()) progress.message("stopped after iteration " + end + " as asked; continue with --resume");
        }
        return new Result(files, end, lastVal, inputPsnr, (System.nanoTime() - t0) / 1e9);
    }

    private String chartTitle() {
        return "DiffIR " + spec.stage() + " " + spec.task().id() + " (" + files.dir().getFileName() + ")";
    }

    private DiffIRS1 loadS1() throws IOException {
        Path file = schedule.resume() && !Files.isRegularFile(spec.s1()) ? files.s1Copy() : spec.s1();
        DiffIRModel m = Checkpoints.load(file, device);
        if (!(m instanceof DiffIRS1 s1))
            throw new CheckpointFormatException(spec.s1(), "is an S2 network; --s1 needs the S1 (pretraining) checkpoint, e.g. RUN/model.safetensors of an S1 run");
        if (!m.config().equals(spec.arch()))
            throw new IllegalArgumentException("--s1 " + spec.s1() + " has a different architecture than this run");
        s1.eval();
        s1.requiresGrad(false);
        return s1;
    }

    private void save(long it, DiffIRModel model, DiffIRModel ema, Map<String, Optimizer> optimizers) throws IOException {
        TrainState.save(files.checkpoint(), it, spec, model, ema, optimizers);
        Checkpoints.save(files.model(), ema.config(), ema.stage(), ema.stateDict(), Map.of("iteration", Long.toString(it)));
    }

    private List<LqGt> validationPairs(PairSource train, ImageCache cache) throws IOException {
        PairSource src = spec.val() != null ? source(spec.val(), spec.task(), spec.maxBlur(), cache) : train;
        ValidationSet vs = new ValidationSet(src, spec.valCrop(), spec.seed());
        List<LqGt> pairs = new ArrayList<>();
        for (int i = 0; i < Math.min(vs.size(), schedule.maxValImages()); i++) pairs.add(vs.get(i));
        return pairs;
    }

    /** Mean PSNR of the degraded inputs against GT, where they compare (same size and channels). */
    private double inputPsnr(List<LqGt> pairs) {
        double sum = 0;
        for (LqGt p : pairs) {
            if (!p.lq().sameShape(p.gt())) return Double.NaN;
            sum += Psnr.compute(p.lq(), p.gt(), 0, spec.task().metricsOnY());
        }
        return pairs.isEmpty() ? Double.NaN : sum / pairs.size();
    }

    /** Mean PSNR of the EMA network on the validation pairs (S2 from fixed start noise). */
    private double validate(DiffIRModel ema, List<LqGt> pairs) {
        if (pairs.isEmpty()) return Double.NaN;
        Restorer r = new Restorer(ema, VAL_NOISE_SEED, 0, 0);
        double sum = 0;
        for (LqGt p : pairs) {
            Image out = ema.stage() == Stage.S1 ? r.restoreWithGt(p.lq(), p.gt()) : r.restore(p.lq());
            sum += Psnr.compute(out, p.gt(), 0, spec.task().metricsOnY());
        }
        return sum / pairs.size();
    }
}
