package diffir.image;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class GeometryTest {
    final Image img = TestImages.ramp(2, 3, 5);

    @Test
    void flipsAndTransposeMoveEachPixelWhereExpected() {
        Image h = Geometry.flipHorizontal(img), v = Geometry.flipVertical(img), t = Geometry.transpose(img);
        assertEquals(5, t.height());
        assertEquals(3, t.width());
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 5; x++) {
                    assertEquals(img.get(c, y, x), h.get(c, y, 4 - x));
                    assertEquals(img.get(c, y, x), v.get(c, 2 - y, x));
                    assertEquals(img.get(c, y, x), t.get(c, x, y));
                }
    }

    @Test
    void quarterTurnsAreCounterClockwiseAndCompose() {
        Image r = Geometry.rotate90(img, 1);
        // Counter-clockwise: the top-right corner becomes the top-left.
        assertEquals(img.get(0, 0, 4), r.get(0, 0, 0));
        assertEquals(img.get(1, 2, 4), r.get(1, 0, 2));
        assertArrayEquals(img.data(), Geometry.rotate90(Geometry.rotate90(img, 3), 1).data());
        assertArrayEquals(Geometry.rotate90(img, 2).data(), Geometry.rotate90(r, 1).data());
        assertArrayEquals(Geometry.rotate90(img, -1).data(), Geometry.rotate90(img, 3).data());
    }

    @Test
    void cropAndChannels() {
        Image c = img.crop(1, 2, 2, 3);
        assertEquals(img.get(1, 2, 4), c.get(1, 1, 2));
        assertThrows(IllegalArgumentException.class, () -> img.crop(2, 0, 2, 1));
        Image both = Image.concat(img.channels(1, 1), img.channels(0, 1));
        assertEquals(img.get(0, 1, 1), both.get(1, 1, 1));
        assertEquals(4, img.modCrop(2).width());
        assertThrows(IllegalArgumentException.class, () -> img.modCrop(4));
        assertEquals(2, img.modCrop(2).height());
    }
}
