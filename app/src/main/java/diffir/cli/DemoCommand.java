package diffir.cli;

import diffir.data.ImageCache;
import diffir.data.LqGt;
import diffir.data.Samples;
import diffir.data.Seeds;
import diffir.data.Task;
import diffir.engine.Device;
import diffir.engine.io.AtomicFiles;
import diffir.image.Image;
import diffir.image.ImageFiles;
import diffir.metrics.Psnr;
import diffir.metrics.Ssim;
import diffir.model.ArchConfig;
import diffir.model.Checkpoints;
import diffir.model.DiffIRModel;
import diffir.model.Stage;
import diffir.restore.Restorer;
import diffir.train.LossChart;
import diffir.train.StepTimer;
import diffir.train.TrainLog;
import diffir.train.TrainSpec;
import diffir.train.Trainer;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The whole method on a laptop-sized problem: a tiny deblurring DiffIR trained on the bundled sample
 * photos (S1, then S2's encoder and joint stages) within a time budget, then held-out photos restored
 * and scored: blurred input vs S1 (which sees the sharp image's prior) vs S2 (the real, LQ-only model).
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Trains a tiny deblurring DiffIR on the bundled photos and shows what it restores (about 10 minutes).",
                "Trains on the bundled sample photos with synthetic camera-shake blur (S1, then S2), restores two held-out " +
                "photos and prints PSNR/SSIM of blurred input vs S1 vs S2. The iteration counts are sized to --minutes on this " +
                "machine (about 8 minutes of training on 2 cores by default). Writes side-by-side PNGs (blurred | S1 | S2 | " +
                "sharp), the loss curves and both runs into the output folder."})
