package diffir.cli;

import diffir.data.ImageFolders;
import diffir.data.InpaintMasks;
import diffir.engine.Device;
import diffir.image.Image;
import diffir.image.ImageFiles;
import diffir.image.LoadedImage;
import diffir.image.Resize;
import diffir.model.DiffIRModel;
import diffir.model.Stage;
import diffir.model.ArchTask;
import diffir.restore.Restorer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Restores image files with a trained S2 network. */
@Command(name = "restore", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Restores images with a trained S2 network.",
                "Any size: reflect-padded to the model's multiple and cropped back, large ones in overlapping tiles. " +
                "Gray inputs give gray outputs, alpha is re-attached, 16-bit inputs give 16-bit PNGs."},
        footer = {"", "Example:", "  diffir restore --weights runs/s2/model.safetensors --input blurred/ --output restored/"})
final class RestoreCommand extends CliCommand {
    @Mixin
    WeightsOption weights;

    @Mixin
    ImageJobs files;

    @Option(names = "--tile", defaultValue = "512", paramLabel = "N",
            description = "Run images larger than N x N as overlapping N x N tiles to bound memory; 0 never tiles (default ${DEFAULT-VALUE}).")
    int tile;

    @Option(names = "--tile-overlap", defaultValue = "32", paramLabel = "N", description = "Pixels shared by neighbouring tiles (default ${DEFAULT-VALUE}).")
    int overlap;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the diffusion's start noise (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--mask", paramLabel = "FILE|DIR",
            description = "Inpainting: the hole mask (white = missing); for a folder of inputs, NAME_mask.png or NAME.png in this folder.")
    Path mask;

    @Mixin
    ComputeOptions compute;

    @Override
    public Integer call() throws Exception {
        Device device = compute.device();
        if (tile < 0) throw new UserException("--tile must be >= 0, got " + tile);
        if (tile > 0 && (overlap < 0 || overlap >= tile)) throw new UserException("--tile-overlap must be in [0, --tile), got " + overlap);
        List<ImageJobs.Job> jobs = files.plan();
        boolean inpaint;
        Restorer restorer;
        {
            DiffIRModel m = weights.load(device);
            if (m.stage() != Stage.S2)
                throw new UserException("--weights " + weights.file + " is an S1 (pretraining) network, which needs the ground truth;"
                        + " restore needs the S2 network (train --stage s2)");
            inpaint = m.config().task() == ArchTask.INPAINT;
            if (inpaint && mask == null) throw new UserException("this is an inpainting network: give the holes with --mask FILE|DIR");
            if (!inpaint && mask != null) throw new UserException("--mask is for inpainting networks; this one is " + m.config().task().key());
            if (tile > 0 && tile < m.config().window())
                throw new UserException("--tile " + tile + " is smaller than the network's multiple " + m.config().window());
            restorer = new Restorer(m, seed, tile, overlap);
        }
        if (inpaint && Files.isDirectory(files.input)) jobs = jobs.stream().filter(j -> !j.input().getFileName().toString().contains("_mask.")).toList();
        Map<Path, Path> masks = inpaint ? masks(jobs) : Map.of();
        int scale = restorer.model().config().outputScale();
        long t0 = System.nanoTime();
        ImageJobs.runAll(jobs, job -> {
            LoadedImage li = ImageFiles.read(job.input());
            Image rgb = li.rgb();
            Image out;
            if (inpaint) {
                Image holes = readMask(masks.get(job.input()));
                out = InpaintMasks.composite(restorer.restore(InpaintMasks.maskedInput(rgb, holes)).clamp01(), rgb, holes);
            } else {
                out = restorer.restore(rgb).clamp01();
            }
            if (li.image().channels() == 1) out = gray(out);
            Image alpha = li.alpha();
            if (alpha != null && scale > 1) alpha = Resize.bicubic(alpha, scale).clamp01();
            ImageFiles.writePng(job.output(), out, alpha, li.bitDepth() == 16 ? 16 : 8);
        });
        writer().printf(Locale.ROOT, "restored %d image%s in %.1f s into %s%n", jobs.size(), jobs.size() == 1 ? "" : "s",
                (System.nanoTime() - t0) / 1e9, files.destination(jobs));
        return 0;
    }

    /**
     * Each input's mask file, found and size-checked before anything is written: --mask itself, or in a
     * --mask folder NAME_mask.* or NAME.* (other than the input itself).
     */
    private Map<Path, Path> masks(List<ImageJobs.Job> jobs) throws IOException {
        Map<String, Path> byStem = new HashMap<>();
        if (Files.isDirectory(mask))
            for (Path f : ImageFolders.list(mask)) {
                String n = f.getFileName().toString();
                byStem.put(n.substring(0, n.lastIndexOf('.')), f);
            }
        Map<Path, Path> out = new HashMap<>();
        for (ImageJobs.Job job : jobs) {
            Path in = job.input(), m = mask;
            if (Files.isDirectory(mask)) {
                String png = ImageJobs.pngName(in), stem = png.substring(0, png.length() - 4);
                m = byStem.get(stem + "_mask");
                if (m == null && byStem.get(stem) != null && !Files.isSameFile(byStem.get(stem), in)) m = byStem.get(stem);
                if (m == null) throw new NoSuchFileException(mask.resolve(stem + "_mask.png").toString(), null, "no mask for " + in.getFileName());
            }
            int[] hw = ImageFiles.dimensions(m);
            if (hw[0] != job.height() || hw[1] != job.width())
                throw new UserException(m + " is " + hw[0] + "x" + hw[1] + " but " + in + " is " + job.height() + "x" + job.width());
            out.put(in, m);
        }
        return out;
    }

    /** A mask file as 0/1 holes (white = missing). */
    private static Image readMask(Path m) throws IOException {
        Image holes = ImageFiles.read(m).image().channels(0, 1);
        float[] d = holes.data().clone();
        for (int i = 0; i < d.length; i++) d[i] = d[i] >= 0.5f ? 1f : 0f;
        return new Image(1, holes.height(), holes.width(), d);
    }

    /** The mean of the three channels: a gray input restored as RGB, back to gray. */
    static Image gray(Image rgb) {
        int n = rgb.planeSize();
        float[] d = rgb.data(), g = new float[n];
        for (int i = 0; i < n; i++) g[i] = (d[i] + d[n + i] + d[2 * n + i]) / 3f;
        return new Image(1, rgb.height(), rgb.width(), g);
    }
}
