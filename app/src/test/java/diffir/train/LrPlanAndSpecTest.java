package diffir.train;

import diffir.data.Task;
import diffir.model.ArchConfig;
import diffir.model.ArchTask;
import diffir.model.Stage;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The learning-rate plan (the reference's schedules scaled to a run) and the stored run settings. */
class LrPlanAndSpecTest {
    static final ArchConfig ARCH = ArchConfig.builder(ArchTask.DEBLUR).dim(4).blocks(1, 1, 1, 1).refinement(1).heads(1, 1, 1, 1).ffnFactor(1)
            .encoderRes(0).cpenFeats(2).build();

    static TrainSpec spec(Stage stage, long steps, long encoderSteps) {
        return new TrainSpec(Task.DEBLUR, stage, Path.of("data"), null, ARCH, steps, 2, 16, 2e-4, 7, stage == Stage.S2 ? Path.of("s1.safetensors") : null,
                encoderSteps, 0.999, 0, 0, 0);
    }

    @Test
    void s1IsFlatForTheFirst92Of300ThenACosineTo1e6() {
        LrPlan p = new LrPlan(spec(Stage.S1, 300, 0));
        assertEquals(2e-4, p.at(1), 1e-15);
        assertEquals(2e-4, p.at(93), 1e-15); // epoch 92 = the end of the flat period
        double mid = p.at(93 + 104); // half way through the 208-iteration cosine
        assertEquals(1e-6 + 0.5 * (2e-4 - 1e-6), mid, 1e-12);
        assertTrue(p.at(300) < 2e-6 && p.at(300) >= 1e-6, "ends near eta_min: " + p.at(300));
        for (long it = 94; it <= 300; it++) assertTrue(p.at(it) <= p.at(it - 1), "decreasing at " + it);
    }

    @Test
    void s2EncoderStageDropsTenfoldAt60PercentAndJointStageHalvesEvery80Of300() {
        LrPlan p = new LrPlan(spec(Stage.S2, 400, 100));
        assertEquals(2e-4, p.at(1), 1e-15);
        assertEquals(2e-4, p.at(60), 1e-15);
        assertEquals(2e-5, p.at(61), 1e-15);
        assertEquals(2e-5, p.at(100), 1e-15);
        assertEquals(2e-4, p.at(101), 1e-15); // the joint stage starts afresh
        assertEquals(2e-4, p.at(180), 1e-15);
        assertEquals(1e-4, p.at(181), 1e-15);
        assertEquals(5e-5, p.at(261), 1e-15);
        assertEquals(2.5e-5, p.at(341), 1e-15);
    }

    @Test
    void specRoundTripsThroughJsonAndNamesDifferences() {
        TrainSpec a = spec(Stage.S2, 40, 10);
        TrainSpec b = TrainSpec.fromJson(a.toJson());
        assertEquals(List.of(), a.differences(b));
        assertEquals(a.arch(), b.arch());
        TrainSpec c = new TrainSpec(Task.DEBLUR, Stage.S2, Path.of("data"), null, ARCH, 40, 4, 16, 2e-4, 7, Path.of("s1.safetensors"), 10, 0.999, 0, 0, 0);
        List<String> d = a.differences(c);
        assertEquals(1, d.size());
        assertTrue(d.getFirst().startsWith("batch"), d.toString());
    }

    @Test
    void specRejectsBadSettingsInOneMessage() {
        var e = assertThrows(IllegalArgumentException.class, () -> new TrainSpec(Task.DEBLUR, Stage.S1, Path.of("d"), null, ARCH, 0, 0, 16, -1, 0, null,
                0, 0.999, 0, 0, 0));
        assertTrue(e.getMessage().contains("--steps") && e.getMessage().contains("--batch") && e.getMessage().contains("--lr"), e.getMessage());
        ArchConfig sr4 = ArchConfig.builder(ArchTask.SR).scale(4).dim(4).blocks(1, 1, 1, 1).refinement(1).heads(1, 1, 1, 1).ffnFactor(1)
                .encoderRes(0).cpenFeats(2).build();
        var p = assertThrows(IllegalArgumentException.class, () -> new TrainSpec(Task.SR4, Stage.S1, Path.of("d"), null, sr4, 10, 2, 16, 1e-4, 0,
                null, 0, 0.999, 0, 0, 0));
        assertTrue(p.getMessage().contains("--patch 16") && p.getMessage().contains("multiple of 32"), p.getMessage());
        var t = assertThrows(IllegalArgumentException.class, () -> new TrainSpec(Task.SR4, Stage.S1, Path.of("d"), null, ARCH, 10, 2, 32, 1e-4, 0,
                null, 0, 0.999, 0, 0, 0));
        assertTrue(t.getMessage().contains("--task sr4 does not fit a deblur network"), t.getMessage());
    }
}
