package diffir.cli;

import diffir.data.Task;
import diffir.engine.Device;
import diffir.model.ArchConfig;
import diffir.model.Checkpoints;
import diffir.model.DiffIRModel;
import diffir.model.Stage;
import diffir.train.RunFiles;
import diffir.train.TrainSpec;
import diffir.train.TrainState;
import diffir.train.Trainer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Trains DiffIR S1 or S2 on a folder of images. */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Trains DiffIR S1 or S2 on a folder of images.",
                "First --stage s1 (CPEN_S1 + DIRformer on L1), then --stage s2 --s1 RUN1/model.safetensors (the " +
                "diffusion on the prior: encoder stage, then joint). The run folder gets model.safetensors (EMA " +
                "weights), checkpoint.safetensors (for --resume), log.csv and loss.png. Defaults are the reference's " +
                "recipe and the task's published architecture; CPU runs want a much smaller one."},
        footer = {"", "Example:",
                "  diffir train --task deblur --stage s1 --data photos/ --out runs/s1 --steps 2000 --dim 16 --blocks 1,1,1,1 " +
                "--refinement 1 --patch 64 --batch 4",
                "  diffir train --task deblur --stage s2 --s1 runs/s1/model.safetensors --data photos/ --out runs/s2 --steps 2000"})
final class TrainCommand extends CliCommand {
    @Option(names = "--task", required = true, paramLabel = "deblur|sr2|sr4|inpaint", converter = Converters.TaskConverter.class,
            description = "What to learn; the synthetic degradation applied to clean images.")
    Task task;

    @Option(names = "--stage", defaultValue = "s1", paramLabel = "s1|s2", description = "Training stage (default ${DEFAULT-VALUE}).")
    String stage;

    @Option(names = "--data", required = true, paramLabel = "DIR",
            description = "Clean training images (degraded on the fly), or a folder with lq/ and gt/ pairs of the same names.")
    Path data;

    @Option(names = "--out", required = true, paramLabel = "RUN", description = "Run folder (created).")
    Path out;

    @Option(names = "--steps", paramLabel = "N", description = "Total iterations, S2's encoder stage included (default 100000).")
    Long steps;

    @Option(names = "--batch", paramLabel = "N", description = "Patches per iteration (default 8).")
    Integer batch;

    @Option(names = "--patch", paramLabel = "PX", description = "Ground-truth patch side (default 128).")
    Integer patch;

    @Option(names = "--lr", paramLabel = "RATE", description = "Base learning rate (default 2e-4).")
    Double lr;

    @Option(names = "--seed", paramLabel = "N", description = "Seed of the weights, the data stream and the noise (default 0).")
    Long seed;

    @Option(names = "--s1", paramLabel = "CKPT", description = "S2: the trained S1 network (its model.safetensors); frozen, it gives IPR_S1 and initialises the DIRformer.")
    Path s1;

    @Option(names = "--encoder-steps", paramLabel = "N", description = "S2: iterations training CPEN_S2 + denoise alone (default a quarter of --steps, as 100k of 400k).")
    Long encoderSteps;

    @Option(names = "--resume", description = "Continue the run in --out from its checkpoint, exactly as if it had not stopped.")
    boolean resume;

    @Option(names = "--val", paramLabel = "DIR", description = "Validation images, laid out like --data (default: centre crops of up to 4 training images).")
    Path val;

    @Option(names = "--val-every", defaultValue = "1000", paramLabel = "N", description = "Validate every N iterations and at the end; 0: at the end only (default ${DEFAULT-VALUE}).")
    int valEvery;

    @Option(names = "--val-crop", paramLabel = "PX", description = "Centre crop of validation images; 0 for whole images (default 256).")
    Integer valCrop;

    @Option(names = "--save-every", defaultValue = "1000", paramLabel = "N", description = "Checkpoint every N iterations and at the end (default ${DEFAULT-VALUE}).")
    int saveEvery;

    @Option(names = "--stop-after", defaultValue = "0", paramLabel = "N", description = "Stop (with a checkpoint) after iteration N, to --resume later.")
    long stopAfter;

    @Option(names = "--max-blur", paramLabel = "PX", description = "Deblurring: largest camera-shake kernel, 7 to 31 pixels (default 31).")
    Integer maxBlur;

    @Option(names = "--clip-grad", paramLabel = "NORM", description = "Clip the global gradient 2-norm to NORM before each update (default 0: off, as the reference).")
    Double clipGrad;

    @Option(names = "--ema", paramLabel = "DECAY", description = "Weight EMA decay per iteration (default 0.999).")
    Double emaDecay;

    @CommandLine.ArgGroup(exclusive = false, heading = "%nArchitecture (S1 only; S2 takes the S1 checkpoint's; default: the task's published one):%n")
    ArchOptions arch = new ArchOptions();

    @Mixin
    ComputeOptions compute;

