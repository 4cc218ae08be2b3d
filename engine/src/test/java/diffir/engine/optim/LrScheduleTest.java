package diffir.engine.optim;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Schedules against PyTorch's MultiStepLR and basicsr's formulas stepped by PyTorch (gen_nn_optim.py). */
class LrScheduleTest {
    private static final double BASE = 2e-4;
    private static final Map<String, Tensor> F = Fixtures.load("optim_schedules");

    private static void assertEpochs(String key, LrSchedule s) {
        float[] ref = Fixtures.get(F, key).toFloatArray();
        for (int e = 0; e < ref.length; e++)
            assertEquals(ref[e], s.lrAtEpoch(BASE, e), 1e-6 * Math.abs(ref[e]), key + " epoch " + e);
    }

    private static void assertIterations(String key, LrSchedule s) {
        float[] ref = Fixtures.get(F, key).toFloatArray();
        for (int i = 0; i < ref.length; i++)
            assertEquals(ref[i], s.lrAtIteration(BASE, i + 1), 1e-6 * Math.abs(ref[i]), key + " iteration " + (i + 1));
    }

    private static CosineAnnealingRestartCyclicLR cyclic() {
        return new CosineAnnealingRestartCyclicLR(new long[]{6, 9}, new double[]{1, 0.8}, new double[]{2.85e-4, 1e-6});
    }

    @Test
    void multiStepMatchesPyTorch() {
        assertEpochs("multistep", new MultiStepLR(new long[]{10, 3, 6, 6}, 0.5));
    }

    @Test
    void cosineRestartMatchesBasicsr() {
        assertEpochs("restart", new CosineAnnealingRestartLR(new long[]{5, 7, 4}, new double[]{1, 0.5, 0.25}, 1e-5));
    }

    @Test
    void cosineRestartCyclicMatchesBasicsr() {
        assertEpochs("cyclic", cyclic());
        assertIterations("cyclic_iterations", cyclic());
    }

    @Test
    void warmupMatchesBasicsrTrainingLoop() {
        assertIterations("cyclic_warmup_iterations", new LinearWarmup(cyclic(), 5));
        // basicsr's warmup_iter -1 means none.
        assertIterations("cyclic_iterations", new LinearWarmup(cyclic(), -1));
    }

    @Test
    void applySetsTheOptimizerRate() {
        Optimizer opt = new SGD(Map.of("w", Tensor.zeros(Device.CPU, 1).requiresGrad(true)), BASE);
        new MultiStepLR(new long[]{2}, 0.1).apply(opt, BASE, 3);
        assertEquals(BASE * 0.1, opt.lr(), 1e-18);
    }

    @Test
    void epochsPastTheLastPeriodFail() {
        CosineAnnealingRestartCyclicLR s = cyclic();
        assertEquals(15, s.lastEpoch());
        s.lrAtEpoch(BASE, 15);
        var e = assertThrows(IllegalArgumentException.class, () -> s.lrAtEpoch(BASE, 16));
        assertTrue(e.getMessage().contains("past the schedule's last period"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new CosineAnnealingRestartCyclicLR(new long[]{5}, new double[]{1, 1}, new double[]{0}));
        assertThrows(IllegalArgumentException.class, () -> cyclic().lrAtIteration(BASE, 0));
    }
}
