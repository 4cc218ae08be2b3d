package diffir.bench;

import diffir.engine.Device;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ModelTiming end to end at tiny sizes on the CPU device, so the one GPU run does not find its bugs. */
class ModelTimingTest {
    @Test
    void everyCaseGivesOneCsvLine() throws Exception {
        List<String> csv = ModelTiming.run(Device.CPU, ModelTiming.Plan.tiny(), null);
        assertEquals(2, csv.size(), csv.toString());
        assertTrue(csv.get(0).startsWith("infer16,"), csv.get(0));
        assertTrue(csv.get(1).startsWith("train,"), csv.get(1));
        for (String line : csv) {
            String[] f = line.split(",");
            assertEquals(6, f.length, line);
            assertTrue(Double.parseDouble(f[1]) > 0, line);
        }
    }

    @Test
    void caseNamesAreCheckedBeforeAnythingRuns() {
        for (String ok : List.of("train", "infer8", "infer64", "infer256")) ModelTiming.checkCase(ok);
        for (String bad : List.of("infer0", "infer30", "infer", "infer64x", "training", "infer999999999")) {
            var e = assertThrows(IllegalArgumentException.class, () -> ModelTiming.checkCase(bad), bad);
            assertTrue(e.getMessage().contains("'" + bad + "'") && e.getMessage().contains("multiple of 8"), e.getMessage());
        }
    }
}
