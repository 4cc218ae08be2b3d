package diffir.image;

import diffir.engine.testing.Assert;
import diffir.testing.JsonFixtures;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class ConvolutionTest {

    /** Against gen_filters.py (numpy reflect padding, direct float64 sum), including a pad wider than the image. */
    @Test
    void matchesNumpyReference() {
        int checked = 0;
        for (Map<String, Object> c : JsonFixtures.cases("convolution")) {
            Image in = JsonFixtures.image(c.get("shape"), c.get("input"));
            int size = (int) JsonFixtures.number(c.get("size"));
            Image out = Convolution.reflect(in, new Kernel(size, JsonFixtures.floats(c.get("kernel"))));
            Assert.close(out.data(), JsonFixtures.floats(c.get("output")), 1e-6, in.shapeString() + " * " + size + "x" + size);
            checked++;
        }
        assertEquals(3, checked);
    }

    @Test
    void aShiftedDeltaMovesContentWithMirroredBorders() {
        // A delta right of centre: out(y, x) = in(y, x - 1), mirrored at x = 0 (in(y, -1) = in(y, 1)).
        float[] k = new float[9];
        k[1 * 3 + 2] = 1;
        Image img = TestImages.ramp(2, 4, 5);
        Image out = Convolution.reflect(img, new Kernel(3, k));
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < 4; y++) {
                assertEquals(img.get(c, y, 1), out.get(c, y, 0));
                for (int x = 1; x < 5; x++) assertEquals(img.get(c, y, x - 1), out.get(c, y, x));
            }
    }

    @Test
    void kernelsMustBeOddSquares() {
        assertThrows(IllegalArgumentException.class, () -> new Kernel(4, new float[16]));
        assertThrows(IllegalArgumentException.class, () -> new Kernel(3, new float[8]));
        assertThrows(IllegalArgumentException.class, () -> Kernel.normalized(3, new double[9]));
    }
}
