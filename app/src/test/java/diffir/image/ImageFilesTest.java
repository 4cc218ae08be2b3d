package diffir.image;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Decoding files written by other encoders (gen_images.py: PIL and a hand-written 16-bit PNG
 * writer), round trips through our PNG writer, and clear errors for broken files.
 */
class ImageFilesTest {
    static final int W = 13, H = 9;

    // The formulas gen_images.py used.
    static int v8(int c, int y, int x) { return (x * 7 + y * 13 + c * 50) % 256; }
    static int v16(int c, int y, int x) { return (x * 2671 + y * 4099 + c * 13001) % 65536; }
    static int alpha8(int y, int x) { return (x * 31 + y * 17) % 256; }
    static final int[][] PALETTE = {{255, 0, 0}, {0, 128, 255}, {20, 200, 40}, {250, 250, 250}};

    static Path resource(String name) {
        try {
            return Path.of(ImageFilesTest.class.getResource("/images/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static void assertPixels(Image img, int channels, Expect expect, float max) {
        assertEquals(channels, img.channels());
        assertEquals(H, img.height());
        assertEquals(W, img.width());
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++)
                    assertEquals(expect.at(c, y, x) / max, img.get(c, y, x), 0f, "pixel c" + c + " y" + y + " x" + x);
    }

    interface Expect { int at(int c, int y, int x); }

    @Test
    void readsEightBitGrayAndRgbExactly() throws IOException {
        LoadedImage g = ImageFiles.read(resource("gray8.png"));
        assertPixels(g.image(), 1, ImageFilesTest::v8, 255f);
        assertFalse(g.hasAlpha());
        assertEquals(8, g.bitDepth());
        assertEquals("png", g.format());
        LoadedImage rgb = ImageFiles.read(resource("rgb8.png"));
        assertPixels(rgb.image(), 3, ImageFilesTest::v8, 255f);
        assertPixels(ImageFiles.read(resource("rgb8.bmp")).image(), 3, ImageFilesTest::v8, 255f);
        // A caller may expand gray to RGB.
        Image expanded = g.rgb();
        assertEquals(3, expanded.channels());
        assertEquals(g.image().get(0, 4, 5), expanded.get(2, 4, 5));
    }

    @Test
    void reportsAlphaSeparately() throws IOException {
        LoadedImage rgba = ImageFiles.read(resource("rgba8.png"));
        assertPixels(rgba.image(), 3, ImageFilesTest::v8, 255f);
        assertTrue(rgba.hasAlpha());
        assertPixels(rgba.alpha(), 1, (c, y, x) -> alpha8(y, x), 255f);
        LoadedImage la = ImageFiles.read(resource("gray_alpha8.png"));
        assertPixels(la.image(), 1, ImageFilesTest::v8, 255f);
        assertPixels(la.alpha(), 1, (c, y, x) -> alpha8(y, x), 255f);
    }

    @Test
    void keepsSixteenBitPrecision() throws IOException {
        LoadedImage g = ImageFiles.read(resource("gray16.png"));
        assertEquals(16, g.bitDepth());
        assertPixels(g.image(), 1, ImageFilesTest::v16, 65535f);
        LoadedImage rgb = ImageFiles.read(resource("rgb16.png"));
        assertEquals(16, rgb.bitDepth());
        assertPixels(rgb.image(), 3, ImageFilesTest::v16, 65535f);
    }

    @Test
    void decodesPalettesWithTransparency() throws IOException {
        Expect colour = (c, y, x) -> PALETTE[(x + 2 * y) % 4][c];
        LoadedImage png = ImageFiles.read(resource("palette.png"));
        assertPixels(png.image(), 3, colour, 255f);
        assertPixels(png.alpha(), 1, (c, y, x) -> (x + 2 * y) % 4 == 3 ? 0 : 255, 255f);
        LoadedImage gif = ImageFiles.read(resource("palette.gif"));
        assertPixels(gif.image(), 3, colour, 255f);
    }

    @Test
    void readsJpegApproximately() throws IOException {
        Image jpg = ImageFiles.read(resource("smooth.jpg")).image(), png = ImageFiles.read(resource("smooth.png")).image();
        assertTrue(jpg.sameShape(png));
        double maxErr = 0;
        for (int i = 0; i < png.data().length; i++) maxErr = Math.max(maxErr, Math.abs(jpg.data()[i] - png.data()[i]));
        assertTrue(maxErr < 40 / 255.0, "quality-95 JPEG off by " + maxErr * 255 + " codes");
    }

    @Test
    void roundTripsEightAndSixteenBits(@TempDir Path dir) throws IOException {
        for (int channels : new int[]{1, 3}) {
            Image img = Image.zeros(channels, 7, 11);
            for (int i = 0; i < img.data().length; i++) img.data()[i] = (i * 131 % 256) / 255f;
            Path p8 = dir.resolve("c" + channels + "_8.png");
            ImageFiles.writePng(p8, img);
            LoadedImage back = ImageFiles.read(p8);
            assertArrayEquals(img.data(), back.image().data(), "8-bit, " + channels + " channels");
            assertEquals(8, back.bitDepth());

            Image fine = Image.zeros(channels, 7, 11);
            for (int i = 0; i < fine.data().length; i++) fine.data()[i] = (i * 7919 % 65536) / 65535f;
            Path p16 = dir.resolve("c" + channels + "_16.png");
            ImageFiles.writePng(p16, fine, null, 16);
            LoadedImage back16 = ImageFiles.read(p16);
            assertEquals(16, back16.bitDepth());
            assertArrayEquals(fine.data(), back16.image().data(), "16-bit, " + channels + " channels");
        }
    }

    @Test
    void roundTripsAlpha(@TempDir Path dir) throws IOException {
        LoadedImage src = ImageFiles.read(resource("rgba8.png"));
        Path out = dir.resolve("sub/alpha.png"); // parent folders are created
        ImageFiles.writePng(out, src.image(), src.alpha(), 8);
        LoadedImage back = ImageFiles.read(out);
        assertArrayEquals(src.image().data(), back.image().data());
        assertArrayEquals(src.alpha().data(), back.alpha().data());
        Path out16 = dir.resolve("gray_alpha16.png");
        LoadedImage la = ImageFiles.read(resource("gray_alpha8.png"));
        ImageFiles.writePng(out16, la.image(), la.alpha(), 16);
        LoadedImage back16 = ImageFiles.read(out16);
        assertEquals(16, back16.bitDepth());
        assertArrayEquals(la.image().data(), back16.image().data());
        assertArrayEquals(la.alpha().data(), back16.alpha().data());
    }

    @Test
    void writingQuantisesLikeBasicsr(@TempDir Path dir) throws IOException {
        Image img = new Image(1, 1, 4, new float[]{-0.5f, 0.5f / 255, 1.5f / 255, 2f});
        Path p = dir.resolve("q.png");
        ImageFiles.writePng(p, img);
        // Clamped, and halves round to even: 0.5 -> 0, 1.5 -> 2.
        assertArrayEquals(new float[]{0, 0, 2 / 255f, 1}, ImageFiles.read(p).image().data());
    }

    @Test
    void writeReplacesAtomicallyAndLeavesNoTemporaries(@TempDir Path dir) throws IOException {
        Path p = dir.resolve("x.png");
        ImageFiles.writePng(p, Image.zeros(1, 3, 3));
        ImageFiles.writePng(p, new Image(1, 3, 3, new float[]{1, 1, 1, 1, 1, 1, 1, 1, 1}));
        assertEquals(1f, ImageFiles.read(p).image().get(0, 2, 2));
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count());
        }
    }

