package diffir.kernels;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The caching allocator's bookkeeping, on a counting stand-in for the device (no GPU needed). */
class DeviceAllocatorTest {
    /** Hands out fake addresses up to a byte budget; counts driver calls. */
    static final class FakeDevice implements DeviceApi {
        long budget, used, next = 1 << 20;
        int allocations, frees, syncs;
        final java.util.Map<Long, Long> live = new java.util.HashMap<>();

        FakeDevice(long budget) {
            this.budget = budget;
        }

        @Override public String describe() { return "fake"; }
        @Override public int multiprocessors() { return 1; }

        @Override
        public long tryAllocate(long bytes) {
            if (used + bytes > budget) return 0;
            allocations++;
            used += bytes;
            long a = next;
            next += bytes + 256;
            live.put(a, bytes);
            return a;
        }

        @Override
        public void free(long address) {
            frees++;
            used -= live.remove(address);
        }

        @Override public long[] memoryInfo() { return new long[]{budget - used, budget}; }
        @Override public void upload(float[] src, int offset, long dst, int count) {}
        @Override public void download(long src, float[] dst, int offset, int count) {}
        @Override public void copy(long dst, long src, long bytes) {}
        @Override public void fill32(long dst, int bits, long count) {}
        @Override public boolean hasKernel(String name) { return false; }
        @Override public void launch(String name, Dim3 grid, Dim3 block, int sharedBytes, Object... args) {}
        @Override public void synchronize() { syncs++; }
        @Override public Blas blas() { return null; }
        @Override public Dnn dnn() { return null; }
    }

    @Test
    void sizeClassesWasteAtMostAQuarter() {
        long prev = 0;
        for (long b = 1; b < (1L << 34); b = b * 3 / 2 + 7) {
            long c = DeviceAllocator.sizeClass(b);
            assertTrue(c >= b, "class " + c + " below request " + b);
            assertTrue(c >= prev, "classes grow with the request");
            if (b >= 1 << 20) assertTrue(c <= b * 1.25 + 1, "class " + c + " wastes more than 25% of " + b);
            else assertTrue(c - b < 512, "small requests round to 512 bytes");
            prev = c;
        }
        assertEquals(512, DeviceAllocator.sizeClass(0));
        assertEquals(1L << 20, DeviceAllocator.sizeClass(1L << 20));
    }

    @Test
    void releasedBlocksAreReusedWithoutTheDriver() {
        FakeDevice dev = new FakeDevice(1L << 40);
        DeviceAllocator a = new DeviceAllocator(dev);
        List<Long> first = new ArrayList<>();
        for (int i = 0; i < 10; i++) first.add(a.allocate(1000 * (i + 1)));
        for (int i = 0; i < 10; i++) a.release(first.get(i), DeviceAllocator.sizeClass(1000 * (i + 1)));
        Set<Long> second = new HashSet<>();
        for (int i = 0; i < 10; i++) second.add(a.allocate(1000 * (i + 1)));
        assertEquals(new HashSet<>(first), second, "the same blocks come back");
        assertEquals(10, dev.allocations, "steady state makes no driver allocation");
        assertEquals(0, a.hostSyncs(), "reuse never waits for the device");
        assertEquals(10, a.deviceAllocations());
    }

    @Test
    void outOfMemoryDropsTheCacheAndRetriesThenFailsClearly() {
        FakeDevice dev = new FakeDevice(8L << 20);
        DeviceAllocator a = new DeviceAllocator(dev);
        long x = a.allocate(6L << 20);
        a.release(x, DeviceAllocator.sizeClass(6L << 20));
        // 6 MiB cached, 2 MiB free: a 5 MiB request succeeds once the cache is returned to the driver.
        a.allocate(5L << 20);
        assertEquals(1, dev.frees);
        assertTrue(dev.syncs >= 1, "queued work is waited for before cached blocks are freed");
        assertEquals(dev.syncs, a.hostSyncs(), "the allocator counts its waits");
        var e = assertThrows(CudaException.class, () -> a.allocate(7L << 20));
        assertTrue(e.getMessage().startsWith("CUDA out of memory: cannot allocate 7.0 MiB"), e.getMessage());
        assertTrue(e.getMessage().contains("held by live tensors"), e.getMessage());
    }
}