final class DemoCommand implements Callable<Integer> {
    /** Training photos and the held-out ones (one colour photo, one gray picture). */
    static final List<String> TRAIN = List.of("astronaut", "coffee", "rocket", "brick", "grass", "gravel"), HELD_OUT = List.of("chelsea", "camera");

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default runs/demo-<date>-<time>).")
    Path out;

    @Option(names = "--minutes", defaultValue = "8", paramLabel = "M", description = "Training time budget in minutes (default ${DEFAULT-VALUE}).")
    double minutes;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of everything random (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--s1-steps", paramLabel = "N", description = "S1 iterations, instead of sizing them to --minutes.")
    Long s1Steps;

    @Option(names = "--s2-steps", paramLabel = "N", description = "S2 iterations (a quarter of them the encoder stage), instead of sizing them to --minutes.")
    Long s2Steps;

    @Mixin
    ComputeOptions compute;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    // The demo's problem and network: moderate blur, a DIRformer of width 16 with one block per level.
    static final int MAX_BLUR = 9, PATCH = 64, BATCH = 4;
    static final double LR = 2e-3, EMA = 0.95;

    static ArchConfig arch() {
        return ArchConfig.builder(diffir.model.ArchTask.DEBLUR).dim(16).blocks(1, 1, 1, 1).refinement(1).heads(1, 1, 2, 2).ffnFactor(2)
                .encoderRes(1).cpenFeats(16).build();
    }

    @Override
    public Integer call() throws Exception {
        long t0 = System.nanoTime();
        Device device = compute.device();
        if (!(minutes > 0) || minutes > 24 * 60) throw new UserException("--minutes must be in (0, 1440], got " + minutes);
        if (s1Steps != null && s1Steps < 1) throw new UserException("--s1-steps must be >= 1, got " + s1Steps);
        if (s2Steps != null && s2Steps < 1) throw new UserException("--s2-steps must be >= 1, got " + s2Steps);
        Path dir = out != null ? out : Path.of("runs", "demo-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        if (Files.isDirectory(dir)) {
            try (var s = Files.list(dir)) {
                if (s.findAny().isPresent()) throw new UserException("--out " + dir + " is not empty; choose a new folder");
            }
        } else if (Files.exists(dir)) {
            throw new UserException("--out " + dir + " is a file; choose a new folder");
        }
        PrintWriter o = spec.commandLine().getOut();
        Path train = dir.resolve("data/train"), test = dir.resolve("data/test");
        for (String n : TRAIN) ImageFiles.writePng(train.resolve(n + ".png"), Samples.load(n).image());
        for (String n : HELD_OUT) ImageFiles.writePng(test.resolve(n + ".png"), Samples.load(n).image());

        TrainSpec s1 = spec(Stage.S1, train, test, 1, null);
        long n1, n2;
        if (s1Steps != null && s2Steps != null) {
            n1 = s1Steps;
            n2 = s2Steps;
        } else {
            o.println("measuring iteration times to fit " + fmtMinutes(minutes) + " of training...");
            double t1 = StepTimer.secondsPerStep(s1, false, device, 2, 3);
            TrainSpec probe = spec(Stage.S2, train, test, 4, dir.resolve("s1/model.safetensors"));
            double tEnc = StepTimer.secondsPerStep(probe, true, device, 1, 3), tJoint = StepTimer.secondsPerStep(probe, false, device, 1, 3);
            double budget = minutes * 60 - (System.nanoTime() - t0) / 1e9 - 20; // 20 s for validation and the final restorations
            // Half the budget each; an S2 iteration is a quarter encoder-stage, three quarters joint.
            n1 = s1Steps != null ? s1Steps : Math.max(10, (long) (budget / 2 / t1));
            n2 = s2Steps != null ? s2Steps : Math.max(8, (long) (budget / 2 / (0.25 * tEnc + 0.75 * tJoint)));
            o.printf(Locale.ROOT, "S1 %.3f s/it, S2 %.3f s/it (encoder stage) and %.3f s/it (joint): %d S1 and %d S2 iterations%n",
                    t1, tEnc, tJoint, n1, n2);
        }
        s1 = spec(Stage.S1, train, test, n1, null);
        int valEvery = (int) Math.max(1, n1 / 4);
        PrintWriter log = o;
        Trainer.Result r1 = new Trainer(s1, dir.resolve("s1"), device, new Trainer.Schedule(valEvery, (int) n1, 0, false, 2), log,
                Main.usesProcessStdout(spec)).run();
        TrainSpec s2 = spec(Stage.S2, train, test, n2, r1.files().model());
        Trainer.Result r2 = new Trainer(s2, dir.resolve("s2"), device, new Trainer.Schedule((int) Math.max(1, n2 / 4), (int) n2, 0, false, 2), log,
                Main.usesProcessStdout(spec)).run();

        List<TrainLog.Row> rows = new ArrayList<>(readLog(r1.files().log(), 0));
        rows.addAll(readLog(r2.files().log(), n1));
        LossChart.write(dir.resolve("loss.png"), rows, "DiffIR demo: S1 (iterations 1-" + n1 + "), then S2");
        String table = evaluate(dir, test, r1.files().model(), r2.files().model(), device);
        o.print(table);
        AtomicFiles.write(dir.resolve("results.txt"), os -> os.write(table.getBytes(StandardCharsets.UTF_8)));
        o.printf(Locale.ROOT, "demo finished in %s: results in %s (side-by-side PNGs: blurred | S1 | S2 | sharp; loss.png; s1/, s2/)%n",
                diffir.train.Progress.duration((System.nanoTime() - t0) / 1e9), dir);
        return 0;
    }

    private TrainSpec spec(Stage stage, Path train, Path test, long steps, Path s1) {
        return new TrainSpec(Task.DEBLUR, stage, train, test, arch(), steps, BATCH, PATCH, LR, seed, s1, stage == Stage.S2 ? steps / 4 : 0,
                EMA, 0, MAX_BLUR);
    }

    private static List<TrainLog.Row> readLog(Path csv, long offset) throws IOException {
        List<TrainLog.Row> rows = new ArrayList<>();
        for (TrainLog.Row r : TrainLog.read(csv))
            rows.add(new TrainLog.Row(r.step() + offset, r.phase(), r.loss(), r.lPix(), r.lIpr(), r.lr(), r.seconds(), r.valPsnr()));
        return rows;
    }

    /** Restores the held-out photos with both networks, writes side-by-side PNGs, returns the table. */
    private String evaluate(Path dir, Path test, Path s1File, Path s2File, Device device) throws IOException {
        DiffIRModel m1 = Checkpoints.load(s1File, device), m2 = Checkpoints.load(s2File, device);
        Restorer r1 = new Restorer(m1, seed, 0, 0), r2 = new Restorer(m2, seed, 0, 0);
        var src = Trainer.source(test, Task.DEBLUR, MAX_BLUR, new ImageCache(16L << 20));
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%n%-12s  %15s  %15s  %15s%n", "held-out", "blurred input", "S1 (GT prior)", "S2 (DiffIR)"));
        b.append(String.format(Locale.ROOT, "%-12s  %15s  %15s  %15s%n", "", "PSNR / SSIM", "PSNR / SSIM", "PSNR / SSIM"));
        double[] sum = new double[6];
        for (int i = 0; i < src.size(); i++) {
            LqGt p = src.fixed(i, 0, Seeds.rng(seed + 7, i)); // whole image, its own fixed blur
            Image o1 = r1.restoreWithGt(p.lq(), p.gt()).clamp01(), o2 = r2.restore(p.lq()).clamp01();
            double[] v = {Psnr.compute(p.lq(), p.gt(), 0, false), Ssim.compute(p.lq(), p.gt(), 0, false), Psnr.compute(o1, p.gt(), 0, false),
                    Ssim.compute(o1, p.gt(), 0, false), Psnr.compute(o2, p.gt(), 0, false), Ssim.compute(o2, p.gt(), 0, false)};
            for (int k = 0; k < 6; k++) sum[k] += v[k];
            String name = src.name(i).replaceFirst("\\.png$", "");
            b.append(row(name, v));
            ImageFiles.writePng(dir.resolve(name + "_compare.png"), sideBySide(List.of(p.lq(), o1, o2, p.gt())));
        }
        for (int k = 0; k < 6; k++) sum[k] /= src.size();
        b.append(row("mean", sum));
        b.append(String.format(Locale.ROOT, "S2 gain over the blurred input: %+.2f dB PSNR%n", sum[4] - sum[0]));
        return b.toString();
    }

    private static String row(String name, double[] v) {
        return String.format(Locale.ROOT, "%-12s  %7.2f / %.4f  %7.2f / %.4f  %7.2f / %.4f%n", name, v[0], v[1], v[2], v[3], v[4], v[5]);
    }

    /** Images next to each other with a white 4-pixel gap. */
    static Image sideBySide(List<Image> images) {
        int gap = 4, h = images.getFirst().height(), w = 0;
        for (Image im : images) w += im.width();
        w += gap * (images.size() - 1);
        Image out = Image.zeros(3, h, w);
        java.util.Arrays.fill(out.data(), 1f);
        int x0 = 0;
        for (Image im : images) {
            Image rgb = im.toRgb();
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < h; y++)
                    System.arraycopy(rgb.data(), (c * h + y) * rgb.width(), out.data(), (c * h + y) * w + x0, rgb.width());
            x0 += im.width() + gap;
        }
        return out;
    }

    private static String fmtMinutes(double m) {
        return m == Math.rint(m) ? (long) m + " minutes" : m + " minutes";
    }
}