    @Test
    void brokenFilesGiveOneClearMessageNamingTheFile() {
        assertBroken("truncated.png", "truncated PNG");
        assertBroken("corrupt_crc.png", "corrupt PNG");
        assertBroken("truncated.jpg", "truncated or corrupt JPEG");
        assertBroken("truncated.gif", "GIF");
        assertBroken("truncated.bmp", "truncated BMP");
        assertBroken("not_an_image.png", "not an image");
        assertBroken("empty.png", "empty file");
    }

    @Test
    void missingFilesAndFoldersAreNamed(@TempDir Path dir) {
        var e = assertThrows(NoSuchFileException.class, () -> ImageFiles.read(dir.resolve("nope.png")));
        assertTrue(e.getMessage().contains("nope.png"), e.getMessage());
        var d = assertThrows(InvalidImageException.class, () -> ImageFiles.read(dir));
        assertTrue(d.getMessage().contains("is a directory"), d.getMessage());
    }

    @Test
    void readsDimensionsFromTheHeader() throws IOException {
        assertArrayEquals(new int[]{H, W}, ImageFiles.dimensions(resource("rgb16.png")));
        assertArrayEquals(new int[]{16, 24}, ImageFiles.dimensions(resource("smooth.jpg")));
        assertThrows(InvalidImageException.class, () -> ImageFiles.dimensions(resource("not_an_image.png")));
    }

    @Test
    void rejectsUnwritableImages(@TempDir Path dir) {
        assertThrows(IllegalArgumentException.class, () -> ImageFiles.writePng(dir.resolve("a.png"), Image.zeros(4, 2, 2)));
        assertThrows(IllegalArgumentException.class, () -> ImageFiles.writePng(dir.resolve("a.png"), Image.zeros(3, 2, 2), null, 12));
        assertThrows(IllegalArgumentException.class, () -> ImageFiles.writePng(dir.resolve("a.png"), Image.zeros(3, 2, 2), Image.zeros(1, 2, 3), 8));
    }

    private static void assertBroken(String name, String expected) {
        Path p = resource(name);
        InvalidImageException e = assertThrows(InvalidImageException.class, () -> ImageFiles.read(p), name);
        assertTrue(e.getMessage().contains(name), "message should name the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(expected), "message should say '" + expected + "': " + e.getMessage());
        assertEquals(p, e.file());
    }
}
