package diffir.engine.cpu;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

/**
 * Splits index ranges over the CPU cores: {@code -Ddiffir.threads} threads (default: available
 * processors), the calling thread and THREADS - 1 workers of our own.
 *
 * <p>Why not a ForkJoinPool: a training step is about 800 kernel calls of 20-500 us each, and a parked
 * thread takes tens of microseconds to wake (more on a virtual machine, where an idle vCPU halts). With
 * a pool whose workers park at once, the caller often finished its own chunk and then ran the worker's
 * chunk itself before the worker woke: the kernels of a step kept 1.5 of 2 cores busy. Here an idle
 * worker spins for a short while ({@code -Ddiffir.spinMicros}, default 200) before it parks, so the next
 * kernel finds it awake, and whoever is free claims the next chunk.
 *
 * <p>Chunk boundaries depend only on n, minChunk and THREADS, never on which thread runs a chunk, so
 * results are the same from run to run. Calls made from inside a chunk, or while another thread's
 * call holds the workers, run inline: nested kernels never oversubscribe the cores.
 */
public final class Parallel {
    private Parallel() {}

    public static final int THREADS = Math.max(1, Integer.getInteger("diffir.threads", Runtime.getRuntime().availableProcessors()));

    private static final long SPIN_NANOS = Math.max(0, Long.getLong("diffir.spinMicros", 200)) * 1000;

    /** Wall time threads spent spinning (waiting for work or for other threads' chunks), for profilers. */
    private static final LongAdder SPUN = new LongAdder();

    /**
     * Nanoseconds the pool's threads have spent spinning so far: CPU time the operating system counts as
     * busy that did no work. A profiler subtracts it from the process's CPU time to see how many cores
     * the kernels themselves kept busy.
     */
    public static long spinNanos() {
        return SPUN.sum();
    }

    @FunctionalInterface
    public interface Range {
        void run(int from, int to);
    }

    /** Runs body over [0, n) in up to THREADS contiguous chunks of at least minChunk indices. */
    public static void range(int n, int minChunk, Range body) {
        if (n <= 0) return;
        int chunks = Math.min(THREADS, Math.max(1, n / Math.max(1, minChunk)));
        if (chunks <= 1 || !Pool.INSTANCE.run(n, chunks, body)) body.run(0, n);
    }

    /** Runs body for each index in [0, n), one task per index spread over the cores. */
    public static void each(int n, java.util.function.IntConsumer body) {
        range(n, 1, (from, to) -> {
            for (int i = from; i < to; i++) body.accept(i);
        });
    }

    /** One call's chunks: claimed one at a time by whichever thread is free. */
    private static final class Job {
        final int n, chunks;
        final Range body;
        final AtomicInteger next = new AtomicInteger(), done = new AtomicInteger();
        volatile Throwable failure;

        Job(int n, int chunks, Range body) {
            this.n = n;
            this.chunks = chunks;
            this.body = body;
        }

        boolean unclaimed() {
            return next.get() < chunks;
        }

        void work() {
            for (int c; (c = next.getAndIncrement()) < chunks; ) {
                try {
                    body.run((int) ((long) n * c / chunks), (int) ((long) n * (c + 1) / chunks));
                } catch (Throwable t) {
                    if (failure == null) failure = t;
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }

    private static final class Pool {
        static final Pool INSTANCE = new Pool(THREADS - 1);

        private final Worker[] workers;
        private final AtomicBoolean busy = new AtomicBoolean();
        private volatile Job current;

        Pool(int size) {
            workers = new Worker[size];
            for (int i = 0; i < size; i++) {
                workers[i] = new Worker(this, i + 1);
                workers[i].start();
            }
        }

        /** Runs the job's chunks on this thread and the workers; false (nothing run) when they are taken. */
        boolean run(int n, int chunks, Range body) {
            if (workers.length == 0 || Thread.currentThread() instanceof Worker || !busy.compareAndSet(false, true)) return false;
            Job job = new Job(n, chunks, body);
            try {
                current = job;
                for (Worker w : workers)
                    if (w.parked) LockSupport.unpark(w);
                job.work();
                if (job.done.get() < chunks) {
                    long t0 = System.nanoTime();
                    while (job.done.get() < chunks) Thread.onSpinWait();
                    SPUN.add(System.nanoTime() - t0);
                }
            } finally {
                current = null;
                busy.set(false);
            }
            Throwable t = job.failure;
            if (t instanceof RuntimeException e) throw e;
            if (t instanceof Error e) throw e;
            if (t != null) throw new IllegalStateException(t);
            return true;
        }
    }

    private static final class Worker extends Thread {
        private final Pool pool;
        volatile boolean parked;

        Worker(Pool pool, int index) {
            super("diffir-cpu-" + index);
            this.pool = pool;
            setDaemon(true);
        }

        @Override
        public void run() {
            long idleSince = System.nanoTime();
            while (true) {
                Job job = pool.current;
                if (job != null && job.unclaimed()) {
                    SPUN.add(System.nanoTime() - idleSince);
                    job.work();
                    idleSince = System.nanoTime();
                } else if (System.nanoTime() - idleSince < SPIN_NANOS) {
                    Thread.onSpinWait();
                } else {
                    SPUN.add(System.nanoTime() - idleSince);
                    // Publish `parked` before the last look at `current`; the caller writes `current` before
                    // it reads `parked`: one of the two sees the other, so no job waits on a parked worker.
                    parked = true;
                    job = pool.current;
                    if (job == null || !job.unclaimed()) LockSupport.park(this);
                    parked = false;
                    idleSince = System.nanoTime();
                }
            }
        }
    }
}
