package diffir.cli;

import diffir.engine.Device;
import diffir.image.ImageFiles;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static diffir.cli.CliRunner.args;
import static diffir.cli.CliRunner.filesUnder;
import static diffir.cli.CliRunner.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every kind of bad input: one line "error: ..." naming the file or flag, a non-zero exit, and no output file. */
class BadInputTest {
    @TempDir
    static Path tmp;
    static Path good, truncated, corrupt, text, s1Model, s2Model, out;

    @BeforeAll
    static void files() throws IOException {
        good = tmp.resolve("good.png");
        ImageFiles.writePng(good, CliRunner.picture(3, 32, 40, 1));
        byte[] png = Files.readAllBytes(good);
        truncated = tmp.resolve("truncated.png");
        Files.write(truncated, Arrays.copyOf(png, png.length / 2)); // header intact, pixels cut
        corrupt = tmp.resolve("corrupt.png");
        byte[] flipped = png.clone();
        flipped[png.length / 2] ^= 0x55; // inside the image data: the chunk's CRC no longer matches
        Files.write(corrupt, flipped);
        text = tmp.resolve("notes.png");
        Files.writeString(text, "this is not an image");
        Path data = CliRunner.pictures(tmp.resolve("data"), 2, 32, 32);
        run(args(List.of("train", "--task", "deblur", "--stage", "s1", "--data", data.toString(), "--out", tmp.resolve("s1").toString(),
                "--steps", "1", "--batch", "1", "--patch", "16", "--val-every", "0", "--val-crop", "0"), CliRunner.TINY)).ok();
        s1Model = tmp.resolve("s1/model.safetensors");
        run("train", "--task", "deblur", "--stage", "s2", "--data", data.toString(), "--out", tmp.resolve("s2").toString(), "--steps", "1",
                "--batch", "1", "--patch", "16", "--val-every", "0", "--val-crop", "0", "--s1", s1Model.toString()).ok();
        s2Model = tmp.resolve("s2/model.safetensors");
        out = tmp.resolve("out");
    }

    /** Runs a command that must fail, and checks it left nothing under the output folder. */
    static void fails(String[] cmd, String... fragments) throws IOException {
        run(cmd).oneLineError(fragments);
        assertEquals(List.of(), filesUnder(out), "no output may be written");
    }

    static String[] restore(Path input, String... extra) {
        return args(List.of("restore", "--weights", s2Model.toString(), "--input", input.toString(), "--output", out.resolve("r.png").toString()),
                List.of(extra));
    }

    @Test
    void badImagesAreNamed() throws IOException {
        fails(restore(truncated), truncated.toString(), "truncated");
        fails(restore(corrupt), corrupt.toString(), "corrupt");
        fails(restore(text), text.toString(), "not an image");
        fails(restore(tmp.resolve("missing.png")), "missing.png", "no such file");
        fails(args(List.of("degrade", "--task", "deblur", "--input", truncated.toString(), "--output", out.resolve("d.png").toString())),
                truncated.toString());
        fails(args(List.of("eval", "--pred", text.toString(), "--gt", good.toString())), text.toString());
    }

