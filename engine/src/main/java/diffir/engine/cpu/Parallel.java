package diffir.engine.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;

/**
 * Splits index ranges over the CPU cores. One shared pool sized by {@code -Ddiffir.threads}
 * (default: available processors). Calls made from inside a worker run inline, so nested kernels
 * never oversubscribe the cores.
 */
public final class Parallel {
    private Parallel() {}

    public static final int THREADS = Integer.getInteger("diffir.threads", Runtime.getRuntime().availableProcessors());

    private static final ForkJoinPool POOL = new ForkJoinPool(Math.max(1, THREADS));

    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }

    /** Runs body over [0, n) in up to THREADS contiguous chunks of at least minChunk indices. */
    public static void range(int n, int minChunk, Range body) {
        if (n <= 0) return;
        int chunks = Math.min(THREADS, Math.max(1, n / Math.max(1, minChunk)));
        if (chunks <= 1 || ForkJoinTask.inForkJoinPool()) {
            body.run(0, n);
            return;
        }
        ForkJoinTask<?>[] tasks = new ForkJoinTask<?>[chunks - 1];
        for (int t = 1; t < chunks; t++) {
            int from = (int) ((long) n * t / chunks), to = (int) ((long) n * (t + 1) / chunks);
            tasks[t - 1] = POOL.submit(() -> body.run(from, to));
        }
        RuntimeException first = null;
        try {
            body.run(0, (int) ((long) n / chunks));
        } catch (RuntimeException e) {
            first = e;
        }
        for (ForkJoinTask<?> task : tasks) {
            try {
                task.join();
            } catch (RuntimeException e) {
                if (first == null) first = e;
            }
        }
        if (first != null) throw first;
    }

    /** Runs body for each index in [0, n), one task per index spread over the cores. */
    public static void each(int n, java.util.function.IntConsumer body) {
        range(n, 1, (from, to) -> {
            for (int i = from; i < to; i++) body.accept(i);
        });
    }
}
