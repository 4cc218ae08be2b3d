package diffir.metrics;

import diffir.image.Image;
import diffir.testing.JsonFixtures;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** PSNR and SSIM against gen_metrics.py's implementation of basicsr's definitions. */
class MetricsTest {

    @Test
    @SuppressWarnings("unchecked")
    void matchBasicsrReference() {
        int checked = 0;
        for (Map<String, Object> c : JsonFixtures.cases("metrics")) {
            Image a = JsonFixtures.image(c.get("shape"), c.get("a")), b = JsonFixtures.image(c.get("shape"), c.get("b"));
            for (Map<String, Object> r : (List<Map<String, Object>>) c.get("results")) {
                int crop = (int) JsonFixtures.number(r.get("crop"));
                boolean y = (Boolean) r.get("y");
                String what = c.get("name") + " crop " + crop + " y " + y;
                double psnr = Psnr.compute(a, b, crop, y), ssim = Ssim.compute(a, b, crop, y);
                double refPsnr = JsonFixtures.number(r.get("psnr")), refSsim = JsonFixtures.number(r.get("ssim"));
                assertEquals(refPsnr, psnr, 1e-9 * Math.abs(refPsnr), what + ": PSNR");
                assertEquals(refSsim, ssim, 1e-9, what + ": SSIM");
                checked++;
            }
        }
        assertEquals(16, checked);
    }

    @Test
    void identicalImagesAreInfinitePsnrAndUnitSsim() {
        Image a = ramp(3, 16, 15);
        assertEquals(Double.POSITIVE_INFINITY, Psnr.compute(a, a.copy(), 0, false));
        assertEquals(1.0, Ssim.compute(a, a.copy(), 2, true), 1e-12);
    }

    @Test
    void quantisesBeforeComparing() {
        // Differences below half a code vanish, as in basicsr where both images are saved as 8-bit first.
        Image a = Image.zeros(1, 12, 12), b = a.copy();
        for (int i = 0; i < a.data().length; i++) {
            a.data()[i] = (i * 7 % 256) / 255f; // exactly on codes
            b.data()[i] = a.data()[i] + (i % 2 == 0 ? 0.4f : -0.4f) / 255;
        }
        assertEquals(Double.POSITIVE_INFINITY, Psnr.compute(a, b, 0, false));
    }

    @Test
    void knownPsnrOfAUniformOffset() {
        // Every code differs by 5: MSE 25, PSNR = 10 log10(255^2 / 25).
        Image a = Image.zeros(3, 7, 9), b = Image.zeros(3, 7, 9);
        java.util.Arrays.fill(a.data(), 100 / 255f);
        java.util.Arrays.fill(b.data(), 105 / 255f);
        assertEquals(10 * Math.log10(255.0 * 255.0 / 25), Psnr.compute(a, b, 1, false), 1e-12);
    }

    @Test
    void rejectsBadInputsClearly() {
        Image a = ramp(3, 20, 20);
        var e = assertThrows(IllegalArgumentException.class, () -> Psnr.compute(a, ramp(3, 20, 21), 0, false));
        assertTrue(e.getMessage().contains("3x20x20") && e.getMessage().contains("3x20x21"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Ssim.compute(a, a, 5, false));
        assertTrue(e.getMessage().contains("needs at least 11x11"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Psnr.compute(a, a, -1, false));
    }

    @Test
    void lumaMatchesBt601OnPrimaries() {
        // Y = 16 + (65.481 R + 128.553 G + 24.966 B) with R, G, B in [0, 1].
        assertEquals(16 + 65.481, MetricPlanes.luma(255, 0, 0), 1e-4);
        assertEquals(16 + 128.553, MetricPlanes.luma(0, 255, 0), 1e-4);
        assertEquals(16 + 24.966, MetricPlanes.luma(0, 0, 255), 1e-4);
        assertEquals(235, MetricPlanes.luma(255, 255, 255), 1e-4);
    }

    static Image ramp(int c, int h, int w) {
        Image img = Image.zeros(c, h, w);
        for (int i = 0; i < img.data().length; i++) img.data()[i] = (i * 37 % 251) / 250f;
        return img;
    }
}