    @Test
    void folderRunsCheckHeadersFirstAndReportWhatWasWrittenWhenPixelsFailLater() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("mixed"));
        Files.copy(good, dir.resolve("a.png"));
        Files.copy(text, dir.resolve("b.png"));
        fails(args(List.of("restore", "--weights", s2Model.toString(), "--input", dir.toString(), "--output", out.toString())), "b.png", "not an image");
        Files.delete(dir.resolve("b.png"));
        Files.copy(truncated, dir.resolve("b.png")); // the header reads fine; decoding fails after a.png was written
        Path o = tmp.resolve("mixed-out");
        run("restore", "--weights", s2Model.toString(), "--input", dir.toString(), "--output", o.toString())
                .oneLineError("b.png", "truncated", "1 of 2 outputs were written", "a.png");
        assertEquals(List.of(o.resolve("a.png")), filesUnder(o));
    }

    @Test
    void twoInputsWithOneOutputNameAreRefused() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("clash"));
        Files.copy(good, dir.resolve("a.png"));
        Files.copy(good, dir.resolve("a.jpg")); // both would become a.png
        fails(args(List.of("restore", "--weights", s2Model.toString(), "--input", dir.toString(), "--output", out.toString())),
                "a.jpg", "a.png", "would both be written as");
        fails(args(List.of("degrade", "--task", "deblur", "--input", dir.toString(), "--output", out.toString())), "would both be written as");
    }

    @Test
    void badCheckpointsAreNamed() throws IOException {
        Path junk = tmp.resolve("junk.safetensors"), cut = tmp.resolve("cut.safetensors");
        Files.writeString(junk, "hello");
        byte[] ck = Files.readAllBytes(s2Model);
        Files.write(cut, Arrays.copyOf(ck, ck.length - 100));
        for (Path w : List.of(junk, cut, tmp.resolve("none.safetensors"), good)) {
            fails(args(List.of("restore", "--weights", w.toString(), "--input", good.toString(), "--output", out.resolve("r.png").toString())),
                    w.getFileName().toString());
            fails(args(List.of("info", "--weights", w.toString())), w.getFileName().toString());
        }
        fails(args(List.of("restore", "--weights", s1Model.toString(), "--input", good.toString(), "--output", out.resolve("r.png").toString())),
                "S1", "S2");
        fails(args(List.of("train", "--task", "deblur", "--stage", "s2", "--data", tmp.resolve("data").toString(), "--out", out.resolve("run").toString(),
                "--s1", s2Model.toString())), "S2 network");
    }

    @Test
    void badTrainingDataIsNamedBeforeTheRunFolderIsMade() throws IOException {
        Path small = CliRunner.pictures(tmp.resolve("small"), 2, 12, 40);
        fails(args(List.of("train", "--task", "deblur", "--data", small.toString(), "--out", out.resolve("run").toString(), "--patch", "16"),
                CliRunner.TINY), "img0.png", "smaller than the 16x16");
        Path pairs = tmp.resolve("pairs");
        CliRunner.pictures(pairs.resolve("lq"), 1, 32, 32);
        CliRunner.pictures(pairs.resolve("gt"), 1, 32, 40);
        fails(args(List.of("train", "--task", "deblur", "--data", pairs.toString(), "--out", out.resolve("run").toString(), "--patch", "16"),
                CliRunner.TINY), "img0.png", "same size");
        Path broken = CliRunner.pictures(tmp.resolve("broken"), 1, 32, 32);
        Files.copy(text, broken.resolve("zz.png"));
        fails(args(List.of("train", "--task", "deblur", "--data", broken.toString(), "--out", out.resolve("run").toString(), "--patch", "16"),
                CliRunner.TINY), "zz.png");
        Path cut = CliRunner.pictures(tmp.resolve("cut"), 2, 32, 32);
        Files.copy(truncated, cut.resolve("zz.png")); // a readable header: found when the pixels are decoded
        fails(args(List.of("train", "--task", "deblur", "--data", cut.toString(), "--out", out.resolve("run").toString(), "--patch", "16"),
                CliRunner.TINY), "zz.png", "truncated");
        fails(args(List.of("train", "--task", "deblur", "--data", tmp.resolve("nowhere").toString(), "--out", out.resolve("run").toString())),
                "nowhere");
        fails(args(List.of("train", "--task", "deblur", "--data", small.toString(), "--out", out.resolve("run").toString(), "--patch", "12"),
                CliRunner.TINY), "--patch 12", "multiples of 8");
    }

    @Test
    void mismatchedPairsAreNamed() throws IOException {
        Path other = tmp.resolve("other.png");
        ImageFiles.writePng(other, CliRunner.picture(3, 30, 40, 2));
        fails(args(List.of("eval", "--pred", other.toString(), "--gt", good.toString())), "other.png", "same size");
        Path pred = CliRunner.pictures(tmp.resolve("pred"), 1, 32, 40), gt = CliRunner.pictures(tmp.resolve("gtdir"), 2, 32, 40);
        fails(args(List.of("eval", "--pred", pred.toString(), "--gt", gt.toString())), "no prediction", "img1.png");
    }

    @Test
    void badFlagValuesAreOneLine() throws IOException {
        fails(new String[]{"degrade", "--task", "denoise", "--input", good.toString(), "--output", out.toString()}, "--task", "denoise");
        fails(new String[]{"train", "--task", "deblur", "--data", good.toString(), "--out", out.toString(), "--blocks", "1,2"}, "--blocks", "1,2");
        fails(new String[]{"train", "--task", "deblur", "--data", good.toString(), "--out", out.toString(), "--steps", "many"}, "--steps", "many");
        fails(new String[]{"train", "--task", "deblur", "--stage", "s3", "--data", good.toString(), "--out", out.toString()}, "--stage", "s3");
        fails(new String[]{"train", "--task", "deblur", "--stage", "s2", "--data", good.toString(), "--out", out.toString()}, "--s1");
        fails(new String[]{"train", "--task", "deblur", "--data", good.toString(), "--out", out.toString(), "--dim", "5"}, "dim", "even");
        fails(restore(good, "--tile", "-1"), "--tile");
        fails(restore(good, "--device", "tpu"), "tpu");
        fails(new String[]{"info", "--weights", s2Model.toString(), "--size", "big"}, "--size", "big");
        fails(new String[]{"restore", "--weights", s2Model.toString(), "--input", good.toString(), "--output", out.resolve("r.jpg").toString()}, "png");
        fails(restore(good, "--bogus"), "--bogus");
        fails(new String[]{"nosuchcommand"}, "nosuchcommand");
    }

    @Test
    void cudaIsRefusedClearlyWhenAbsent() throws IOException {
        Assumptions.assumeFalse(Device.cudaAvailable(), "a GPU is present");
        fails(restore(good, "--device", "cuda"), "--device cuda", "CUDA is not available");
    }

    @Test
    void forwardChecksShapes() throws IOException {
        Path lq = tmp.resolve("bad-lq.npy"), gt = tmp.resolve("bad-gt.npy"), noise = tmp.resolve("bad-noise.npy");
        diffir.engine.io.Npy.write(lq, diffir.engine.Tensor.zeros(Device.CPU, 1, 3, 12, 16));
        fails(new String[]{"forward", "--weights", s2Model.toString(), "--lq", lq.toString(), "--out", out.resolve("o.npy").toString()},
                "bad-lq.npy", "multiples of 8");
        diffir.engine.io.Npy.write(lq, diffir.engine.Tensor.zeros(Device.CPU, 1, 3, 16, 16));
        diffir.engine.io.Npy.write(gt, diffir.engine.Tensor.zeros(Device.CPU, 1, 3, 8, 16));
        diffir.engine.io.Npy.write(noise, diffir.engine.Tensor.zeros(Device.CPU, 2, 3));
        fails(new String[]{"forward", "--weights", s1Model.toString(), "--lq", lq.toString(), "--out", out.resolve("o.npy").toString()}, "--gt");
        fails(new String[]{"forward", "--weights", s1Model.toString(), "--lq", lq.toString(), "--gt", gt.toString(), "--out",
                out.resolve("o.npy").toString()}, "bad-gt.npy");
        fails(new String[]{"forward", "--weights", s2Model.toString(), "--lq", lq.toString(), "--noise", noise.toString(), "--out",
                out.resolve("o.npy").toString()}, "bad-noise.npy");
        fails(new String[]{"forward", "--weights", s2Model.toString(), "--lq", text.toString(), "--out", out.resolve("o.npy").toString()},
                text.getFileName().toString());
        assertFalse(Files.exists(out));
        assertTrue(Files.exists(lq));
    }
}
