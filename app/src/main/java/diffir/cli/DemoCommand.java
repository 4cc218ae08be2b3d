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

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The whole method on a laptop-sized problem: a tiny deblurring DiffIR trained on the bundled sample
 * photos (S1, then S2's encoder and joint stages) within a time budget, then held-out photos restored
 * and scored: blurred input vs S1 (which sees the sharp image's prior) vs S2 (the real, LQ-only model).
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Trains a tiny deblurring DiffIR on the bundled photos and shows what it restores (7-8 minutes).",
                "Trains on the bundled sample photos with synthetic camera-shake blur (S1, then S2), restores two held-out " +
                "photos and prints PSNR/SSIM of blurred input vs S1 vs S2. The iteration counts are sized to --minutes on this " +
                "machine (8.5 minutes in all by default; the runs end early rather than late). Writes side-by-side PNGs (blurred | S1 | S2 | " +
                "sharp), the loss curves and both runs into the output folder."})
final class DemoCommand extends CliCommand {
    /** Training photos and the held-out ones (one colour photo, one gray picture). */
    static final List<String> TRAIN = List.of("astronaut", "coffee", "rocket", "brick", "grass", "gravel"), HELD_OUT = List.of("chelsea", "camera");

    @Option(names = "--out", paramLabel = "DIR", description = "Output folder (default runs/demo-<date>-<time>).")
    Path out;

    @Option(names = "--minutes", defaultValue = "8.5", paramLabel = "M", description = "Time budget of the whole demo in minutes; the training runs are sized to it (default ${DEFAULT-VALUE}).")
    double minutes;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of everything random (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--s1-steps", paramLabel = "N", description = "S1 iterations, instead of sizing them to --minutes.")
    Long s1Steps;

    @Option(names = "--s2-steps", paramLabel = "N", description = "S2 iterations (a quarter of them the encoder stage), instead of sizing them to --minutes.")
    Long s2Steps;

    @Mixin
    ComputeOptions compute;

    // The demo's problem and network: moderate blur, a DIRformer of width 16 with two blocks per level and
    // no refinement blocks (measured to learn fastest per second here), gradients clipped for stability
    // at this high learning rate.
    static final int MAX_BLUR = 9, PATCH = 64, BATCH = 4;
    /** S2 starts from S1's trained DIRformer, so it takes a gentler rate. */
    static final double LR = 2e-3, LR_S2 = 1e-3, EMA = 0.95, EMA_S2 = 0.99, CLIP = 0.05;
    /** S1's share of the training time: it trains the DIRformer from scratch, S2 refines it. */
    static final double S1_SHARE = 0.6;
    /** Seconds kept for setup, the final restorations and writing the results. */
    static final double RESERVE_SECONDS = 25;

    private static double elapsed(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    static ArchConfig arch() {
        return ArchConfig.builder(diffir.model.ArchTask.DEBLUR).dim(16).blocks(2, 2, 2, 2).refinement(0).heads(1, 1, 2, 2).ffnFactor(2)
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
        PrintWriter o = writer();
        Path train = dir.resolve("data/train"), test = dir.resolve("data/test");
        for (String n : TRAIN) ImageFiles.writePng(train.resolve(n + ".png"), Samples.load(n).image());
        for (String n : HELD_OUT) ImageFiles.writePng(test.resolve(n + ".png"), Samples.load(n).image());

        // The run lengths must be known up front (the learning-rate schedules depend on them), so each
        // stage's iterations are timed first, once their speed has settled (the JIT compiles the kernels
        // over the first dozen). S1 gets 60% of the budget; S2 then gets whatever is left, with its
        // timings scaled by how S1's real speed compared with its measured one.
        boolean sized = s1Steps == null || s2Steps == null;
        double t1 = 0, tS2 = 0, deadline = 0;
        long n1 = s1Steps != null ? s1Steps : 0;
        if (sized) {
            o.println("measuring iteration times to fit the " + fmtMinutes(minutes) + " budget...");
            TrainSpec probe1 = spec(Stage.S1, train, test, 8, null), probe2 = spec(Stage.S2, train, test, 8, dir.resolve("s1/model.safetensors"));
            t1 = StepTimer.settledSecondsPerStep(probe1, false, device, 3, 25);
            String s2Speed = "";
            if (s2Steps == null) { // S2's probes only when S2 is to be sized
                double tJoint = StepTimer.settledSecondsPerStep(probe2, false, device, 3, 20);
                double tEnc = StepTimer.settledSecondsPerStep(probe2, true, device, 3, 5);
                tS2 = 0.25 * tEnc + 0.75 * tJoint; // a quarter of S2 is the encoder stage
                s2Speed = String.format(Locale.ROOT, ", S2 %.3f s/it (encoder stage) and %.3f s/it (joint)", tEnc, tJoint);
            }
            deadline = minutes * 60 - RESERVE_SECONDS;
            if (s1Steps == null) n1 = Math.max(10, (long) ((deadline - elapsed(t0)) * S1_SHARE / t1));
            o.printf(Locale.ROOT, "S1 %.3f s/it%s: %d S1 iterations%n", t1, s2Speed, n1);
        }
        TrainSpec s1 = spec(Stage.S1, train, test, n1, null);
        Trainer.Result r1 = new Trainer(s1, dir.resolve("s1"), device, new Trainer.Schedule((int) Math.max(1, (n1 + 3) / 4), (int) n1, 0, false, 2),
                o, reportsToProcessStdout()).run();
        long n2;
        if (s2Steps != null) {
            n2 = s2Steps;
        } else {
            double scale = Math.min(1.5, Math.max(0.3, r1.seconds() / n1 / t1));
            n2 = Math.max(8, (long) ((deadline - elapsed(t0)) / (tS2 * scale)));
            o.printf(Locale.ROOT, "S1 ran at %.3f s/it; %d S2 iterations fit the rest of the budget%n", r1.seconds() / n1, n2);
        }
        TrainSpec s2 = spec(Stage.S2, train, test, n2, r1.files().model());
        Trainer.Result r2 = new Trainer(s2, dir.resolve("s2"), device, new Trainer.Schedule((int) Math.max(1, (n2 + 3) / 4), (int) n2, 0, false, 2),
                o, reportsToProcessStdout()).run();

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
        return new TrainSpec(Task.DEBLUR, stage, train, test, arch(), steps, BATCH, PATCH, stage == Stage.S1 ? LR : LR_S2, seed, s1,
                stage == Stage.S2 ? steps / 4 : 0,
                stage == Stage.S1 ? EMA : EMA_S2, 0, MAX_BLUR, CLIP);
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
