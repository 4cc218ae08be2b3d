package diffir.data;

import diffir.image.Image;
import diffir.image.ImageFiles;
import diffir.image.InvalidImageException;
import diffir.image.Resize;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;

import static org.junit.jupiter.api.Assertions.*;

class TrainingSetTest {
    final ImageCache cache = new ImageCache(1 << 22);

    /** GT folder: three RGB pictures and one gray one, of different sizes. */
    static Path gtFolder(Path dir) throws IOException {
        Path gt = Files.createDirectories(dir.resolve("gt"));
        ImageFiles.writePng(gt.resolve("a.png"), DegradationsTest.picture(40, 52, 1));
        ImageFiles.writePng(gt.resolve("b.png"), DegradationsTest.picture(48, 48, 2));
        ImageFiles.writePng(gt.resolve("c.png"), DegradationsTest.picture(64, 36, 3));
        ImageFiles.writePng(gt.resolve("d.png"), DegradationsTest.picture(44, 44, 4).channels(0, 1));
        Files.writeString(gt.resolve("notes.txt"), "not an image, ignored by extension");
        return gt;
    }

    @Test
    void batchesAreNchwDeterministicAndResumable(@TempDir Path dir) throws IOException {
        TrainingSet set = new TrainingSet(SyntheticPairs.fromFolder(gtFolder(dir), Task.DEBLUR, cache), 123, true);
        Batch b = set.batch(5, 4, 24);
        assertArrayEquals(new int[]{4, 3, 24, 24}, b.lqShape());
        assertArrayEquals(new int[]{4, 3, 24, 24}, b.gtShape());
        assertArrayEquals(new int[]{4, 3, 24, 24}, b.lqTensor(diffir.engine.Device.CPU).shape());
        Batch again = set.batch(5, 4, 24);
        assertArrayEquals(b.lq(), again.lq());
        assertArrayEquals(b.gt(), again.gt());
        assertFalse(java.util.Arrays.equals(b.gt(), set.batch(6, 4, 24).gt()));
        // A fresh set with the same seed, resumed at step 5, continues exactly.
        TrainingSet resumed = new TrainingSet(SyntheticPairs.fromFolder(dir.resolve("gt"), Task.DEBLUR, new ImageCache(0)), 123, true);
        Iterator<Batch> it = resumed.stream(5, 4, 24);
        assertArrayEquals(b.lq(), it.next().lq());
        assertArrayEquals(set.batch(6, 4, 24).lq(), it.next().lq());
        assertFalse(java.util.Arrays.equals(b.gt(), new TrainingSet(set.source(), 124, true).batch(5, 4, 24).gt()));
    }

    /** Inpainting LQ = GT * (1 - mask) + mask: checks crops, flips and rotations hit LQ and GT alike. */
    @Test
    void augmentationKeepsInpaintingPairsAligned(@TempDir Path dir) throws IOException {
        TrainingSet set = new TrainingSet(SyntheticPairs.fromFolder(gtFolder(dir), Task.INPAINT, cache), 7, true);
        for (int step = 0; step < 6; step++) {
            Batch b = set.batch(step, 3, 32);
            assertArrayEquals(new int[]{3, 4, 32, 32}, b.lqShape());
            for (int i = 0; i < 3; i++) {
                LqGt p = b.pair(i);
                int n = p.gt().planeSize();
                for (int c = 0; c < 3; c++)
                    for (int j = 0; j < n; j++)
                        assertEquals(p.gt().data()[c * n + j] * (1 - p.lq().data()[3 * n + j]), p.lq().data()[c * n + j]);
            }
        }
    }

    /** Stored x2 pairs whose LQ is the area-shrunk GT stay so after random crops and all flips/rotations. */
    @Test
    void augmentationKeepsSuperResolutionPairsAligned(@TempDir Path dir) throws IOException {
        Path gtDir = Files.createDirectories(dir.resolve("pairs/gt")), lqDir = Files.createDirectories(dir.resolve("pairs/lq"));
        for (int i = 0; i < 3; i++) {
            Image gt = DegradationsTest.picture(40 + 8 * i, 56 - 4 * i, i);
            ImageFiles.writePng(gtDir.resolve(i + ".png"), gt, null, 16);
            ImageFiles.writePng(lqDir.resolve(i + ".png"), Resize.area(gt, 2), null, 16);
        }
        TrainingSet set = new TrainingSet(FolderPairs.fromFolder(dir.resolve("pairs"), Task.SR2, cache), 1, true);
        for (int step = 0; step < 8; step++) {
            Batch b = set.batch(step, 2, 16);
            assertArrayEquals(new int[]{2, 3, 8, 8}, b.lqShape());
            assertArrayEquals(new int[]{2, 3, 16, 16}, b.gtShape());
            for (int i = 0; i < 2; i++) {
                LqGt p = b.pair(i);
                float[] expect = Resize.area(p.gt(), 2).data();
                for (int j = 0; j < expect.length; j++) assertEquals(expect[j], p.lq().data()[j], 2e-5f, "step " + step + " sample " + i);
            }
        }
    }

