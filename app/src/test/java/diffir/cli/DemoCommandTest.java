package diffir.cli;

import diffir.image.Image;
import diffir.image.ImageFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static diffir.cli.CliRunner.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The demo's whole pipeline with two iterations per stage (its real length is sized to minutes). */
class DemoCommandTest {
    @TempDir
    Path tmp;

    @Test
    void writesTableComparisonsCurvesAndBothRuns() throws IOException {
        Path out = tmp.resolve("demo");
        var r = run("demo", "--out", out.toString(), "--s1-steps", "2", "--s2-steps", "2").ok();
        assertTrue(r.out().contains("blurred input") && r.out().contains("S2 (DiffIR)") && r.out().contains("mean")
                && r.out().contains("S2 gain over the blurred input"), r.out());
        assertTrue(r.out().contains("results in " + out), r.out());
        for (String f : new String[]{"results.txt", "loss.png", "s1/model.safetensors", "s2/model.safetensors", "s2/s1.safetensors",
                "data/train/astronaut.png", "data/test/chelsea.png"})
            assertTrue(Files.isRegularFile(out.resolve(f)), f);
        // chelsea is 256x170: four panels and three 4-pixel gaps.
        Image chelsea = ImageFiles.readRgb(out.resolve("chelsea_compare.png"));
        assertEquals("3x170x1036", chelsea.shapeString());
        assertTrue(Files.isRegularFile(out.resolve("camera_compare.png")));
        assertEquals(Files.readString(out.resolve("results.txt")).strip(), r.out().substring(r.out().indexOf("held-out"),
                r.out().indexOf("demo finished")).strip());
    }

    @Test
    void refusesAFolderThatIsNotEmpty() throws IOException {
        Files.writeString(tmp.resolve("keep.txt"), "mine");
        run("demo", "--out", tmp.toString(), "--s1-steps", "1", "--s2-steps", "1").oneLineError("not empty");
        assertEquals(1, CliRunner.filesUnder(tmp).size());
        run("demo", "--out", tmp.resolve("x").toString(), "--minutes", "0").oneLineError("--minutes");
    }
}
