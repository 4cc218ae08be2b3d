package diffir.cli;

import diffir.data.ImageFolders;
import diffir.engine.io.AtomicFiles;
import diffir.image.Image;
import diffir.image.ImageFiles;
import diffir.metrics.Psnr;
import diffir.metrics.Ssim;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** PSNR and SSIM of restored images against their ground truth (basicsr's definitions). */
@Command(name = "eval", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Scores restored images against ground truth (PSNR, SSIM).",
                "Per-image and mean PSNR/SSIM with basicsr's definitions. Files are paired by name without extension (a.png with a.jpg)."})
final class EvalCommand extends CliCommand {
    @Option(names = "--pred", required = true, paramLabel = "FILE|DIR", description = "Restored image or folder.")
    Path pred;

    @Option(names = "--gt", required = true, paramLabel = "FILE|DIR", description = "Ground-truth image or folder.")
    Path gt;

    @Option(names = "--y", description = "Score the Y channel of YCbCr (as for super-resolution) instead of RGB.")
    boolean yChannel;

    @Option(names = "--crop-border", defaultValue = "0", paramLabel = "N", description = "Pixels ignored at every border (default 0).")
    int cropBorder;

    @Option(names = "--csv", paramLabel = "FILE", description = "Also write the table as CSV.")
    Path csv;

    /** One scored pair. */
    record Score(String name, double psnr, double ssim) {}

    @Override
    public Integer call() throws Exception {
        if (cropBorder < 0) throw new UserException("--crop-border must be >= 0, got " + cropBorder);
        Map<String, Path[]> pairs = pairs();
        List<Score> scores = new ArrayList<>();
        for (Map.Entry<String, Path[]> e : pairs.entrySet()) {
            Path p = e.getValue()[0], g = e.getValue()[1];
            Image a = ImageFiles.readRgb(p), b = ImageFiles.readRgb(g);
            if (!a.sameShape(b))
                throw new UserException(p + " is " + a.height() + "x" + a.width() + " but its ground truth " + g + " is " + b.height() + "x"
                        + b.width() + "; they must be the same size");
            try {
                scores.add(new Score(e.getKey(), Psnr.compute(a, b, cropBorder, yChannel), Ssim.compute(a, b, cropBorder, yChannel)));
            } catch (IllegalArgumentException ex) {
                throw new UserException(p + ": " + ex.getMessage());
            }
        }
        PrintWriter out = writer();
        out.print(table(scores, yChannel ? "Y" : "RGB"));
        if (csv != null) {
            StringBuilder b = new StringBuilder("image,psnr,ssim\n");
            for (Score s : scores) b.append(s.name()).append(',').append(fmt(s.psnr(), 4)).append(',').append(fmt(s.ssim(), 6)).append('\n');
            b.append("mean,").append(fmt(mean(scores, true), 4)).append(',').append(fmt(mean(scores, false), 6)).append('\n');
            AtomicFiles.write(csv, os -> os.write(b.toString().getBytes(StandardCharsets.UTF_8)));
        }
        return 0;
    }

    /** name -> {pred, gt}, matched by file stem; every GT needs its prediction. */
    private Map<String, Path[]> pairs() throws IOException {
        for (Path p : List.of(pred, gt))
            if (!Files.exists(p)) throw new NoSuchFileException(p.toString(), null, "no such file or folder (" + (p == pred ? "--pred" : "--gt") + ")");
        if (Files.isDirectory(pred) != Files.isDirectory(gt))
            throw new UserException("--pred and --gt must both be files or both be folders");
        Map<String, Path[]> out = new LinkedHashMap<>();
        if (!Files.isDirectory(pred)) {
            out.put(pred.getFileName().toString(), new Path[]{pred, gt});
            return out;
        }
        Map<String, Path> preds = byStem(ImageFolders.list(pred));
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, Path> e : byStem(ImageFolders.list(gt)).entrySet()) {
            Path p = preds.get(e.getKey());
            if (p == null) missing.add(e.getValue().getFileName().toString());
            else out.put(e.getKey(), new Path[]{p, e.getValue()});
        }
        if (!missing.isEmpty())
            throw new UserException(pred + " has no prediction for " + missing.size() + " ground-truth image(s): "
                    + String.join(", ", missing.subList(0, Math.min(5, missing.size()))) + (missing.size() > 5 ? ", ..." : ""));
        return out;
    }

    private static Map<String, Path> byStem(List<Path> files) throws IOException {
        Map<String, Path> m = new TreeMap<>();
        for (Path f : files) {
            String n = f.getFileName().toString();
            Path earlier = m.put(n.substring(0, n.lastIndexOf('.')), f);
            if (earlier != null) throw new UserException(f + " and " + earlier.getFileName() + " have the same name; keep one");
        }
        return m;
    }

    static String table(List<Score> scores, String channels) {
        int w = Math.max(5, scores.stream().mapToInt(s -> s.name().length()).max().orElse(5));
        StringBuilder b = new StringBuilder();
        b.append(String.format(Locale.ROOT, "%-" + w + "s  %9s  %7s%n", "image", "PSNR(dB)", "SSIM"));
        for (Score s : scores) b.append(String.format(Locale.ROOT, "%-" + w + "s  %9s  %7.4f%n", s.name(), fmt(s.psnr(), 2), s.ssim()));
        b.append(String.format(Locale.ROOT, "%-" + w + "s  %9s  %7.4f%n", "mean", fmt(mean(scores, true), 2), mean(scores, false)));
        b.append("(").append(scores.size()).append(scores.size() == 1 ? " image, " : " images, ").append(channels).append(")\n");
        return b.toString();
    }

    static double mean(List<Score> scores, boolean psnr) {
        double s = 0;
        for (Score x : scores) s += psnr ? x.psnr() : x.ssim();
        return s / scores.size();
    }

    static String fmt(double v, int digits) {
        return Double.isInfinite(v) ? "inf" : String.format(Locale.ROOT, "%." + digits + "f", v);
    }
}
