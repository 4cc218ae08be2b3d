package diffir.kernels;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A caching allocator of device memory. Sizes are rounded to classes (512 B steps below 1 MiB, four
 * classes per power of two above) with one free list each, so a training step reuses the blocks of the
 * last one and no cuMemAlloc happens in steady state. Blocks come back through {@link #release} (called
 * from the Cleaner thread when a tensor's storage becomes unreachable) and may be handed out again at
 * once: every kernel runs on one stream, so work queued with the old owner finishes before any work of
 * the new one starts.
 */
final class DeviceAllocator {
    private static final long SMALL = 1L << 20;

    private final DeviceApi api;
    private final Map<Long, ArrayDeque<Long>> free = new HashMap<>();
    private final ConcurrentLinkedQueue<long[]> released = new ConcurrentLinkedQueue<>();
    private long bytesInUse, bytesCached, peakInUse, deviceAllocations, hostSyncs;

    DeviceAllocator(DeviceApi api) {
        this.api = api;
    }

    /** The size class that serves a request of {@code bytes}. */
    static long sizeClass(long bytes) {
        if (bytes <= 0) return 512;
        if (bytes < SMALL) return (bytes + 511) & ~511L;
        int hi = 63 - Long.numberOfLeadingZeros(bytes - 1); // 2^hi < bytes <= 2^(hi+1)
        long step = (1L << hi) / 4;
        return (bytes + step - 1) / step * step;
    }

    /** A block of at least {@code bytes}; its size class is {@code sizeClass(bytes)}. */
    synchronized long allocate(long bytes) {
        long size = sizeClass(bytes);
        drainReleased();
        long address = takeFree(size);
        if (address == 0) address = fromDevice(size);
        bytesInUse += size;
        peakInUse = Math.max(peakInUse, bytesInUse);
        return address;
    }

    /** Gives a block back; safe from any thread (it is only queued here). */
    void release(long address, long size) {
        released.add(new long[]{address, size});
    }

    /** Returns every cached block to the device (after the queued work that may still use them). */
    synchronized void emptyCache() {
        drainReleased();
        if (bytesCached == 0) return;
        hostSyncs++;
        api.synchronize();
        for (ArrayDeque<Long> list : free.values())
            for (Long a : list) api.free(a);
        free.clear();
        bytesCached = 0;
    }

    synchronized String stats() {
        drainReleased();
        return String.format("%.1f MiB in use (peak %.1f), %.1f MiB cached, %d device allocations",
                bytesInUse / 1048576.0, peakInUse / 1048576.0, bytesCached / 1048576.0, deviceAllocations);
    }

    /** Times the allocator waited for the device (emptying its cache). */
    synchronized long hostSyncs() {
        return hostSyncs;
    }

    /** Blocks taken from the device (cuMemAlloc) so far: none in a steady state. */
    synchronized long deviceAllocations() {
        return deviceAllocations;
    }

    /** The most bytes live tensors held at once since the last {@link #resetPeak}. */
    synchronized long peakBytes() {
        drainReleased();
        return peakInUse;
    }

    synchronized void resetPeak() {
        drainReleased();
        peakInUse = bytesInUse;
    }

    synchronized long bytesInUse() {
        drainReleased();
        return bytesInUse;
    }

    private long takeFree(long size) {
        ArrayDeque<Long> list = free.get(size);
        if (list == null || list.isEmpty()) return 0;
        bytesCached -= size;
        return list.pop();
    }

    private void drainReleased() {
        long[] r;
        while ((r = released.poll()) != null) {
            free.computeIfAbsent(r[1], k -> new ArrayDeque<>()).push(r[0]);
            bytesInUse -= r[1];
            bytesCached += r[1];
        }
    }

    /** cuMemAlloc, and when the device is full: drop the cache, collect garbage, retry; then fail clearly. */
    private long fromDevice(long size) {
        long a = api.tryAllocate(size);
        for (int attempt = 0; a == 0 && attempt < 3; attempt++) {
            if (attempt > 0) {
                // Tensors the program no longer holds free their blocks once the GC has seen them.
                System.gc();
                try {
                    Thread.sleep(20L * attempt);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                drainReleased();
                a = takeFree(size);
                if (a != 0) return a;
            }
            emptyCache();
            a = api.tryAllocate(size);
        }
        if (a == 0) {
            long[] info = api.memoryInfo();
            throw new CudaException(String.format(
                    "CUDA out of memory: cannot allocate %.1f MiB (%.1f MiB held by live tensors; device has %.1f MiB free of %.1f MiB)",
                    size / 1048576.0, bytesInUse / 1048576.0, info[0] / 1048576.0, info[1] / 1048576.0));
        }
        deviceAllocations++;
        return a;
    }
}
