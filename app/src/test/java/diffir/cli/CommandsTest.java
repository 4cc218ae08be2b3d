package diffir.cli;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.engine.io.Npy;
import diffir.image.Image;
import diffir.image.ImageFiles;
import diffir.image.LoadedImage;
import diffir.model.Checkpoints;
import diffir.model.DiffIRModel;
import diffir.model.DiffIRS1;
import diffir.model.DiffIRS2;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static diffir.cli.CliRunner.args;
import static diffir.cli.CliRunner.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** restore, forward, degrade, eval and info on tiny networks trained once for the class. */
class CommandsTest {
    @TempDir
    static Path tmp;
    static Path data, s1Model, s2Model, identityModel;

    @BeforeAll
    static void trainTinyNetworks() throws IOException {
        data = CliRunner.pictures(tmp.resolve("data"), 2, 32, 40);
        List<String> common = List.of("--task", "deblur", "--data", data.toString(), "--batch", "2", "--patch", "16", "--val-every", "0",
                "--val-crop", "0", "--lr", "1e-3");
        run(args(List.of("train", "--stage", "s1", "--out", tmp.resolve("s1").toString(), "--steps", "2"), common, CliRunner.TINY)).ok();
        s1Model = tmp.resolve("s1/model.safetensors");
        run(args(List.of("train", "--stage", "s2", "--out", tmp.resolve("s2").toString(), "--steps", "2", "--encoder-steps", "1",
                "--s1", s1Model.toString()), common)).ok();
        s2Model = tmp.resolve("s2/model.safetensors");
        // A network whose DIRformer output conv is zero returns its input exactly (out = conv + input).
        DiffIRModel m = Checkpoints.load(s2Model, Device.CPU);
        Tensor w = m.stateDict().get("G.output.weight");
        w.copyFrom(Tensor.zeros(Device.CPU, w.shape()));
        identityModel = tmp.resolve("identity.safetensors");
        Checkpoints.save(identityModel, m);
    }

    static Image withValues(int channels, int h, int w, long seed) {
        return CliRunner.picture(channels, h, w, seed);
    }

    @Test
    void restorePreservesGrayAlphaSixteenBitAndOddSizesWithAndWithoutTiles() throws IOException {
        Path in = Files.createDirectories(tmp.resolve("restore-in"));
        ImageFiles.writePng(in.resolve("gray.png"), withValues(1, 37, 29, 1), null, 8);
        ImageFiles.writePng(in.resolve("rgba.png"), withValues(3, 23, 41, 2), withValues(1, 23, 41, 3), 8);
        ImageFiles.writePng(in.resolve("deep.png"), withValues(3, 30, 26, 4), null, 16);
        ImageFiles.writePng(in.resolve("graya16.png"), withValues(1, 19, 33, 5), withValues(1, 19, 33, 6), 16);
        for (String tile : List.of("0", "16")) {
            Path out = tmp.resolve("restore-out-" + tile);
            var r = run("restore", "--weights", identityModel.toString(), "--input", in.toString(), "--output", out.toString(),
                    "--tile", tile, "--tile-overlap", "4").ok();
            assertTrue(r.out().contains("restored 4 images"), r.out());
            for (String n : List.of("gray", "rgba", "deep", "graya16")) {
                LoadedImage a = ImageFiles.read(in.resolve(n + ".png")), b = ImageFiles.read(out.resolve(n + ".png"));
                assertEquals(a.image().shapeString(), b.image().shapeString(), n);
                assertEquals(a.bitDepth(), b.bitDepth(), n);
                assertArrayEquals(a.image().data(), b.image().data(), 0f, n + " (the identity network gives its input back)");
                if (a.alpha() == null) assertNull(b.alpha(), n);
                else assertArrayEquals(a.alpha().data(), b.alpha().data(), 0f, n + " alpha");
            }
        }
    }

    @Test
    void tiledRestorationIsCloseToWholeImageRestoration() throws IOException {
        Path in = tmp.resolve("tile-in.png");
        ImageFiles.writePng(in, withValues(3, 45, 37, 7));
        Path whole = tmp.resolve("tile-whole.png"), tiled = tmp.resolve("tile-tiled.png");
        run("restore", "--weights", s2Model.toString(), "--input", in.toString(), "--output", whole.toString(), "--tile", "0").ok();
        run("restore", "--weights", s2Model.toString(), "--input", in.toString(), "--output", tiled.toString(), "--tile", "24",
                "--tile-overlap", "8").ok();
        float[] a = ImageFiles.read(whole).image().data(), b = ImageFiles.read(tiled).image().data();
        assertEquals(a.length, b.length);
        double diff = 0;
        for (int i = 0; i < a.length; i++) diff += Math.abs(a[i] - b[i]);
        // Tiles see less context (attention and CPEN pool over the tile), so values differ a little.
        assertTrue(diff / a.length < 0.05, "mean |tiled - whole| = " + diff / a.length);
        // The same seed gives the same restoration; another seed another start noise.
        Path again = tmp.resolve("tile-again.png");
        run("restore", "--weights", s2Model.toString(), "--input", in.toString(), "--output", again.toString(), "--tile", "0").ok();
        assertArrayEquals(Files.readAllBytes(whole), Files.readAllBytes(again));
    }

