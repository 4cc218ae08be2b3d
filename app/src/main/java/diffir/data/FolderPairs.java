package diffir.data;

import diffir.image.Image;
import diffir.image.ImageFiles;
import diffir.image.InvalidImageException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Stored pairs: DIR/lq and DIR/gt hold images of the same file names, used as given; each GT must be
 * exactly scale times its LQ in both sides.
 */
public final class FolderPairs implements PairSource {
    private final List<Path> lq, gt;
    private final int scale;
    private final ImageCache cache;
    private final int[][] gtDims; // {height, width} per GT file, or null when not read up front

    public FolderPairs(List<Path> lqFiles, List<Path> gtFiles, int scale, ImageCache cache) {
        this(lqFiles, gtFiles, scale, cache, null);
    }

    private FolderPairs(List<Path> lqFiles, List<Path> gtFiles, int scale, ImageCache cache, int[][] gtDims) {
        if (lqFiles.size() != gtFiles.size() || lqFiles.isEmpty())
            throw new IllegalArgumentException(lqFiles.size() + " LQ and " + gtFiles.size() + " GT files; need the same positive number");
        if (scale <= 0) throw new IllegalArgumentException("scale must be positive, got " + scale);
        this.lq = List.copyOf(lqFiles);
        this.gt = List.copyOf(gtFiles);
        this.scale = scale;
        this.cache = cache;
        this.gtDims = gtDims;
    }

    /**
     * The pairs of dir/lq and dir/gt, matched by file name. Every file needs its partner, and the
     * headers are checked up front for sizes that do not match the task's scale.
     */
    public static FolderPairs fromFolder(Path dir, Task task, ImageCache cache) throws IOException {
        if (task == Task.INPAINT)
            throw new IllegalArgumentException("inpainting trains from GT images alone (masks are generated); give a folder of images, not lq/gt pairs");
        Path lqDir = dir.resolve("lq"), gtDir = dir.resolve("gt");
        TreeMap<String, Path> lqByName = byName(ImageFolders.list(lqDir)), gtByName = byName(ImageFolders.list(gtDir));
        for (String n : lqByName.keySet())
            if (!gtByName.containsKey(n)) throw new IOException(lqDir.resolve(n) + ": no GT image of the same name in " + gtDir);
        for (String n : gtByName.keySet())
            if (!lqByName.containsKey(n)) throw new IOException(gtDir.resolve(n) + ": no LQ image of the same name in " + lqDir);
        List<Path> lqs = new ArrayList<>(lqByName.values()), gts = new ArrayList<>(gtByName.values());
        int[][] dims = new int[gts.size()][];
        for (int i = 0; i < lqs.size(); i++) {
            dims[i] = ImageFiles.dimensions(gts.get(i));
            checkSizes(lqs.get(i), ImageFiles.dimensions(lqs.get(i)), gts.get(i), dims[i], task.scale());
        }
        return new FolderPairs(lqs, gts, task.scale(), cache, dims);
    }

    private static TreeMap<String, Path> byName(List<Path> files) {
        TreeMap<String, Path> m = new TreeMap<>();
        for (Path p : files) m.put(p.getFileName().toString(), p);
        return m;
    }

    private static void checkSizes(Path lqFile, int[] lqHw, Path gtFile, int[] gtHw, int scale) throws InvalidImageException {
        if (gtHw[0] != lqHw[0] * scale || gtHw[1] != lqHw[1] * scale)
            throw new InvalidImageException(gtFile, "is " + gtHw[0] + "x" + gtHw[1] + " but its LQ " + lqFile + " is " + lqHw[0] + "x" + lqHw[1]
                    + (scale == 1 ? "; they must be the same size" : "; GT must be exactly " + scale + " times larger"));
    }

    @Override
    public int size() {
        return gt.size();
    }

    @Override
    public String name(int index) {
        return gt.get(index).getFileName().toString();
    }

    @Override
    public int scale() {
        return scale;
    }

    /** The whole stored pair. */
    public LqGt load(int index) throws IOException {
        Image l = cache.rgb(lq.get(index)), g = cache.rgb(gt.get(index));
        checkSizes(lq.get(index), new int[]{l.height(), l.width()}, gt.get(index), new int[]{g.height(), g.width()}, scale);
        return new LqGt(l, g);
    }

    @Override
    public void checkPatch(int patch) throws IOException {
        Patches.requirePatch(patch, scale);
        for (int i = 0; i < gt.size(); i++) {
            int[] d = gtDims != null ? gtDims[i] : ImageFiles.dimensions(gt.get(i));
            if (d[0] < patch || d[1] < patch) throw Patches.tooSmall(gt.get(i), d[0], d[1], patch, "training patch");
        }
    }

    @Override
    public LqGt randomPatch(int index, int patch, SplittableRandom rng) throws IOException {
        Patches.requirePatch(patch, scale);
        LqGt p = load(index);
        int lp = patch / scale;
        if (p.lq().height() < lp || p.lq().width() < lp)
            throw Patches.tooSmall(gt.get(index), p.gt().height(), p.gt().width(), patch, "training patch");
        int y = rng.nextInt(p.lq().height() - lp + 1), x = rng.nextInt(p.lq().width() - lp + 1);
        return new LqGt(p.lq().crop(y, x, lp, lp), p.gt().crop(y * scale, x * scale, patch, patch));
    }

    @Override
    public LqGt fixed(int index, int crop, SplittableRandom rng) throws IOException {
        LqGt p = load(index);
        if (crop <= 0) return p;
        Patches.requirePatch(crop, scale);
        crop = Patches.fitCrop(crop, p.gt().height(), p.gt().width(), scale);
        int lc = crop / scale;
        if (lc < 1) throw Patches.tooSmall(gt.get(index), p.gt().height(), p.gt().width(), scale, "validation crop");
        int y = (p.lq().height() - lc) / 2, x = (p.lq().width() - lc) / 2;
        return new LqGt(p.lq().crop(y, x, lc, lc), p.gt().crop(y * scale, x * scale, crop, crop));
    }
}
