package diffir.bench;

import diffir.engine.Device;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
}
