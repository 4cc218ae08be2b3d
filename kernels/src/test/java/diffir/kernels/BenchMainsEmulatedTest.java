package diffir.kernels;

import diffir.engine.Device;
import diffir.kernels.bench.KernelTimingProbe;
import diffir.kernels.check.KernelSmoke;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GPU check's mains (KernelSmoke for compute-sanitizer, KernelTiming) run end to end on the CPU
 * emulator at tiny sizes, so the one GPU run does not find their bugs.
 */
class BenchMainsEmulatedTest {
    @Test
    void kernelSmokeRunsEveryStep() {
        Device d = GpuDevices.emulated();
        List<String> failed = KernelSmoke.run(d);
        assertTrue(failed.isEmpty(), "smoke steps failed: " + failed);
    }

    @Test
    void kernelTimingProducesARowPerOp() {
        Device d = GpuDevices.emulated();
        List<String> csv = KernelTimingProbe.runTiny(d);
        for (String line : csv) assertEquals(6, line.split(",").length, line);
        for (String op : new String[]{"copy_d2d", "add", "mul_bcast", "gelu", "gelu_bwd", "pixel_unshuffle", "sum_bias_grad",
                "softmax_48", "l2norm_rows", "conv1x1_48_144_fwd", "dwconv3_144_bwd_w", "conv3x3_48_own_bwd_in", "adam_1M"})
            assertTrue(csv.stream().anyMatch(l -> l.startsWith(op + ",")), "no row for " + op + " in " + csv);
    }
}
