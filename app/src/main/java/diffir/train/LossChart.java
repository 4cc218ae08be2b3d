package diffir.train;

import diffir.engine.io.AtomicFiles;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The loss curve (and validation PSNR when there is any) of a run as one PNG, drawn headless. */
public final class LossChart {
    private LossChart() {}

    private static final int WIDTH = 900, HEIGHT = 420;

    /**
     * Draws the chart; a machine whose Java has no working AWT or fonts (a trimmed runtime, a bare
     * server) gets one warning instead: the chart is a convenience, log.csv holds the same data.
     */
    public static void write(Path file, List<TrainLog.Row> rows, String title) {
        try {
            draw(file, rows, title);
        } catch (IOException | RuntimeException | LinkageError | InternalError e) {
            if (!warned) System.err.println("warning: loss chart not drawn (" + e + "); log.csv has the same data");
            warned = true;
        }
    }

    private static volatile boolean warned;

    private static void draw(Path file, List<TrainLog.Row> rows, String title) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<BufferedImage> parts = new ArrayList<>();
        parts.add(BitmapEncoder.getBufferedImage(lossChart(rows, title)));
        XYChart val = valChart(rows);
        if (val != null) parts.add(BitmapEncoder.getBufferedImage(val));
        int h = 0;
        for (BufferedImage p : parts) h += p.getHeight();
        BufferedImage all = new BufferedImage(WIDTH, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = all.createGraphics();
        int y = 0;
        for (BufferedImage p : parts) {
            g.drawImage(p, 0, y, null);
            y += p.getHeight();
        }
        g.dispose();
        AtomicFiles.write(file, os -> ImageIO.write(all, "png", os));
    }

    /**
     * The image loss L1(out, GT) (S1, S2 joint stage) and the prior loss L1(IPR_S2, IPR_S1) (S2) as
     * separate curves, each with its moving average: they live on different scales.
     */
    static XYChart lossChart(List<TrainLog.Row> rows, String title) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle("iteration").yAxisTitle("L1 loss").build();
        c.getStyler().setYAxisLogarithmic(true);
        c.getStyler().setMarkerSize(0);
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setXAxisDecimalPattern("#");
        boolean any = addCurve(c, rows, true, "image L1(out, GT)", new Color(150, 180, 230), new Color(20, 60, 160));
        any |= addCurve(c, rows, false, "prior L1(IPR_S2, IPR_S1)", new Color(240, 190, 140), new Color(200, 90, 20));
        if (!any) c.addSeries("no finite loss yet", List.of(0.0), List.of(1.0)).setMarker(SeriesMarkers.NONE);
        return c;
    }

    /**
     * One curve in stretches: a stretch ends where the loss is absent (the image loss during S2's
     * encoder stage), so no line is drawn across the gap and the moving average restarts after it.
     */
    private static boolean addCurve(XYChart c, List<TrainLog.Row> rows, boolean image, String name, Color raw, Color avg) {
        List<List<double[]>> stretches = new ArrayList<>();
        List<double[]> open = null;
        for (TrainLog.Row r : rows) {
            double v = image ? r.lPix() : r.lIpr();
            if (v > 0 && Double.isFinite(v)) {
                if (open == null) stretches.add(open = new ArrayList<>());
                open.add(new double[]{r.step(), v});
            } else {
                open = null;
            }
        }
        for (int k = 0; k < stretches.size(); k++) {
            List<Double> x = new ArrayList<>(), y = new ArrayList<>();
            for (double[] p : stretches.get(k)) {
                x.add(p[0]);
                y.add(p[1]);
            }
            String suffix = k == 0 ? "" : " (" + (k + 1) + ")";
            XYSeries s = c.addSeries(name + suffix, x, y);
            s.setLineColor(raw);
            s.setMarker(SeriesMarkers.NONE);
            s.setShowInLegend(false);
            XYSeries a = c.addSeries(name + " (moving average)" + suffix, x, movingAverage(y, Math.max(1, y.size() / 25)));
            a.setLineColor(avg);
            a.setMarker(SeriesMarkers.NONE);
            a.setShowInLegend(k == 0);
        }
        return !stretches.isEmpty();
    }

    private static XYChart valChart(List<TrainLog.Row> rows) {
        List<Double> x = new ArrayList<>(), y = new ArrayList<>();
        for (TrainLog.Row r : rows)
            if (Double.isFinite(r.valPsnr())) {
                x.add((double) r.step());
                y.add(r.valPsnr());
            }
        if (x.isEmpty()) return null;
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT * 2 / 3).title("validation").xAxisTitle("iteration").yAxisTitle("PSNR (dB)").build();
        c.getStyler().setChartBackgroundColor(Color.WHITE);
        c.getStyler().setLegendVisible(false);
        c.getStyler().setXAxisDecimalPattern("#");
        XYSeries s = c.addSeries("PSNR", x, y);
        s.setLineColor(new Color(200, 70, 30));
        s.setMarkerColor(new Color(200, 70, 30));
        s.setMarker(SeriesMarkers.CIRCLE);
        return c;
    }

    /** Mean of the last window values at each point. */
    static List<Double> movingAverage(List<Double> v, int window) {
        List<Double> out = new ArrayList<>(v.size());
        double sum = 0;
        for (int i = 0; i < v.size(); i++) {
            sum += v.get(i);
            if (i >= window) sum -= v.get(i - window);
            out.add(sum / Math.min(i + 1, window));
        }
        return out;
    }
}