    /** Synthetic x4 pairs: the LQ matches the shrunk GT at its own position better than one LR pixel off. */
    @Test
    void syntheticSuperResolutionPairsAreAligned(@TempDir Path dir) throws IOException {
        Path gt = Files.createDirectories(dir.resolve("gt"));
        ImageFiles.writePng(gt.resolve("p.png"), DegradationsTest.picture(96, 96, 8, 0));
        TrainingSet set = new TrainingSet(SyntheticPairs.fromFolder(gt, Task.SR4, cache), 3, true);
        for (int step = 0; step < 4; step++) {
            LqGt p = set.batch(step, 1, 48).pair(0);
            assertEquals(12, p.lq().height());
            Image shrunk = Resize.area(p.gt(), 4);
            double aligned = mse(p.lq(), shrunk, 0, 0), shifted = Math.min(mse(p.lq(), shrunk, 1, 0), mse(p.lq(), shrunk, 0, 1));
            assertTrue(aligned < shifted, "step " + step + ": aligned " + aligned + " vs shifted " + shifted);
        }
    }

    @Test
    void validationPairsAreFixed(@TempDir Path dir) throws IOException {
        PairSource src = SyntheticPairs.fromFolder(gtFolder(dir), Task.SR4, cache);
        ValidationSet crops = new ValidationSet(src, 32, 99), whole = new ValidationSet(src, 0, 99);
        assertEquals(4, crops.size());
        assertEquals("a.png", crops.name(0));
        LqGt a = crops.get(1), b = crops.get(1);
        assertArrayEquals(a.lq().data(), b.lq().data());
        assertEquals(32, a.gt().height());
        assertEquals(8, a.lq().width());
        // The centred crop of image b (48x48) starts at (8, 8).
        Image gtB = ImageFiles.readRgb(dir.resolve("gt/b.png"));
        assertArrayEquals(gtB.crop(8, 8, 32, 32).data(), a.gt().data());
        LqGt w = whole.get(0); // 40x52: already multiples of 4
        assertEquals(40, w.gt().height());
        assertEquals(13, w.lq().width());
        LqGt c = whole.get(2); // 64x36
        assertEquals(9, c.lq().width());
        assertThrows(IndexOutOfBoundsException.class, () -> crops.get(4));
    }

    @Test
    void imagesSmallerThanThePatchAreNamed(@TempDir Path dir) throws IOException {
        TrainingSet set = new TrainingSet(SyntheticPairs.fromFolder(gtFolder(dir), Task.DEBLUR, cache), 1, false);
        var e = assertThrows(InvalidImageException.class, () -> set.batch(0, 8, 40));
        assertTrue(e.getMessage().contains(".png") && e.getMessage().contains("smaller than the 40x40 training patch"), e.getMessage());
        var odd = assertThrows(IllegalArgumentException.class,
                () -> new TrainingSet(SyntheticPairs.fromFolder(dir.resolve("gt"), Task.SR4, cache), 1, false).batch(0, 1, 30));
        assertTrue(odd.getMessage().contains("multiple of the scale 4"), odd.getMessage());
    }

    @Test
    void pairFoldersAreCheckedUpFront(@TempDir Path dir) throws IOException {
        Path gt = Files.createDirectories(dir.resolve("gt")), lq = Files.createDirectories(dir.resolve("lq"));
        ImageFiles.writePng(gt.resolve("x.png"), Image.zeros(3, 32, 32));
        ImageFiles.writePng(lq.resolve("x.png"), Image.zeros(3, 16, 15));
        var e = assertThrows(InvalidImageException.class, () -> FolderPairs.fromFolder(dir, Task.SR2, cache));
        assertTrue(e.getMessage().contains("gt/x.png") && e.getMessage().contains("lq/x.png") && e.getMessage().contains("16x15"), e.getMessage());
        ImageFiles.writePng(lq.resolve("x.png"), Image.zeros(3, 16, 16));
        assertEquals(1, FolderPairs.fromFolder(dir, Task.SR2, cache).size());
        var sizes = assertThrows(InvalidImageException.class, () -> FolderPairs.fromFolder(dir, Task.DEBLUR, cache));
        assertTrue(sizes.getMessage().contains("same size"), sizes.getMessage());
        ImageFiles.writePng(gt.resolve("y.png"), Image.zeros(3, 32, 32));
        var missing = assertThrows(IOException.class, () -> FolderPairs.fromFolder(dir, Task.SR2, cache));
        assertTrue(missing.getMessage().contains("y.png") && missing.getMessage().contains("no LQ image"), missing.getMessage());
        assertThrows(IllegalArgumentException.class, () -> FolderPairs.fromFolder(dir, Task.INPAINT, cache));
        var empty = assertThrows(IOException.class, () -> ImageFolders.list(Files.createDirectories(dir.resolve("empty"))));
        assertTrue(empty.getMessage().contains("no image files"), empty.getMessage());
    }

    @Test
    void cacheKeepsWithinItsBudget(@TempDir Path dir) throws IOException {
        Path gt = gtFolder(dir);
        ImageCache small = new ImageCache(3 * 48 * 48 + 10);
        Image b1 = small.rgb(gt.resolve("b.png"));
        assertSame(b1, small.rgb(gt.resolve("b.png")));
        small.rgb(gt.resolve("a.png")); // evicts b
        assertNotSame(b1, small.rgb(gt.resolve("b.png")));
        assertEquals(3, small.rgb(gt.resolve("d.png")).channels()); // gray expanded
    }

    private static double mse(Image lq, Image ref, int dy, int dx) {
        double s = 0;
        int n = 0;
        for (int c = 0; c < lq.channels(); c++)
            for (int y = 1; y < lq.height() - 1; y++)
                for (int x = 1; x < lq.width() - 1; x++) {
                    double d = lq.get(c, y, x) - ref.get(c, y + dy, x + dx);
                    s += d * d;
                    n++;
                }
        return s / n;
    }
}
