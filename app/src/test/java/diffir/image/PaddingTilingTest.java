package diffir.image;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.*;

class PaddingTilingTest {

    @Test
    void padsByReflectionToAMultipleAndCropsBack() {
        Image img = TestImages.ramp(3, 13, 10);
        Padding.Padded p = Padding.reflectToMultiple(img, 8);
        assertEquals(16, p.image().height());
        assertEquals(16, p.image().width());
        assertEquals(img.get(1, 11, 4), p.image().get(1, 13, 4)); // row 13 mirrors row 11
        assertEquals(img.get(2, 5, 8), p.image().get(2, 5, 10)); // column 10 mirrors column 8
        assertArrayEquals(img.data(), p.cropBack(p.image()).data());
        // A x2 output of the padded input crops back to twice the original size.
        Image up = Resize.nearestUp(p.image(), 2);
        assertArrayEquals(Resize.nearestUp(img, 2).data(), p.cropBack(up, 2).data());
        // Tiny images fold the mirror repeatedly.
        assertEquals(8, Padding.reflectToMultiple(Image.zeros(1, 2, 3), 8).image().height());
    }

    @Test
    void tileStartsCoverTheSideAndEndFlush() {
        assertArrayEquals(new int[]{0}, Tiler.starts(30, 32, 8));
        assertArrayEquals(new int[]{0, 24, 36}, Tiler.starts(68, 32, 8));
        assertArrayEquals(new int[]{0, 24}, Tiler.starts(56, 32, 8));
    }

    /** A pointwise function gives exactly the same result tiled as on the whole image, with either blend. */
    @Test
    void tilingReproducesAPointwiseFunctionExactly() {
        Image img = TestImages.ramp(3, 45, 37);
        UnaryOperator<Image> f = t -> {
            float[] d = t.data().clone();
            for (int i = 0; i < d.length; i++) d[i] = (float) Math.sin(3 * d[i]) * 0.7f + 0.1f;
            return new Image(t.channels(), t.height(), t.width(), d);
        };
        Image whole = f.apply(img);
        for (Tiler.Blend blend : Tiler.Blend.values()) {
            AtomicInteger calls = new AtomicInteger();
            Image tiled = new Tiler(16, 5, 1, blend).apply(img, t -> {
                calls.incrementAndGet();
                assertTrue(t.height() <= 16 && t.width() <= 16);
                return f.apply(t);
            });
            assertArrayEquals(whole.data(), tiled.data(), blend.toString());
            assertEquals(4 * 3, calls.get()); // rows start 0, 11, 22, 29; columns 0, 11, 21
        }
    }

    @Test
    void superResolutionTilesScaleTheirGeometry() {
        Image img = TestImages.ramp(3, 21, 30);
        for (Tiler.Blend blend : Tiler.Blend.values()) {
            Image tiled = new Tiler(12, 4, 4, blend).apply(img, t -> Resize.nearestUp(t, 4));
            assertArrayEquals(Resize.nearestUp(img, 4).data(), tiled.data());
        }
        // Outputs of the wrong size are reported.
        var e = assertThrows(IllegalArgumentException.class, () -> new Tiler(12, 4, 2, Tiler.Blend.AVERAGE).apply(img, t -> t));
        assertTrue(e.getMessage().contains("expected 24x24"), e.getMessage());
    }

    @Test
    void rampBlendWeighsTilesTowardTheirCentres() {
        // Two constant tiles that disagree: the ramp moves smoothly from one value to the other across the overlap.
        Image img = Image.zeros(1, 1, 24);
        AtomicInteger n = new AtomicInteger();
        Image out = new Tiler(16, 8, 1, Tiler.Blend.LINEAR_RAMP).apply(img, t -> {
            Image o = Image.zeros(1, t.height(), t.width());
            java.util.Arrays.fill(o.data(), n.getAndIncrement() == 0 ? 0f : 1f);
            return o;
        });
        assertEquals(0f, out.get(0, 0, 7));
        assertEquals(1f, out.get(0, 0, 16));
        for (int x = 8; x < 16; x++) {
            assertTrue(out.get(0, 0, x) > out.get(0, 0, x - 1), "increasing at " + x);
        }
    }
}
