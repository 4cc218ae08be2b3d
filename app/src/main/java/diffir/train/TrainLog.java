package diffir.train;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The run's CSV log, one row per iteration (validation PSNR on the rows where it ran). Resuming
 * drops rows past the checkpoint's step, so the log reads as one uninterrupted run.
 */
public final class TrainLog implements AutoCloseable {
    public static final String HEADER = "step,phase,loss,l_pix,l_ipr,lr,seconds,val_psnr";

    /** One row; NaN where a value does not apply. */
    public record Row(long step, String phase, double loss, double lPix, double lIpr, double lr, double seconds, double valPsnr) {
        String csv() {
            return String.format(Locale.ROOT, "%d,%s,%s,%s,%s,%s,%.3f,%s", step, phase, num(loss), num(lPix), num(lIpr), num(lr), seconds, num(valPsnr));
        }

        static Row parse(String line) {
            String[] f = line.split(",", -1);
            if (f.length != 8) throw new IllegalArgumentException("bad log row: " + line);
            return new Row(Long.parseLong(f[0]), f[1], val(f[2]), val(f[3]), val(f[4]), val(f[5]), val(f[6]), val(f[7]));
        }

        private static String num(double v) {
            return Double.isNaN(v) ? "" : Double.toString(v);
        }

        private static double val(String s) {
            return s.isEmpty() ? Double.NaN : Double.parseDouble(s);
        }
    }

    private final Path file;
    private final List<Row> rows = new ArrayList<>();
    private final BufferedWriter out;

    /** Opens the log of a run that has completed keepUpTo iterations (0 for a fresh run). */
    public TrainLog(Path file, long keepUpTo) throws IOException {
        this.file = file;
        if (keepUpTo > 0 && Files.isRegularFile(file))
            for (Row r : read(file)) if (r.step() <= keepUpTo) rows.add(r);
        StringBuilder b = new StringBuilder(HEADER).append('\n');
        for (Row r : rows) b.append(r.csv()).append('\n');
        diffir.engine.io.AtomicFiles.write(file, os -> os.write(b.toString().getBytes(StandardCharsets.UTF_8)));
        out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.APPEND);
    }

    /** The rows of a log file; a torn line (a crash mid-write) is skipped. */
    public static List<Row> read(Path file) throws IOException {
        List<Row> out = new ArrayList<>();
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (line.isBlank() || line.equals(HEADER)) continue;
            try {
                out.add(Row.parse(line));
            } catch (RuntimeException e) {
                // skipped
            }
        }
        return out;
    }

    public void add(Row r) throws IOException {
        rows.add(r);
        out.write(r.csv());
        out.newLine();
        out.flush();
    }

    public List<Row> rows() {
        return List.copyOf(rows);
    }

    public Path file() {
        return file;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
