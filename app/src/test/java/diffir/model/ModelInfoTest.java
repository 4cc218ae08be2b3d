package diffir.model;

import diffir.engine.nn.Init;
import diffir.engine.nn.LayerNorm;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelInfoTest {
    @Test
    void goproMatchesTheReferenceSizeAndCost() {
        // DESIGN.md: 26.9M parameters (26.91M unique, REFERENCE_NOTES); 15, 60.5 and 242 GFLOP at 64, 128 and 256 px.
        long built = new DiffIRS2(Init.cpu(0), ArchConfig.gopro()).parameterCount();
        assertEquals(built, ModelInfo.parameterCount(ArchConfig.gopro(), Stage.S2));
        assertEquals(26.91e6, built, 0.005e6);
        double[][] sizes = {{64, 15}, {128, 60.5}, {256, 242}};
        for (double[] s : sizes) {
            double g = ModelInfo.of(ArchConfig.gopro(), Stage.S2, (int) s[0], (int) s[0]).gflop();
            assertEquals(s[1], g, s[1] * 0.01, "GFLOP at " + (int) s[0]);
        }
    }

    @Test
    void parameterCountEqualsTheBuiltModels() {
        for (ArchConfig c : List.of(Configs.deblur(), Configs.sr(4), Configs.sr(1), Configs.inpaint(),
                Configs.deblur().toBuilder().layerNorm(LayerNorm.Type.BIAS_FREE).bias(true).denoiseRes(3).build())) {
            for (Stage stage : Stage.values())
                assertEquals(DiffIRModel.create(stage, c, Init.cpu(0)).parameterCount(), ModelInfo.parameterCount(c, stage), c.task() + " " + stage);
        }
    }

    @Test
    void costGrowsWithThePixelsAndChecksTheSize() {
        ArchConfig sr = ArchConfig.realSr(2);
        double small = ModelInfo.of(sr, Stage.S2, 32, 32).gflop(), big = ModelInfo.of(sr, Stage.S2, 64, 64).gflop();
        assertTrue(big > 3.9 * small && big < 4 * small, small + " vs " + big);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelInfo.of(sr, Stage.S2, 24, 32));
        assertTrue(e.getMessage().contains("multiples of 16"), e.getMessage());
    }
}
