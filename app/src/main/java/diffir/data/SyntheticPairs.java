package diffir.data;

import diffir.image.Image;
import diffir.image.ImageFiles;
import diffir.image.InvalidImageException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/** Pairs made from ground-truth images by a task's synthetic degradation. */
public final class SyntheticPairs implements PairSource {
    private final List<Path> files;
    private final Task task;
    private final Degradation degradation;
    private final ImageCache cache;
    private int[][] dims; // {height, width} per file from its header, read on first use

    public SyntheticPairs(List<Path> gtFiles, Task task, ImageCache cache) {
        this(gtFiles, task, task::synthesise, cache);
    }

    /** With another degradation than the task's (the same scale; for example milder blur). */
    public SyntheticPairs(List<Path> gtFiles, Task task, Degradation degradation, ImageCache cache) {
        if (gtFiles.isEmpty()) throw new IllegalArgumentException("no ground-truth images given");
        this.files = List.copyOf(gtFiles);
        this.task = task;
        this.degradation = degradation;
        this.cache = cache;
    }

    /** Every image file of a folder. */
    public static SyntheticPairs fromFolder(Path gtDir, Task task, ImageCache cache) throws IOException {
        return new SyntheticPairs(ImageFolders.list(gtDir), task, cache);
    }

    public Task task() {
        return task;
    }

    @Override
    public int size() {
        return files.size();
    }

    @Override
    public String name(int index) {
        return files.get(index).getFileName().toString();
    }

    @Override
    public int scale() {
        return task.scale();
    }

    @Override
    public void checkPatch(int patch) throws IOException {
        Patches.requirePatch(patch, task.scale());
        int[][] d = dimensions();
        for (int i = 0; i < d.length; i++)
            if (d[i][0] < patch || d[i][1] < patch) throw Patches.tooSmall(files.get(i), d[i][0], d[i][1], patch, "training patch");
    }

    private synchronized int[][] dimensions() throws IOException {
        if (dims == null) {
            int[][] d = new int[files.size()][];
            for (int i = 0; i < d.length; i++) d[i] = ImageFiles.dimensions(files.get(i));
            dims = d;
        }
        return dims;
    }

    @Override
    public LqGt randomPatch(int index, int patch, SplittableRandom rng) throws IOException {
        int s = task.scale();
        Patches.requirePatch(patch, s);
        Path file = files.get(index);
        Image gt = cache.rgb(file);
        if (gt.height() < patch || gt.width() < patch)
            throw Patches.tooSmall(file, gt.height(), gt.width(), patch, "training patch");
        int y = rng.nextInt((gt.height() - patch) / s + 1) * s, x = rng.nextInt((gt.width() - patch) / s + 1) * s;
        return degradeInContext(gt, y, x, patch, rng);
    }

    @Override
    public LqGt fixed(int index, int crop, SplittableRandom rng) throws IOException {
        int s = task.scale();
        Path file = files.get(index);
        Image gt = cache.rgb(file);
        if (crop <= 0) {
            if (gt.height() < s || gt.width() < s) throw new InvalidImageException(file, "is smaller than the scale " + s);
            return degradation.apply(gt.modCrop(s), rng);
        }
        Patches.requirePatch(crop, s);
        crop = Patches.fitCrop(crop, gt.height(), gt.width(), s);
        if (crop < s) throw new InvalidImageException(file, "is smaller than the scale " + s);
        return degradeInContext(gt, (gt.height() - crop) / 2 / s * s, (gt.width() - crop) / 2 / s * s, crop, rng);
    }

    /**
     * Degrades the size x size square at (y, x) together with up to the task's context margin of
     * surrounding image, then cuts the square (and its LQ counterpart) out, so blur at the patch
     * border sees real pixels rather than mirrored ones.
     */
    private LqGt degradeInContext(Image gt, int y, int x, int size, SplittableRandom rng) {
        int s = task.scale(), m = task.contextMargin();
        int top = Math.min(m, y) / s * s, left = Math.min(m, x) / s * s;
        int bottom = Math.min(m, gt.height() - y - size) / s * s, right = Math.min(m, gt.width() - x - size) / s * s;
        Image region = gt.crop(y - top, x - left, size + top + bottom, size + left + right);
        LqGt pair = degradation.apply(region, rng);
        if (top + bottom + left + right == 0) return pair;
        return new LqGt(pair.lq().crop(top / s, left / s, size / s, size / s), region.crop(top, left, size, size));
    }
}