    @Test
    void forwardMatchesTheNetworkOnRawArrays() throws IOException {
        SplittableRandom rng = new SplittableRandom(3);
        Tensor lq = Tensor.rand(Device.CPU, rng, 0, 1, 2, 3, 16, 24), gt = Tensor.rand(Device.CPU, rng, 0, 1, 2, 3, 16, 24);
        Path lqFile = tmp.resolve("lq.npy"), gtFile = tmp.resolve("gt.npy"), out1 = tmp.resolve("out1.npy");
        Npy.write(lqFile, lq);
        Npy.write(gtFile, gt);
        run("forward", "--weights", s1Model.toString(), "--lq", lqFile.toString(), "--gt", gtFile.toString(), "--out", out1.toString()).ok();
        DiffIRS1 s1 = (DiffIRS1) Checkpoints.load(s1Model, Device.CPU);
        s1.eval();
        try (var s = Autograd.noGrad()) {
            assertArrayEquals(s1.forward(lq, gt).out().toFloatArray(), Npy.read(out1).toFloatArray(), 0f);
        }

        DiffIRS2 s2 = (DiffIRS2) Checkpoints.load(s2Model, Device.CPU);
        s2.eval();
        Tensor noise = Tensor.randn(Device.CPU, rng, 2, s2.config().iprDim());
        Path noiseFile = tmp.resolve("noise.npy"), out2 = tmp.resolve("out2.npy"), out3 = tmp.resolve("out3.npy"), ipr = tmp.resolve("ipr.npy");
        Npy.write(noiseFile, noise);
        run("forward", "--weights", s2Model.toString(), "--lq", lqFile.toString(), "--noise", noiseFile.toString(), "--out", out2.toString(),
                "--ipr-out", ipr.toString()).ok();
        run("forward", "--weights", s2Model.toString(), "--lq", lqFile.toString(), "--seed", "9", "--out", out3.toString()).ok();
        try (var s = Autograd.noGrad()) {
            DiffIRS2.Output o = s2.infer(lq, noise);
            assertArrayEquals(o.out().toFloatArray(), Npy.read(out2).toFloatArray(), 0f);
            assertArrayEquals(o.ipr().toFloatArray(), Npy.read(ipr).toFloatArray(), 0f);
            assertArrayEquals(s2.infer(lq, 9).out().toFloatArray(), Npy.read(out3).toFloatArray(), 0f);
        }
    }

    @Test
    void degradeIsDeterministicAndWritesTaskOutputs() throws IOException {
        Path a = tmp.resolve("deg-a"), b = tmp.resolve("deg-b");
        run("degrade", "--task", "deblur", "--input", data.toString(), "--output", a.toString(), "--seed", "5").ok();
        run("degrade", "--task", "deblur", "--input", data.toString(), "--output", b.toString(), "--seed", "5").ok();
        for (String n : List.of("img0.png", "img1.png")) {
            assertArrayEquals(Files.readAllBytes(a.resolve(n)), Files.readAllBytes(b.resolve(n)));
            Image lq = ImageFiles.readRgb(a.resolve(n)), gt = ImageFiles.readRgb(data.resolve(n));
            assertTrue(lq.sameShape(gt));
            assertFalse(java.util.Arrays.equals(lq.data(), gt.data()), "blurred");
        }
        Path sr = tmp.resolve("deg-sr"), srGt = tmp.resolve("deg-sr-gt");
        run("degrade", "--task", "sr4", "--input", data.toString(), "--output", sr.toString(), "--gt-output", srGt.toString()).ok();
        assertEquals("3x8x10", ImageFiles.readRgb(sr.resolve("img0.png")).shapeString());
        assertEquals("3x32x40", ImageFiles.readRgb(srGt.resolve("img0.png")).shapeString());
        Path inp = tmp.resolve("deg-inpaint");
        run("degrade", "--task", "inpaint", "--input", data.resolve("img0.png").toString(), "--output", inp.resolve("x.png").toString()).ok();
        assertEquals(1, ImageFiles.read(inp.resolve("x_mask.png")).image().channels());
        assertTrue(Files.isRegularFile(inp.resolve("x.png")));
    }

    @Test
    void evalPrintsPerImageAndMeanScores() throws IOException {
        Path deg = tmp.resolve("eval-deg");
        run("degrade", "--task", "deblur", "--input", data.toString(), "--output", deg.toString()).ok();
        var same = run("eval", "--pred", data.toString(), "--gt", data.toString()).ok();
        assertTrue(same.out().contains("inf"), same.out());
        Path csv = tmp.resolve("eval.csv");
        var r = run("eval", "--pred", deg.toString(), "--gt", data.toString(), "--csv", csv.toString(), "--y").ok();
        assertTrue(r.out().contains("img0") && r.out().contains("img1") && r.out().contains("mean") && r.out().contains("Y"), r.out());
        List<String> rows = Files.readAllLines(csv);
        assertEquals(4, rows.size());
        double p0 = Double.parseDouble(rows.get(1).split(",")[1]), p1 = Double.parseDouble(rows.get(2).split(",")[1]);
        assertEquals((p0 + p1) / 2, Double.parseDouble(rows.get(3).split(",")[1]), 1e-3);
        double expected = diffir.metrics.Psnr.compute(ImageFiles.readRgb(deg.resolve("img0.png")), ImageFiles.readRgb(data.resolve("img0.png")), 0, true);
        assertEquals(expected, p0, 1e-4);
    }

    @Test
    void infoShowsArchitectureParametersAndCost() {
        var r = run("info", "--weights", s2Model.toString(), "--size", "64x48").ok();
        DiffIRModel m;
        try {
            m = Checkpoints.load(s2Model, Device.CPU);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        assertTrue(r.out().contains(String.format("%,d", m.parameterCount())), r.out());
        assertTrue(r.out().contains("DiffIR S2") && r.out().contains("GFLOP per 64x48") && r.out().contains("dim 4"), r.out());
        assertNotNull(run("info", "--weights", s1Model.toString()).ok().out());
    }
}
