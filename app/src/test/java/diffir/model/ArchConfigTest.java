package diffir.model;

import diffir.engine.Tensor;
import diffir.engine.nn.Init;
import diffir.engine.nn.LayerNorm;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ArchConfigTest {
    private static Path option(String name) throws URISyntaxException {
        return Path.of(ArchConfigTest.class.getResource("/options/" + name).toURI());
    }

    @Test
    void presetsHaveThePublishedSizes() {
        ArchConfig g = ArchConfig.gopro();
        assertEquals(List.of(96, 192, 384, 768), g.ffnHidden());
        assertEquals(2.0, g.ffnFactor());
        assertEquals(256, g.iprDim());
        // int(64 * 2.2) etc. truncate: 140.8 -> 140, 281.6 -> 281.
        assertEquals(List.of(140, 281, 563, 1126), ArchConfig.realSr(4).ffnHidden());
        assertEquals(List.of(93, 187, 374, 748), ArchConfig.inpainting().ffnHidden());
        assertEquals(List.of(1, 1, 1, 20), ArchConfig.inpaintingBig().blocks());
        assertEquals(8, ArchConfig.inpaintingBig().encoderRes());
    }

    @Test
    void derivedSizesPerVariant() {
        // CPEN input channels S1 / S2 and the input window, as REFERENCE_NOTES lists them.
        int[][] expect = {{96, 48, 8, 1}, {51, 3, 8, 1}, {60, 12, 16, 2}, {96, 48, 32, 4}, {112, 64, 8, 1}};
        ArchConfig[] cfgs = {ArchConfig.gopro(), ArchConfig.realSr(4), ArchConfig.realSr(2), ArchConfig.realSr(1), ArchConfig.inpainting()};
        for (int i = 0; i < cfgs.length; i++) {
            ArchConfig c = cfgs[i];
            assertEquals(expect[i][0], c.cpenInChannels(Stage.S1), c.task() + " x" + c.scale() + " S1 CPEN");
            assertEquals(expect[i][1], c.cpenInChannels(Stage.S2), c.task() + " x" + c.scale() + " S2 CPEN");
            assertEquals(expect[i][2], c.window());
            assertEquals(expect[i][3], c.lqUnshuffle());
        }
        assertEquals(ArchConfig.Residual.INPUT, ArchConfig.gopro().residual());
        assertEquals(ArchConfig.Residual.NEAREST_UPSAMPLED_INPUT, ArchConfig.realSr(2).residual());
        assertEquals(ArchConfig.Residual.NONE, ArchConfig.inpainting().residual());
        assertEquals(2, ArchConfig.realSr(2).outputScale());
    }

    @Test
    void factorIsTheSimplestDecimalThatGivesTheWidths() {
        assertEquals(2.0, ArchConfig.factorFor(48, List.of(96, 192, 384, 768)));
        assertEquals(2.2, ArchConfig.factorFor(64, List.of(140, 281, 563, 1126)));
        assertEquals(1.8, ArchConfig.factorFor(52, List.of(93, 187, 374, 748)));
        assertEquals(2.66, ArchConfig.factorFor(48, ArchConfig.hiddenSizes(48, 2.66)));
        // dim 2 with 2.66 gives 5, 10, 21, 42, which 2.63 gives too: the widths are what count.
        double f = ArchConfig.factorFor(2, List.of(5, 10, 21, 42));
        assertEquals(List.of(5, 10, 21, 42), ArchConfig.hiddenSizes(2, f));
    }

    @Test
    void jsonRoundTrip() {
        for (ArchConfig c : List.of(ArchConfig.gopro(), ArchConfig.realSr(1), ArchConfig.inpaintingBig(), Configs.deblur(),
                Configs.sr(2), Configs.inpaint(),
                // hidden widths that the factor alone would not give survive too
                Configs.deblur().toBuilder().ffn(2.66, List.of(9, 21, 42, 85)).build())) {
            assertEquals(c, ArchConfig.fromJson(c.toJson()), c.toJson());
        }
    }

    /** build -> stateDict -> fromStateDict gives the same config, for every task and stage. */
    @Test
    void stateDictRoundTrip() {
        for (ArchConfig c : List.of(Configs.deblur(), Configs.sr(4), Configs.sr(2), Configs.sr(1), Configs.inpaint(),
                Configs.deblur().toBuilder().refinement(0).bias(true).denoiseRes(0).timesteps(6).build())) {
            for (Stage stage : Stage.values()) {
                Map<String, Tensor> sd = DiffIRModel.create(stage, c, Init.cpu(3)).stateDict();
                assertEquals(stage, Stage.of(sd));
                ArchConfig back = ArchConfig.fromStateDict(sd);
                // S1 holds no diffusion: its diffusion settings read back as the defaults.
                ArchConfig want = stage == Stage.S2 ? c : c.toBuilder().denoiseRes(1).timesteps(4).linearStart(0.1).linearEnd(0.99).build();
                assertEquals(want, back, c.task() + " " + stage);
            }
        }
    }

    @Test
    void yamlSectionsAndTasks() throws Exception {
        assertEquals(ArchConfig.gopro(), ArchConfig.fromYaml(option("deblur.yml")));
        ArchConfig s1 = ArchConfig.fromYaml(option("deblur.yml"), "network_S1");
        assertEquals(16, s1.dim());
        assertEquals(ArchTask.DEBLUR, s1.task());
        assertEquals(ArchConfig.realSr(4), ArchConfig.fromYaml(option("realsr_x4.yml")));
        assertEquals(ArchConfig.realSr(2), ArchConfig.fromYaml(option("realsr_x2.yml")));
        assertEquals(ArchConfig.inpainting(), ArchConfig.fromYaml(option("inpaint_generator.yaml")));
        ArchConfig tiny = ArchConfig.fromYaml(option("tiny_deblur.yml"));
        assertEquals(4, tiny.cpenFeats());
        assertEquals(List.of(5, 10, 21, 42), tiny.ffnHidden());
    }

    @Test
    void badYamlSaysWhatAndWhere() throws Exception {
        IOException e = assertThrows(IOException.class, () -> ArchConfig.fromYaml(option("unknown_option.yml")));
        assertTrue(e.getMessage().contains("unknown_option.yml") && e.getMessage().contains("num_blockz"), e.getMessage());
        e = assertThrows(IOException.class, () -> ArchConfig.fromYaml(option("bad_value.yml")));
        assertTrue(e.getMessage().contains("dim must be positive and even") && e.getMessage().contains("47"), e.getMessage());
        e = assertThrows(IOException.class, () -> ArchConfig.fromYaml(option("deblur.yml"), "network_x"));
        assertTrue(e.getMessage().contains("network_x"), e.getMessage());
        Path notYaml = Files.createTempFile("bad", ".yml");
        try {
            Files.writeString(notYaml, "network_g: [unclosed\n");
            e = assertThrows(IOException.class, () -> ArchConfig.fromYaml(notYaml));
            assertTrue(e.getMessage().startsWith(notYaml.toString()), e.getMessage());
            assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        } finally {
            Files.deleteIfExists(notYaml);
        }
    }

    @Test
    void badConfigsListEveryProblem() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ArchConfig.builder(ArchTask.SR).scale(3).dim(6).heads(1, 5, 4, 8).build());
        assertTrue(e.getMessage().contains("SR scale must be 1, 2 or 4, got 3"), e.getMessage());
        assertTrue(e.getMessage().contains("12 channels do not split into 5 heads"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ArchConfig.builder(ArchTask.INPAINT).refinement(2).build());
        assertTrue(e.getMessage().contains("no refinement stage"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ArchConfig.builder(ArchTask.DEBLUR).outChannels(1).build());
        assertTrue(e.getMessage().contains("in and out channels must be equal"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ArchConfig.builder(ArchTask.DEBLUR).blocks(1, 2, 3).build());
        assertTrue(e.getMessage().contains("need 4 entries"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ArchConfig.preset("nope"));
        assertTrue(e.getMessage().contains("gopro"), e.getMessage());
    }

    @Test
    void notDiffIRStateDictsGiveOneClearLine() {
        Map<String, Tensor> sd = new LinkedHashMap<>();
        sd.put("conv1.weight", Tensor.zeros(diffir.engine.Device.CPU, 4, 3, 3, 3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ArchConfig.fromStateDict(sd));
        assertTrue(e.getMessage().startsWith("not a DiffIR state dict") && e.getMessage().contains("conv1.weight"), e.getMessage());

        // A DiffIR state dict with a decoder level cut short.
        Map<String, Tensor> cut = new LinkedHashMap<>(DiffIRModel.create(Stage.S2, Configs.deblur(), Init.cpu(1)).stateDict());
        cut.keySet().removeIf(k -> k.startsWith("G.decoder_level2.1."));
        e = assertThrows(IllegalArgumentException.class, () -> ArchConfig.fromStateDict(cut));
        assertTrue(e.getMessage().contains("G.decoder_level2 has 1 blocks but G.encoder_level2 has 2"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));

        // CPEN input channels that fit no variant.
        Map<String, Tensor> wrong = new LinkedHashMap<>(DiffIRModel.create(Stage.S2, Configs.deblur(), Init.cpu(1)).stateDict());
        wrong.put("condition.E.0.weight", Tensor.zeros(diffir.engine.Device.CPU, 4, 5, 3, 3));
        e = assertThrows(IllegalArgumentException.class, () -> ArchConfig.fromStateDict(wrong));
        assertTrue(e.getMessage().contains("condition.E.0.weight takes 5 channels"), e.getMessage());
    }

    @Test
    void layerNormTypeAndBiasReadBack() {
        ArchConfig c = Configs.deblur().toBuilder().layerNorm(LayerNorm.Type.BIAS_FREE).bias(true).build();
        assertEquals(c, ArchConfig.fromStateDict(DiffIRModel.create(Stage.S2, c, Init.cpu(2)).stateDict()));
    }
}
