package diffir.train;

import diffir.cli.CliRunner;
import diffir.engine.Tensor;
import diffir.engine.io.SafeTensors;
import diffir.model.Checkpoints;
import diffir.model.DiffIRModel;
import diffir.model.DiffIRS2;
import diffir.engine.Device;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static diffir.cli.CliRunner.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ./diffir train: S1 and S2 runs on tiny images, exact resume, the NaN stop. */
class TrainCommandTest {
    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void pictures() throws IOException {
        data = CliRunner.pictures(tmp.resolve("data"), 3, 32, 40);
    }

    static String[] train(String stage, Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--task", "deblur", "--stage", stage, "--data", data.toString(), "--out", out.toString(),
                "--batch", "2", "--patch", "16", "--val-crop", "0"));
        if (stage.equals("s1")) a.addAll(CliRunner.TINY);
        if (!List.of(extra).contains("--lr")) a.addAll(List.of("--lr", "1e-3"));
        a.addAll(List.of(extra));
        return a.toArray(String[]::new);
    }

    /** Every tensor of a safetensors file, as arrays. */
    static Map<String, float[]> tensors(Path file) throws IOException {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : SafeTensors.read(file).entrySet()) out.put(e.getKey(), e.getValue().toFloatArray());
        return out;
    }

    static void assertSameTensors(Path a, Path b) throws IOException {
        Map<String, float[]> x = tensors(a), y = tensors(b);
        assertEquals(x.keySet(), y.keySet());
        for (String k : x.keySet()) assertArrayEquals(x.get(k), y.get(k), 0f, k); // bit-identical (NaN-free)
    }

    /** The log rows without the timing column. */
    static List<String> logWithoutTimes(Path run) throws IOException {
        return Files.readAllLines(run.resolve("log.csv")).stream().map(l -> l.replaceAll(",[^,]*,([^,]*)$", ",_,$1")).toList();
    }

    @Test
    void s1ResumeGivesBitIdenticalWeights() throws IOException {
        Path straight = tmp.resolve("s1-straight"), split = tmp.resolve("s1-split");
        run(train("s1", straight, "--steps", "4", "--save-every", "2", "--val-every", "2")).ok();
        run(train("s1", split, "--steps", "4", "--save-every", "2", "--val-every", "2", "--stop-after", "2")).ok();
        assertEquals(2, TrainState.load(split.resolve("checkpoint.safetensors")).step());
        var r = run("train", "--task", "deblur", "--stage", "s1", "--data", data.toString(), "--out", split.toString(), "--resume").ok();
        assertTrue(r.out().contains("resuming"), r.out());
        assertSameTensors(straight.resolve("checkpoint.safetensors"), split.resolve("checkpoint.safetensors"));
        assertSameTensors(straight.resolve("model.safetensors"), split.resolve("model.safetensors"));
        assertEquals(logWithoutTimes(straight), logWithoutTimes(split));
        assertEquals(5, Files.readAllLines(straight.resolve("log.csv")).size());
        assertTrue(Files.size(straight.resolve("loss.png")) > 1000);
    }

    @Test
    void s2FromS1TrainsEncoderThenJointAndResumesExactly() throws IOException {
        Path s1 = tmp.resolve("s2test-s1");
        run(train("s1", s1, "--steps", "2", "--val-every", "0")).ok();
        Path s1Model = s1.resolve("model.safetensors");

        // Encoder stage only: G is not trained, so the S2 network's G is exactly S1's (EMA) G.
        Path enc = tmp.resolve("s2-encoder-only");
        run(train("s2", enc, "--s1", s1Model.toString(), "--steps", "1", "--encoder-steps", "1", "--val-every", "0")).ok();
        Map<String, float[]> g1 = tensors(s1Model), g2 = tensors(enc.resolve("checkpoint.safetensors"));
        int compared = 0;
        for (String k : g1.keySet())
            if (k.startsWith("G.")) {
                assertArrayEquals(g1.get(k), g2.get("params." + k), 0f, k);
                compared++;
            }
        assertTrue(compared > 20);

        Path straight = tmp.resolve("s2-straight"), split = tmp.resolve("s2-split");
        run(train("s2", straight, "--s1", s1Model.toString(), "--steps", "4", "--encoder-steps", "2", "--val-every", "4")).ok();
        run(train("s2", split, "--s1", s1Model.toString(), "--steps", "4", "--encoder-steps", "2", "--val-every", "4", "--stop-after", "1")).ok();
        run("train", "--task", "deblur", "--stage", "s2", "--data", data.toString(), "--out", split.toString(), "--resume").ok();
        assertSameTensors(straight.resolve("checkpoint.safetensors"), split.resolve("checkpoint.safetensors"));
        List<String> log = Files.readAllLines(straight.resolve("log.csv"));
        assertEquals(List.of("encoder", "encoder", "joint", "joint"), log.subList(1, 5).stream().map(l -> l.split(",")[1]).toList());
        assertTrue(Files.isRegularFile(straight.resolve("s1.safetensors")), "the run keeps its S1");
        DiffIRModel m = Checkpoints.load(straight.resolve("model.safetensors"), Device.CPU);
        assertInstanceOf(DiffIRS2.class, m);
        // The optimiser of the encoder stage holds CPEN_S2 + denoise only; the joint one everything.
        Map<String, float[]> ck = tensors(straight.resolve("checkpoint.safetensors"));
        assertTrue(ck.keySet().stream().filter(k -> k.startsWith("optim_e.")).allMatch(k -> k.contains("condition.") || k.contains("denoise.")));
        assertTrue(ck.keySet().stream().anyMatch(k -> k.startsWith("optim_g.G.")));
    }

    @Test
    void nonFiniteLossStopsAndKeepsTheLastCheckpoint() throws IOException {
        Path out = tmp.resolve("nan");
        // An absurd rate throws the weights to ~1e30 in one Adam step; the next forward pass overflows.
        var r = run(train("s1", out, "--steps", "6", "--save-every", "1", "--val-every", "0", "--lr", "1e30"));
        r.oneLineError("training stopped at iteration 2", "the loss is", "lower --lr", "last good checkpoint (iteration 1)");
        Path ck = out.resolve("checkpoint.safetensors");
        assertEquals(1, TrainState.load(ck).step());
        for (float[] v : tensors(ck).values()) for (float f : v) assertTrue(Float.isFinite(f), "saved state must be finite");
        assertEquals(2, Files.readAllLines(out.resolve("log.csv")).size(), "one logged iteration");
    }

    @Test
    void resumeRefusesChangedSettingsAndFinishedRuns() throws IOException {
        Path out = tmp.resolve("changed");
        run(train("s1", out, "--steps", "2", "--val-every", "0")).ok();
        byte[] before = Files.readAllBytes(out.resolve("checkpoint.safetensors"));
        run("train", "--task", "deblur", "--stage", "s1", "--data", data.toString(), "--out", out.toString(), "--resume", "--lr", "5e-4")
                .oneLineError("different run", "lr");
        run("train", "--task", "deblur", "--stage", "s1", "--data", data.toString(), "--out", out.toString(), "--resume")
                .oneLineError("already finished", "--steps");
        run(train("s1", out, "--steps", "2")).oneLineError("already holds a run", "--resume");
        assertArrayEquals(before, Files.readAllBytes(out.resolve("checkpoint.safetensors")));
        // A longer --steps continues the same run.
        run("train", "--task", "deblur", "--stage", "s1", "--data", data.toString(), "--out", out.toString(), "--resume", "--steps", "3").ok();
        assertEquals(3, TrainState.load(out.resolve("checkpoint.safetensors")).step());
        assertFalse(Arrays.equals(before, Files.readAllBytes(out.resolve("checkpoint.safetensors"))));
    }
}
