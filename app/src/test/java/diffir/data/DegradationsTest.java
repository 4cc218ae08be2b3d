package diffir.data;

import diffir.image.Image;
import diffir.image.Resize;
import diffir.metrics.Psnr;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class DegradationsTest {

    /** A smooth RGB test picture with some texture, values in [0, 1]. */
    static Image picture(int h, int w, long seed) {
        return picture(h, w, seed, 0.15);
    }

    /** The same with the fine, colourful texture at the given amplitude. */
    static Image picture(int h, int w, long seed, double texture) {
        SplittableRandom r = new SplittableRandom(seed);
        double fy = 0.05 + 0.2 * r.nextDouble(), fx = 0.05 + 0.2 * r.nextDouble(), ph = 6 * r.nextDouble();
        Image img = Image.zeros(3, h, w);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    img.set(c, y, x, (float) (0.5 + 0.3 * Math.sin(fy * y + fx * x + ph + 0.3 * c) + texture * Math.sin(0.9 * x - 0.7 * y + c)));
        return img;
    }

    @Test
    void everyTaskIsDeterministicAndHasItsGeometry() {
        Image gt = picture(32, 40, 1);
        for (Task t : Task.values()) {
            LqGt a = t.synthesise(gt, Seeds.rng(5)), b = t.synthesise(gt, Seeds.rng(5)), c = t.synthesise(gt, Seeds.rng(6));
            assertSame(gt, a.gt());
            assertEquals(t.lqChannels(3), a.lq().channels(), t.id());
            assertEquals(32 / t.scale(), a.lq().height(), t.id());
            assertEquals(40 / t.scale(), a.lq().width(), t.id());
            assertArrayEquals(a.lq().data(), b.lq().data(), t.id() + " is deterministic");
            assertFalse(Arrays.equals(a.lq().data(), c.lq().data()), t.id() + " varies with the seed");
            for (float v : a.lq().data()) assertTrue(v >= 0 && v <= 1, t.id() + " value " + v);
        }
    }

    @Test
    void deblurInputsAreBlurredEightBitImages() {
        Image gt = picture(48, 48, 2);
        double gtEnergy = gradientEnergy(gt);
        int blurrier = 0;
        for (int seed = 0; seed < 10; seed++) {
            Image lq = Task.DEBLUR.synthesise(gt, Seeds.rng(seed)).lq();
            for (float v : lq.data()) assertEquals(Math.rint(v * 255), v * 255, 1e-3, "on the 8-bit grid");
            if (gradientEnergy(lq) < 0.9 * gtEnergy) blurrier++;
        }
        assertTrue(blurrier >= 9, blurrier + " of 10 blurred inputs lost detail");
    }

    @Test
    void superResolutionInputsResembleTheShrunkGroundTruth() {
        Image gt = picture(64, 64, 3, 0);
        for (Task t : new Task[]{Task.SR2, Task.SR4}) {
            Image lq = t.synthesise(gt, Seeds.rng(9)).lq();
            double psnr = Psnr.compute(lq, Resize.area(gt, t.scale()), 0, false);
            assertTrue(psnr > 22 && psnr < 60, t.id() + ": PSNR against the area-shrunk GT " + psnr);
        }
        var e = assertThrows(IllegalArgumentException.class, () -> Task.SR4.synthesise(picture(30, 32, 1), Seeds.rng(1)));
        assertTrue(e.getMessage().contains("divisible by 4"), e.getMessage());
    }

    @Test
    void inpaintingInputIsMaskedImagePlusMask() {
        Image gt = picture(64, 48, 4);
        double coverage = 0;
        for (int seed = 0; seed < 20; seed++) {
            Image lq = Task.INPAINT.synthesise(gt, Seeds.rng(seed)).lq();
            int n = gt.planeSize(), holes = 0;
            for (int i = 0; i < n; i++) {
                float m = lq.data()[3 * n + i];
                assertTrue(m == 0f || m == 1f, "binary mask");
                if (m == 1f) holes++;
                for (int c = 0; c < 3; c++) assertEquals(gt.data()[c * n + i] * (1 - m), lq.data()[c * n + i]);
            }
            assertTrue(holes > 0 && holes < n, "seed " + seed + ": " + holes + " holes of " + n);
            coverage += holes / (double) n / 20;
        }
        assertTrue(coverage > 0.05 && coverage < 0.8, "mean hole coverage " + coverage);
        Image pred = picture(64, 48, 5), mask = InpaintMasks.random(64, 48, Seeds.rng(1));
        Image out = InpaintMasks.composite(pred, gt, mask);
        for (int i = 0; i < gt.planeSize(); i++)
            assertEquals(mask.data()[i] == 1f ? pred.data()[i] : gt.data()[i], out.data()[i]);
    }

    @Test
    void noiseHasTheRequestedSigmaAndGrayNoiseIsShared() {
        Image flat = Image.zeros(3, 64, 64);
        Arrays.fill(flat.data(), 0.5f);
        Image noisy = Noise.gaussian(flat, 0.05, false, Seeds.rng(1));
        double ss = 0;
        for (float v : noisy.data()) ss += (v - 0.5) * (v - 0.5);
        assertEquals(0.05, Math.sqrt(ss / noisy.data().length), 0.002);
        Image gray = Noise.gaussian(flat, 0.05, true, Seeds.rng(1));
        for (int i = 0; i < gray.planeSize(); i++) {
            assertEquals(gray.data()[i], gray.data()[gray.planeSize() + i]);
            assertEquals(gray.data()[i], gray.data()[2 * gray.planeSize() + i]);
        }
        for (float v : Noise.gaussian(flat, 2.0, false, Seeds.rng(2)).data()) assertTrue(v >= 0 && v <= 1);
    }

    @Test
    void jpegQualityControlsTheLoss() {
        Image img = picture(40, 56, 6, 0.05);
        double high = Psnr.compute(Jpeg.compress(img, 95), img, 0, false), low = Psnr.compute(Jpeg.compress(img, 10), img, 0, false);
        assertTrue(high > 35, "quality 95: " + high);
        assertTrue(low < high - 5, "quality 10: " + low + " vs " + high);
        Image gray = img.channels(1, 1);
        assertEquals(1, Jpeg.compress(gray, 50).channels());
        assertThrows(IllegalArgumentException.class, () -> Jpeg.compress(img, 0));
    }

    @Test
    void tasksParseByName() {
        assertEquals(Task.SR4, Task.parse("sr4"));
        assertEquals(Task.DEBLUR, Task.parse(" Deblur"));
        var e = assertThrows(IllegalArgumentException.class, () -> Task.parse("denoise"));
        assertTrue(e.getMessage().contains("deblur, sr2, sr4, inpaint"), e.getMessage());
        for (Task t : Task.values()) assertEquals(0, t.contextMargin() % t.scale());
    }

    @Test
    void seededStreamsAreKeyedByEveryPart() {
        assertEquals(Seeds.rng(1, 2, 3).nextLong(), Seeds.rng(1, 2, 3).nextLong());
        assertNotEquals(Seeds.rng(1, 2, 3).nextLong(), Seeds.rng(1, 3, 2).nextLong());
        assertNotEquals(Seeds.rng(1, 2).nextLong(), Seeds.rng(2, 2).nextLong());
        double sum = 0, sq = 0;
        SplittableRandom r = Seeds.rng(3);
        for (int i = 0; i < 20000; i++) {
            double v = Seeds.normal(r);
            sum += v;
            sq += v * v;
        }
        assertEquals(0, sum / 20000, 0.03);
        assertEquals(1, sq / 20000, 0.04);
    }

    private static double gradientEnergy(Image img) {
        double e = 0;
        for (int c = 0; c < img.channels(); c++)
            for (int y = 0; y < img.height(); y++)
                for (int x = 1; x < img.width(); x++) {
                    double d = img.get(c, y, x) - img.get(c, y, x - 1);
                    e += d * d;
                }
        return e;
    }
}
