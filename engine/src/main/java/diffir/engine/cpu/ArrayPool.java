package diffir.engine.cpu;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;

/**
 * Free float[]s of CPU tensor storage, fed by {@link CpuStorage#release} (MemoryScope closes, zeroGrad,
 * inference freeing its temporaries) and handed out again by {@link CpuBackend#allocate}: the shortest
 * free array that holds the request, if it is at most {@link #SLACK} times as long.
 *
 * <p>A model runs the same shapes over and over (every block of a level, every step, every image), so
 * nearly every allocation after the first run finds a released array. That saves the JVM zeroing a fresh
 * array (a pass over memory as long as the kernel's own), keeps the garbage collector idle, and keeps the
 * heap, hence the process's resident set, near the live tensors. Taking longer arrays, not only exact
 * lengths, matters for the resident set: with exact lengths every size a model uses keeps its own
 * arrays, idle while other sizes are in use (at 256 x 256 px that doubled DiffIR's tensor memory).
 *
 * <p>The pool holds at most {@code -Ddiffir.cpu.poolMiB} (default 1024) MiB: when a released array
 * would exceed that, the lengths least recently asked for are dropped to the collector first. With
 * {@code -Ddiffir.cpu.poison=true} every array handed out is filled with NaN, so a kernel that reads an
 * output it did not write (instead of overwriting it, as the Backend contract requires) shows at once.
 */
final class ArrayPool {
    private ArrayPool() {}

    static final long CAP_FLOATS = Long.getLong("diffir.cpu.poolMiB", 1024) * (1 << 20) / Float.BYTES;
    static final boolean POISON = Boolean.getBoolean("diffir.cpu.poison");
    /** A request may take a free array up to this many times its length. */
    static final int SLACK = 2;

    /** Released arrays of one length, and when that length was last taken or given. */
    private static final class Bucket {
        final ArrayDeque<float[]> free = new ArrayDeque<>();
        long lastUse;
    }

    private static final TreeMap<Integer, Bucket> BUCKETS = new TreeMap<>();
    private static long pooledFloats;
    private static long clock;
    /** Floats handed out and not given back (storage the collector took without a release stays counted), and its peak. */
    private static long outFloats, peakOutFloats;

    /**
     * An array of at least n floats: a released one when there is one (old contents; NaN when poisoning),
     * else a new one of exactly n.
     */
    static float[] take(int n) {
        float[] a = null;
        if (n > 0) {
            synchronized (ArrayPool.class) {
                long most = (long) SLACK * n;
                Map.Entry<Integer, Bucket> e = BUCKETS.ceilingEntry(n);
                while (e != null && e.getKey() <= most && e.getValue().free.isEmpty()) e = BUCKETS.higherEntry(e.getKey());
                if (e != null && e.getKey() <= most) {
                    Bucket b = e.getValue();
                    b.lastUse = ++clock;
                    a = b.free.poll();
                    pooledFloats -= a.length;
                } else {
                    dropShorter(n);
                }
                outFloats += a == null ? n : a.length;
                peakOutFloats = Math.max(peakOutFloats, outFloats);
            }
        }
        if (a == null) a = new float[n];
        if (POISON) java.util.Arrays.fill(a, Float.NaN);
        return a;
    }

    /** Takes back an array nobody uses any more; drops it (to the collector) when the pool is full. */
    static void give(float[] a) {
        give(a, CAP_FLOATS);
    }

    /** {@link #give(float[])} with a cap of the pool in floats. */
    static void give(float[] a, long cap) {
        int n = a.length;
        if (n == 0) return;
        synchronized (ArrayPool.class) {
            outFloats -= n; // given back, pooled or not
            if (n > cap) return;
            Bucket b = BUCKETS.computeIfAbsent(n, k -> new Bucket());
            b.lastUse = ++clock;
            while (pooledFloats + n > cap && evictOldest(b)) {
                // dropped the least recently used length's arrays
            }
            if (pooledFloats + n > cap) return;
            b.free.push(a);
            pooledFloats += n;
        }
    }

    /**
     * On a miss a new array of n floats is made: drop as many floats of idle arrays too short for it, so
     * that the heap does not keep growing by the sizes the model no longer asks for in the same numbers.
     */
    private static void dropShorter(int n) {
        long dropped = 0;
        for (Bucket b : BUCKETS.headMap(n, false).values()) {
            while (dropped < n && !b.free.isEmpty()) {
                float[] d = b.free.poll();
                pooledFloats -= d.length;
                dropped += d.length;
            }
            if (dropped >= n) return;
        }
    }

    /** Drops one array of the least recently used length other than keep's (or keep's own, last); false when empty. */
    private static boolean evictOldest(Bucket keep) {
        Bucket oldest = null;
        for (Bucket b : BUCKETS.values())
            if (b != keep && !b.free.isEmpty() && (oldest == null || b.lastUse < oldest.lastUse)) oldest = b;
        if (oldest == null) oldest = keep.free.isEmpty() ? null : keep;
        if (oldest == null) return false;
        float[] dropped = oldest.free.poll();
        pooledFloats -= dropped.length;
        return true;
    }

    /** The most floats handed out and not yet released at once since the last reset. */
    static synchronized long peakOutFloats() {
        return peakOutFloats;
    }

    static synchronized void resetPeak() {
        peakOutFloats = outFloats;
    }

    /** Floats held by the pool now. */
    static synchronized long pooledFloats() {
        return pooledFloats;
    }

    /** Drops every pooled array (tests; a caller about to need a different working set). */
    static synchronized void clear() {
        BUCKETS.clear();
        pooledFloats = 0;
    }
}
