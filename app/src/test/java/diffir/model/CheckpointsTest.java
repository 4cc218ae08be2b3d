package diffir.model;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.engine.io.CheckpointFormatException;
import diffir.engine.io.PthReader;
import diffir.engine.io.SafeTensors;
import diffir.engine.nn.Init;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointsTest {
    @TempDir
    Path dir;

    private static void assertSameState(Map<String, Tensor> expected, Map<String, Tensor> actual) {
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((k, v) -> assertArrayEquals(v.toFloatArray(), actual.get(k).toFloatArray(), k));
    }

    /** A clear one-line CheckpointFormatException naming the file and containing every given part. */
    private static void assertBad(Path file, Path options, String... parts) {
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Checkpoints.load(file, options, Device.CPU));
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + p + "' in: " + e.getMessage());
    }

    @Test
    void ownSafetensorsRoundTrip() throws Exception {
        ArchConfig cfg = Configs.sr(2);
        DiffIRS2 model = new DiffIRS2(Init.cpu(5), cfg);
        Path file = dir.resolve("s2.safetensors");
        Checkpoints.save(file, model);
        Map<String, String> meta = new LinkedHashMap<>();
        Checkpoints.readStateDict(file, meta);
        assertEquals(Checkpoints.FORMAT, meta.get(Checkpoints.META_FORMAT));
        assertEquals("S2", meta.get(Checkpoints.META_STAGE));

        DiffIRS2 back = assertInstanceOf(DiffIRS2.class, Checkpoints.load(file, Device.CPU));
        assertEquals(cfg, back.config());
        assertSameState(model.stateDict(), back.stateDict());
        Tensor lq = Tensor.rand(Device.CPU, new SplittableRandom(1), 0, 1, 1, 3, 16, 16);
        try (var s = Autograd.noGrad()) {
            assertArrayEquals(model.infer(lq, 9).out().toFloatArray(), back.infer(lq, 9).out().toFloatArray());
        }
    }

    @Test
    void s1SavesAndLoadsToo() throws Exception {
        DiffIRS1 model = new DiffIRS1(Init.cpu(6), Configs.inpaint());
        Path file = dir.resolve("s1.safetensors");
        Checkpoints.save(file, model);
        DiffIRModel back = Checkpoints.load(file, Device.CPU);
        assertEquals(Stage.S1, back.stage());
        assertEquals(Configs.inpaint(), back.config());
        assertSameState(model.stateDict(), back.stateDict());
    }

    @Test
    void referencePthPrefersEmaAndTakesAnOptionFile() throws Exception {
        Path pth = Parity.path("s2_deblur.pth");
        DiffIRModel model = Checkpoints.load(pth, Device.CPU);
        assertSameState(PthReader.readStateDict(pth, "params_ema"), model.stateDict());

        Path yaml = Path.of(getClass().getResource("/options/tiny_deblur.yml").toURI());
        DiffIRModel withYaml = Checkpoints.load(pth, yaml, Device.CPU);
        assertEquals(2.66, withYaml.config().ffnFactor(), "the option file's factor");
        assertEquals(model.config().ffnHidden(), withYaml.config().ffnHidden());

        // An option file for another architecture: the strict load lists the mismatches.
        Path gopro = Path.of(getClass().getResource("/options/deblur.yml").toURI());
        assertBad(pth, gopro, "shape mismatch", "G.patch_embed.proj.weight");
    }

    @Test
    void wrongKeysAreListedWithTheFile() throws Exception {
        DiffIRS2 model = new DiffIRS2(Init.cpu(8), Configs.deblur());
        Map<String, Tensor> sd = new LinkedHashMap<>(model.stateDict());
        sd.remove("G.latent.0.attn.temperature");
        sd.put("G.latent.0.attn.temperatur", Tensor.ones(Device.CPU, 4, 1, 1));
        Path file = dir.resolve("keys.safetensors");
        Checkpoints.save(file, model.config(), Stage.S2, sd, Map.of());
        assertBad(file, null, "missing 1 (G.latent.0.attn.temperature)", "unexpected 1 (G.latent.0.attn.temperatur)");
    }

    @Test
    void wrongShapesAreListedWithTheFile() throws Exception {
        DiffIRS2 model = new DiffIRS2(Init.cpu(8), Configs.deblur());
        Map<String, Tensor> sd = new LinkedHashMap<>(model.stateDict());
        sd.put("G.output.weight", Tensor.zeros(Device.CPU, 3, 7, 3, 3));
        Path file = dir.resolve("shapes.safetensors");
        Checkpoints.save(file, model.config(), Stage.S2, sd, Map.of());
        assertBad(file, null, "shape mismatch 1 (G.output.weight [3, 7, 3, 3] vs expected [3, 8, 3, 3])");
    }

    @Test
    void filesThatAreNotDiffIR() throws Exception {
        Path other = dir.resolve("other.safetensors");
        SafeTensors.write(other, Map.of("backbone.conv1.weight", Tensor.zeros(Device.CPU, 8, 3, 3, 3)));
        assertBad(other, null, "not a DiffIR state dict", "backbone.conv1.weight");

        Path garbage = dir.resolve("garbage.pth");
        byte[] bytes = new byte[100];
        new SplittableRandom(3).nextBytes(bytes);
        Files.write(garbage, bytes);
        assertThrows(CheckpointFormatException.class, () -> Checkpoints.load(garbage, Device.CPU));

        Path zip = dir.resolve("notes.zip");
        try (var out = new java.util.zip.ZipOutputStream(Files.newOutputStream(zip))) {
            out.putNextEntry(new java.util.zip.ZipEntry("notes.txt"));
            out.write("hello".getBytes());
        }
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Checkpoints.load(zip, Device.CPU));
        assertTrue(e.getMessage().contains(zip.toString()), e.getMessage());
    }

    @Test
    void duplicatesMustAgreeAndMayBeLeftOut() throws Exception {
        DiffIRS2 model = new DiffIRS2(Init.cpu(9), Configs.deblur());
        Map<String, Tensor> sd = new LinkedHashMap<>(model.stateDict());
        Tensor bias = sd.get("denoise.resmlp.0.bias");
        float[] v = bias.toFloatArray();
        v[0] += 1;
        sd.put("diffusion.model.resmlp.0.bias", Tensor.of(v, bias.shape()));
        Path file = dir.resolve("dup.safetensors");
        Checkpoints.save(file, model.config(), Stage.S2, sd, Map.of());
        assertBad(file, null, "duplicate entries differ", "diffusion.model.resmlp.0.bias");

        Map<String, Tensor> lean = new LinkedHashMap<>(model.stateDict());
        lean.keySet().removeIf(k -> k.startsWith("diffusion.model.") || k.startsWith("diffusion.condition."));
        Path leanFile = dir.resolve("lean.safetensors");
        SafeTensors.write(leanFile, lean); // no metadata either: the architecture comes from the keys
        assertSameState(model.stateDict(), Checkpoints.load(leanFile, Device.CPU).stateDict());
    }

    @Test
    void s2StartsFromAnS1GeneratorWhenNotStrict() throws Exception {
        Path s1 = Parity.path("s1_deblur.pth");
        Map<String, Tensor> s1State = PthReader.readStateDict(s1, "params_ema");
        DiffIRS2 s2 = new DiffIRS2(Init.cpu(4), ArchConfig.fromStateDict(s1State));
        float[] denoiseBefore = s2.denoise().stateDict().get("resmlp.0.weight").toFloatArray();
        Checkpoints.loadInto(s2, s1State, s1, false);
        s2.stateDict().forEach((k, t) -> {
            if (k.startsWith("G.")) assertArrayEquals(s1State.get(k).toFloatArray(), t.toFloatArray(), k);
        });
        assertTrue(Arrays.equals(denoiseBefore, s2.denoise().stateDict().get("resmlp.0.weight").toFloatArray()), "denoise keeps its init");
        CheckpointFormatException e = assertThrows(CheckpointFormatException.class, () -> Checkpoints.loadInto(s2, s1State, s1, true));
        assertTrue(e.getMessage().contains("unexpected") && e.getMessage().contains("E.E.0.weight"), e.getMessage());
    }
}
