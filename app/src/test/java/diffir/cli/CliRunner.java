package diffir.cli;

import diffir.image.Image;
import diffir.image.ImageFiles;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Runs ./diffir command lines in-process and checks what they print; makes small test images. */
public final class CliRunner {
    private CliRunner() {}

    /** A finished command: exit code and everything it printed. */
    public record Result(int code, String out, String err) {
        /** Fails unless the command succeeded. */
        public Result ok() {
            assertEquals(0, code, () -> "exit " + code + "\nstdout:\n" + out + "\nstderr:\n" + err);
            return this;
        }

        /** Fails unless the command failed with exactly one line "error: ..." containing every fragment. */
        public Result oneLineError(String... fragments) {
            assertNotEquals(0, code, () -> "expected a failure, got exit 0\nstdout:\n" + out);
            List<String> lines = err.lines().filter(l -> !l.isBlank()).toList();
            assertEquals(1, lines.size(), () -> "expected one line on stderr, got:\n" + err);
            assertTrue(lines.getFirst().startsWith("error: "), () -> "not an error line: " + lines.getFirst());
            for (String f : fragments)
                assertTrue(lines.getFirst().toLowerCase().contains(f.toLowerCase()), () -> "'" + f + "' not in: " + lines.getFirst());
            return this;
        }
    }

    public static Result run(String... args) {
        StringWriter o = new StringWriter(), e = new StringWriter();
        int code = Main.run(new PrintWriter(o), new PrintWriter(e), args);
        return new Result(code, o.toString(), e.toString());
    }

    /** The tiny network every test trains: a few thousand parameters, fast on any machine. */
    public static final List<String> TINY = List.of("--dim", "4", "--blocks", "1,1,1,1", "--refinement", "1", "--heads", "1,1,1,1",
            "--ffn", "1", "--encoder-res", "0", "--cpen-feats", "2");

    /** Concatenates argument lists. */
    @SafeVarargs
    public static String[] args(List<String>... parts) {
        return Stream.of(parts).flatMap(List::stream).toArray(String[]::new);
    }

    /** A smooth random picture: a few sinusoids with random frequencies and phases per channel, in [0.05, 0.95]. */
    public static Image picture(int channels, int h, int w, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        Image img = Image.zeros(channels, h, w);
        for (int c = 0; c < channels; c++) {
            double fx = 0.05 + 0.4 * r.nextDouble(), fy = 0.05 + 0.4 * r.nextDouble(), px = 6.3 * r.nextDouble(), py = 6.3 * r.nextDouble();
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    img.set(c, y, x, (float) (0.5 + 0.25 * Math.sin(fx * x + px) + 0.2 * Math.cos(fy * y + py) * Math.sin(0.3 * fx * (x + y))));
        }
        return img;
    }

    /** A folder of n RGB pictures of h x w. */
    public static Path pictures(Path dir, int n, int h, int w) throws IOException {
        Files.createDirectories(dir);
        for (int i = 0; i < n; i++) ImageFiles.writePng(dir.resolve("img" + i + ".png"), picture(3, h, w, 100 + i));
        return dir;
    }

    /** Every regular file under dir (empty when dir does not exist). */
    public static List<Path> filesUnder(Path dir) throws IOException {
        if (!Files.exists(dir)) return List.of();
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).toList();
        }
    }
}
