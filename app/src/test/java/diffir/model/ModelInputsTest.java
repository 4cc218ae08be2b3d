package diffir.model;

import diffir.engine.Device;
import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.engine.nn.Init;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Output shapes per variant, and one clear message for every malformed input. */
class ModelInputsTest {
    private static Tensor image(int... shape) {
        return Tensor.rand(Device.CPU, new SplittableRandom(shape.length + shape[2]), 0, 1, shape);
    }

    private static void assertMessage(Executable call, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        for (String p : parts) assertTrue(e.getMessage().contains(p), "'" + p + "' in: " + e.getMessage());
    }

    @Test
    void outputShapesPerVariant() {
        try (var s = Autograd.noGrad()) {
            assertArrayEquals(new int[]{2, 3, 16, 24}, new DiffIRS2(Init.cpu(1), Configs.deblur()).infer(image(2, 3, 16, 24), 1).out().shape());
            assertArrayEquals(new int[]{1, 3, 32, 64}, new DiffIRS2(Init.cpu(1), Configs.sr(4)).infer(image(1, 3, 8, 16), 1).out().shape());
            assertArrayEquals(new int[]{1, 3, 32, 32}, new DiffIRS2(Init.cpu(1), Configs.sr(2)).infer(image(1, 3, 16, 16), 1).out().shape());
            assertArrayEquals(new int[]{1, 3, 32, 32}, new DiffIRS2(Init.cpu(1), Configs.sr(1)).infer(image(1, 3, 32, 32), 1).out().shape());
            assertArrayEquals(new int[]{2, 3, 8, 16}, new DiffIRS2(Init.cpu(1), Configs.inpaint()).infer(image(2, 4, 8, 16), 1).out().shape());
            DiffIRS1.Output o = new DiffIRS1(Init.cpu(1), Configs.sr(2)).forward(image(1, 3, 16, 16), image(1, 3, 32, 32));
            assertArrayEquals(new int[]{1, 3, 32, 32}, o.out().shape());
            assertArrayEquals(new int[]{1, 16}, o.ipr().shape());
        }
    }

    @Test
    void seededNoiseIsReproducible() {
        DiffIRS2 m = new DiffIRS2(Init.cpu(1), Configs.deblur());
        assertArrayEquals(m.startNoise(2, 5).toFloatArray(), m.startNoise(2, 5).toFloatArray());
        assertFalse(java.util.Arrays.equals(m.startNoise(2, 5).toFloatArray(), m.startNoise(2, 6).toFloatArray()));
    }

    @Test
    void badInputsSayWhatIsWrong() {
        DiffIRS2 deblur = new DiffIRS2(Init.cpu(1), Configs.deblur());
        Tensor noise = deblur.startNoise(1, 1);
        assertMessage(() -> deblur.infer(image(1, 3, 16, 20), noise), "16x20", "multiples of 8");
        assertMessage(() -> deblur.infer(image(1, 3, 6, 8), noise), "CPEN input 6x8", "multiples of 4");
        assertMessage(() -> deblur.infer(image(1, 4, 16, 16), noise), "(N, 3, H, W)", Shapes.str(new int[]{1, 4, 16, 16}));
        assertMessage(() -> deblur.infer(image(2, 3, 16, 16), noise), "start noise must have shape [2, 16]");
        assertMessage(() -> deblur.trainForward(image(1, 3, 16, 16), noise, deblur.startNoise(1, 2).reshape(2, 8)), "eps must have shape [1, 16]");
        assertMessage(() -> deblur.generator().forward(image(1, 3, 16, 16), Tensor.zeros(Device.CPU, 1, 8)), "IPR (1, 16)");

        DiffIRS2 sr2 = new DiffIRS2(Init.cpu(1), Configs.sr(2));
        assertMessage(() -> sr2.infer(image(1, 3, 8, 8), 1), "multiples of 16");

        DiffIRS1 s1 = new DiffIRS1(Init.cpu(1), Configs.sr(4));
        assertMessage(() -> s1.forward(image(1, 3, 8, 8), image(1, 3, 8, 8)), "ground truth (1, 3, 32, 32)");
    }
}
