package diffir.image;

import diffir.engine.testing.Assert;
import diffir.testing.JsonFixtures;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class ResizeTest {

    /** Against gen_metrics.py's float64 matrix form of MATLAB's bicubic imresize. */
    @Test
    @SuppressWarnings("unchecked")
    void bicubicMatchesMatlabImresize() {
        int checked = 0;
        for (Map<String, Object> c : JsonFixtures.cases("imresize")) {
            Image in = JsonFixtures.image(c.get("shape"), c.get("input"));
            for (Map<String, Object> o : (List<Map<String, Object>>) c.get("outputs")) {
                double scale = JsonFixtures.number(o.get("scale"));
                Image out = Resize.bicubic(in, scale);
                int[] s = JsonFixtures.ints(o.get("shape"));
                String what = in.shapeString() + " x" + scale;
                assertArrayEquals(s, new int[]{out.channels(), out.height(), out.width()}, what);
                Assert.close(out.data(), JsonFixtures.floats(o.get("values")), 1e-6, what);
                checked++;
            }
        }
        assertEquals(7, checked);
    }

    @Test
    void bicubicKeepsConstantsAndIsIdentityAtScaleOne() {
        Image flat = Image.zeros(2, 12, 10);
        java.util.Arrays.fill(flat.data(), 0.3f);
        for (float v : Resize.bicubic(flat, 0.25).data()) assertEquals(0.3f, v, 1e-6f);
        Image img = TestImages.ramp(3, 7, 9);
        Assert.close(Resize.bicubic(img, 1.0).data(), img.data(), 1e-7, "scale 1");
    }

    @Test
    void areaAveragesBlocks() {
        Image img = new Image(1, 2, 4, new float[]{1, 2, 3, 4, 5, 6, 7, 8});
        assertArrayEquals(new float[]{3.5f, 5.5f}, Resize.area(img, 2).data());
        var e = assertThrows(IllegalArgumentException.class, () -> Resize.area(Image.zeros(3, 9, 8), 2));
        assertTrue(e.getMessage().contains("3x9x8") && e.getMessage().contains("multiples"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Resize.bicubicDown(Image.zeros(3, 8, 10), 4));
    }

    @Test
    void nearestRepeatsPixelsAndAreaUndoesIt() {
        Image img = TestImages.ramp(3, 5, 7);
        Image up = Resize.nearestUp(img, 4);
        assertEquals(20, up.height());
        assertEquals(28, up.width());
        assertEquals(img.get(2, 3, 6), up.get(2, 15, 27));
        assertArrayEquals(img.data(), Resize.area(up, 4).data());
    }

    @Test
    void symmetricAndReflectBorders() {
        int[] reflect = new int[9], symmetric = new int[9];
        for (int i = -3; i < 6; i++) {
            reflect[i + 3] = Borders.reflect(i, 3);
            symmetric[i + 3] = Borders.symmetric(i, 3);
        }
        assertArrayEquals(new int[]{1, 2, 1, 0, 1, 2, 1, 0, 1}, reflect);
        assertArrayEquals(new int[]{2, 1, 0, 0, 1, 2, 2, 1, 0}, symmetric);
        assertEquals(0, Borders.reflect(-5, 1));
    }
}
