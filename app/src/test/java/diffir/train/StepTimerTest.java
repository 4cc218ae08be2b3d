package diffir.train;

import diffir.cli.CliRunner;
import diffir.data.Task;
import diffir.engine.Device;
import diffir.model.Stage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;

class StepTimerTest {
    @TempDir
    Path tmp;

    @Test
    void settledTimeIsPositiveAndStopsAtTheTimeCap() throws Exception {
        Path data = CliRunner.pictures(tmp.resolve("data"), 2, 32, 40);
        TrainSpec s1 = new TrainSpec(Task.DEBLUR, Stage.S1, data, null, LrPlanAndSpecTest.ARCH, 10, 2, 16, 2e-4, 7, null, 0, 0.999, 0, 0, 0);
        long t0 = System.nanoTime();
        double perStep = StepTimer.settledSecondsPerStep(s1, false, Device.CPU, 1, 2.0);
        double took = (System.nanoTime() - t0) / 1e9;
        assertTrue(perStep > 0 && perStep < took, perStep + " s per step, " + took + " s in all");
        // At least three windows, and no more than the cap plus the window that crossed it.
        assertTrue(took >= 3 * perStep && took < 2.0 + 10 * perStep + 5, took + " s");
        TrainSpec s2 = new TrainSpec(Task.DEBLUR, Stage.S2, data, null, LrPlanAndSpecTest.ARCH, 10, 2, 16, 2e-4, 7, Path.of("s1.safetensors"), 10,
                0.999, 0, 0, 0);
        assertTrue(StepTimer.settledSecondsPerStep(s2, true, Device.CPU, 1, 1.0) > 0);
        assertTrue(StepTimer.settledSecondsPerStep(s2, false, Device.CPU, 1, 1.0) > 0);
    }
}