    @Override
    public Integer call() throws Exception {
        Device device = compute.device();
        Stage st = parseStage(stage);
        TrainSpec stored = resume ? TrainState.spec(new RunFiles(out).checkpoint()) : null;
        TrainSpec ts;
        try {
            ts = buildSpec(st, stored);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage());
        }
        Trainer.Schedule sched;
        try {
            sched = new Trainer.Schedule(valEvery, saveEvery, stopAfter, resume, 4);
        } catch (IllegalArgumentException e) {
            throw new UserException(e.getMessage());
        }
        Trainer.Result r = new Trainer(ts, out, device, sched, writer(), reportsToProcessStdout()).run();
        writer().printf(Locale.ROOT, "trained %s to iteration %d in %.0f s: weights in %s%n", ts.stage(), r.step(), r.seconds(),
                r.files().model());
        return 0;
    }

    static Stage parseStage(String s) {
        return switch (s.toLowerCase(Locale.ROOT)) {
            case "s1" -> Stage.S1;
            case "s2" -> Stage.S2;
            default -> throw new UserException("--stage must be s1 or s2, got '" + s + "'");
        };
    }

    /** The run's spec: flags given on the command line, else the stored run's values (--resume), else the defaults. */
    private TrainSpec buildSpec(Stage st, TrainSpec stored) throws Exception {
        if (stored != null && stored.stage() != st)
            throw new IllegalArgumentException("--resume: " + out + " is an " + stored.stage() + " run, not " + st);
        ArchConfig cfg;
        Path s1Path = s1 != null ? s1 : stored != null ? stored.s1() : null;
        if (st == Stage.S2) {
            if (arch.any()) throw new IllegalArgumentException("--stage s2 takes the architecture from --s1; leave out " + arch.given());
            if (s1Path == null) throw new IllegalArgumentException("--stage s2 needs --s1 CKPT, the trained S1 network (RUN/model.safetensors of an S1 run)");
            // A resumed run whose S1 file has moved uses the copy it keeps.
            Path cfgFrom = stored != null && !Files.isRegularFile(s1Path) ? new RunFiles(out).s1Copy() : s1Path;
            cfg = s1Config(cfgFrom);
        } else {
            cfg = arch.apply(stored != null ? stored.arch() : ArchOptions.preset(task));
        }
        long n = pick(steps, stored, TrainSpec::steps, 100_000L);
        long enc = pick(encoderSteps, stored, TrainSpec::encoderSteps, st == Stage.S2 ? n / 4 : 0L);
        return new TrainSpec(task, st, data, pick(val, stored, TrainSpec::val, null), cfg, n, pick(batch, stored, TrainSpec::batch, 8),
                pick(patch, stored, TrainSpec::patch, 128), pick(lr, stored, TrainSpec::lr, 2e-4), pick(seed, stored, TrainSpec::seed, 0L),
                st == Stage.S2 ? s1Path : null, enc, pick(emaDecay, stored, TrainSpec::emaDecay, 0.999),
                pick(valCrop, stored, TrainSpec::valCrop, 256), pick(maxBlur, stored, TrainSpec::maxBlur, 0),
                pick(clipGrad, stored, TrainSpec::clipGrad, 0.0));
    }

    /** The flag's value if given, else the stored run's (when resuming), else the default. */
    private static <T> T pick(T given, TrainSpec stored, Function<TrainSpec, T> field, T fallback) {
        return given != null ? given : stored != null ? field.apply(stored) : fallback;
    }

    private static ArchConfig s1Config(Path file) throws Exception {
        DiffIRModel m = Checkpoints.load(file, Device.CPU);
        if (m.stage() != Stage.S1)
            throw new IllegalArgumentException("--s1 " + file + " is an S2 network; give the S1 run's model.safetensors");
        return m.config();
    }

    /** The architecture flags; unset ones keep the base config's values. */
    static final class ArchOptions {
        @Option(names = "--dim", paramLabel = "N", description = "DIRformer width (even).")
        Integer dim;

        @Option(names = "--blocks", paramLabel = "a,b,c,d", converter = Converters.FourInts.class, description = "Transformer blocks per level.")
        List<Integer> blocks;

        @Option(names = "--refinement", paramLabel = "N", description = "Refinement blocks.")
        Integer refinement;

        @Option(names = "--heads", paramLabel = "a,b,c,d", converter = Converters.FourInts.class, description = "Attention heads per level.")
        List<Integer> heads;

        @Option(names = "--ffn", paramLabel = "FACTOR", description = "GDFN expansion factor.")
        Double ffn;

        @Option(names = "--encoder-res", paramLabel = "N", description = "CPEN residual blocks (n_encoder_res).")
        Integer encoderRes;

        @Option(names = "--cpen-feats", paramLabel = "N", description = "CPEN width; the prior vector has 4x this many values (64 in the paper).")
        Integer cpenFeats;

        boolean any() {
            return !given().isEmpty();
        }

        String given() {
            List<String> g = new java.util.ArrayList<>();
            if (dim != null) g.add("--dim");
            if (blocks != null) g.add("--blocks");
            if (refinement != null) g.add("--refinement");
            if (heads != null) g.add("--heads");
            if (ffn != null) g.add("--ffn");
            if (encoderRes != null) g.add("--encoder-res");
            if (cpenFeats != null) g.add("--cpen-feats");
            return String.join(", ", g);
        }

        ArchConfig apply(ArchConfig base) {
            ArchConfig.Builder b = base.toBuilder();
            if (dim != null) b.dim(dim);
            if (blocks != null) b.blocks(blocks);
            if (refinement != null) b.refinement(refinement);
            if (heads != null) b.heads(heads);
            if (ffn != null) b.ffnFactor(ffn);
            if (encoderRes != null) b.encoderRes(encoderRes);
            if (cpenFeats != null) b.cpenFeats(cpenFeats);
            return b.build();
        }

        /** The published architecture of a task. */
        static ArchConfig preset(Task task) {
            return switch (task) {
                case DEBLUR -> ArchConfig.gopro();
                case SR2 -> ArchConfig.realSr(2);
                case SR4 -> ArchConfig.realSr(4);
                case INPAINT -> ArchConfig.inpainting();
            };
        }
    }
}
