package diffir.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LossChartTest {
    @TempDir
    Path tmp;

    /** S1 (image loss), S2 encoder stage (prior loss only), S2 joint (both), as the demo logs them. */
    static List<TrainLog.Row> demoLike() {
        List<TrainLog.Row> rows = new ArrayList<>();
        for (int i = 1; i <= 30; i++) rows.add(new TrainLog.Row(i, "s1", 0.05, 0.05, Double.NaN, 1e-3, 0.1, i == 30 ? 30.5 : Double.NaN));
        for (int i = 31; i <= 40; i++) rows.add(new TrainLog.Row(i, "encoder", 0.01, Double.NaN, 0.01, 1e-3, 0.1, Double.NaN));
        for (int i = 41; i <= 70; i++) rows.add(new TrainLog.Row(i, "joint", 0.04, 0.03, 0.001, 5e-4, 0.1, i == 70 ? 30.9 : Double.NaN));
        return rows;
    }

    @Test
    void aLossAbsentForAWhileIsDrawnInStretchesWithOneLegendEntry() {
        var chart = LossChart.lossChart(demoLike(), "t");
        var names = chart.getSeriesMap().keySet();
        assertTrue(names.contains("image L1(out, GT)") && names.contains("image L1(out, GT) (2)"), names.toString());
        assertTrue(names.contains("prior L1(IPR_S2, IPR_S1)") && !names.contains("prior L1(IPR_S2, IPR_S1) (2)"), names.toString());
        assertEquals(30, chart.getSeriesMap().get("image L1(out, GT) (2)").getXData().length);
        long legend = chart.getSeriesMap().values().stream().filter(s -> s.isShowInLegend()).count();
        assertEquals(2, legend, names.toString());
    }

    @Test
    void writesAReadablePng() throws Exception {
        Path png = tmp.resolve("loss.png");
        LossChart.write(png, demoLike(), "demo");
        assertTrue(Files.size(png) > 1000);
        assertNotNull(ImageIO.read(png.toFile()));
    }
}
