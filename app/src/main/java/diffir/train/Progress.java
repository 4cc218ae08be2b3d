package diffir.train;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.Locale;

/**
 * Training progress: on a terminal a live bar with loss, learning rate, it/s and ETA; elsewhere (CI
 * logs, files, tests) plain lines about twenty times per run, with the same figures.
 */
public interface Progress extends AutoCloseable {
    /** Iteration it of total is done. */
    void step(long it, double loss, double lr);

    /** A line of news (validation, checkpoint) that must not be lost in the bar. */
    void message(String line);

    @Override
    void close();

    /** A bar when stdout is an interactive terminal and out is the process's stdout, lines otherwise. */
    static Progress create(String title, long start, long total, PrintWriter out, boolean processStdout) {
        java.io.Console console = System.console();
        if (processStdout && console != null && console.isTerminal()) return new Bar(title, start, total, System.out);
        return new Lines(title, start, total, out);
    }

    static String duration(double seconds) {
        if (!Double.isFinite(seconds)) return "?";
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s % 3600 / 60)
                : s >= 60 ? String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60) : s + "s";
    }

    /** The progressbar library's live bar. */
    final class Bar implements Progress {
        private final ProgressBar bar;
        private final PrintStream stream;

        Bar(String title, long start, long total, PrintStream stream) {
            this.stream = stream;
            this.bar = new ProgressBarBuilder().setTaskName(title).setInitialMax(total).startsFrom(start, Duration.ZERO)
                    .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK).showSpeed().setUnit(" it", 1)
                    .setConsumer(new ConsoleProgressBarConsumer(stream)).setUpdateIntervalMillis(250).build();
        }

        @Override
        public void step(long it, double loss, double lr) {
            bar.stepTo(it);
            bar.setExtraMessage(String.format(Locale.ROOT, "  loss %.4f  lr %.2e", loss, lr));
        }

        @Override
        public void message(String line) {
            stream.print("\r\033[K");
            stream.println(line);
            bar.refresh();
        }

        @Override
        public void close() {
            bar.close();
        }
    }

    /** Plain lines, for logs. */
    final class Lines implements Progress {
        private final String title;
        private final long start, total, every;
        private final PrintWriter out;
        private final long t0 = System.nanoTime();

        Lines(String title, long start, long total, PrintWriter out) {
            this.title = title;
            this.start = start;
            this.total = total;
            this.out = out;
            this.every = Math.max(1, (total - start) / 20);
        }

        @Override
        public void step(long it, double loss, double lr) {
            if ((it - start) % every != 0 && it != total) return;
            double sec = (System.nanoTime() - t0) / 1e9, rate = (it - start) / sec;
            out.printf(Locale.ROOT, "%s %d/%d  loss %.4f  lr %.2e  %.2f it/s  ETA %s%n", title, it, total, loss, lr, rate,
                    Progress.duration((total - it) / rate));
            out.flush();
        }

        @Override
        public void message(String line) {
            out.println(line);
            out.flush();
        }

        @Override
        public void close() {
            out.flush();
        }
    }
}
