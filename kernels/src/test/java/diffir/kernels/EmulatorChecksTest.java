package diffir.kernels;

import diffir.kernels.emulator.EmulatedDevice;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CPU emulator finds what it promises: each kernel of src/test/emu/emu_checks.cu has one
 * deliberate bug, and its launch must fail with a message naming it; the emulator passes every
 * argument type through, leaves new memory NaN, and lands cp.async copies only when waited for.
 */
class EmulatorChecksTest {
    private EmulatedDevice emu;
    private long out;

    @BeforeEach
    void buffer() {
        emu = GpuDevices.emulator();
        out = emu.allocate(4 * 1024, 16);
    }

    @AfterEach
    void release() {
        if (emu == null) return;  // skipped: no emulator here
        emu.threadOrder(2);
        emu.free(out);
    }

    private float[] download(long address, int count) {
        float[] f = new float[count];
        emu.download(address, f, 0, count);
        return f;
    }

    private String failure(String kernel, int threads, Object... args) {
        var e = assertThrows(IllegalStateException.class, () -> emu.launch(kernel, Dim3.of(1), Dim3.of(threads), 0, args));
        assertTrue(e.getMessage().startsWith("kernel " + kernel + " failed in the emulator: "), e.getMessage());
        return e.getMessage();
    }

    private static void assertContains(String message, String part) {
        assertTrue(message.contains(part), "expected \"" + part + "\" in: " + message);
    }

    @Test
    void passesEveryArgumentType() {
        long l = (5L << 40) + 3;
        emu.launch("emu_check_arguments", Dim3.of(1), Dim3.of(64), 0, new Ptr(out), -7, l, 2.5f, new int[]{11, -12},
                new int[]{1, 2, 3, 4, 5, 6, 7}, -0.25f);
        float[] f = download(out, 14 + 64);
        assertArrayEquals(new float[]{-7, (float) l, 2.5f, 11, -12, -0.25f, 5, 1, 2, 3, 4, 5, 6, 7}, Arrays.copyOf(f, 14));
        for (int t = 0; t < 64; t++) assertEquals(496f, f[14 + t], "warp sum of lanes at thread " + t);
    }

    @Test
    void newMemoryIsNaN() {
        for (float v : download(out, 1024)) assertTrue(Float.isNaN(v));
    }

    @Test
    void barrierAfterSomeThreadsReturned() {
        assertContains(failure("emu_check_barrier_after_return", 64, new Ptr(out)), "__syncthreads reached after 1 thread(s)");
    }

    @Test
    void threadsAtDifferentBarriers() {
        assertContains(failure("emu_check_divergent_barriers", 32, new Ptr(out)), "threads stopped at different barriers");
    }

    @Test
    void shuffleAfterSomeLanesReturned() {
        assertContains(failure("emu_check_shuffle_after_return", 32, new Ptr(out)), "warp 0: a warp operation reached after 1 lane(s)");
    }

    @Test
    void shuffleWithAPartialMaskOrInAPartialWarp() {
        assertContains(failure("emu_check_partial_mask", 32, new Ptr(out)), "only full-mask warp operations");
        assertContains(failure("emu_check_partial_warp", 48, new Ptr(out)), "in a partial warp");
    }

    @Test
    void misaligned16ByteAccess() {
        assertContains(failure("emu_check_misaligned", 1, new Ptr(out)), "misaligned 16-byte access");
    }

    @Test
    void accessesOutsideABuffer() {
        assertContains(failure("emu_check_read", 1, new Ptr(out), new Ptr(out), 1024), "an access at byte 4096 of a buffer of 4096 bytes");
        assertContains(failure("emu_check_write", 1, new Ptr(out), 1030), "a write at byte 4120 of a buffer of 4096 bytes");
        long five = emu.allocate(20, 16);
        try {
            assertContains(failure("emu_check_write", 1, new Ptr(five), 5), "a write at byte 20 of a buffer of 20 bytes");
            assertContains(failure("emu_check_write", 1, new Ptr(five), -1), "a write at byte -4 of a buffer of 20 bytes");
            emu.launch("emu_check_write", Dim3.of(1), Dim3.of(1), 0, new Ptr(five), 4);  // in bounds: no report
        } finally {
            emu.free(five);
        }
    }

    @Test
    void stackOverflow() {
        assertContains(failure("emu_check_stack_overflow", 1, new Ptr(out)), "stack overflow");
    }

    /** Dynamic shared memory starts as NaN, so a missing barrier shows in every thread order. */
    @Test
    void missingBarrierShowsInEveryThreadOrder() {
        for (int order = 0; order < 3; order++) {
            emu.threadOrder(order);
            emu.launch("emu_check_neighbour", Dim3.of(1), Dim3.of(64), 256, new Ptr(out), 1);
            float[] with = download(out, 64);
            for (int t = 0; t < 64; t++) assertEquals((t + 1) % 64, with[t], "with the barrier, thread " + t + " order " + order);
            emu.launch("emu_check_neighbour", Dim3.of(1), Dim3.of(64), 256, new Ptr(out), 0);
            float[] without = download(out, 64);
            assertTrue(Arrays.toString(without).contains("NaN"), "without the barrier (order " + order + "): " + Arrays.toString(without));
        }
    }

    /** cp.async: a copy's destination reads NaN until its group is waited for; an invalid copy lands zeros. */
    @Test
    void asyncCopiesLandWhenTheirGroupIsWaitedFor() {
        long in = emu.allocate(4 * 256, 16);
        try {
            float[] src = new float[256];
            for (int i = 0; i < 256; i++) src[i] = i + 1;
            emu.upload(src, 0, in, 256);
            for (int landed = 0; landed <= 2; landed++) {
                emu.launch("emu_check_cp_async", Dim3.of(1), Dim3.of(32), 0, new Ptr(in), new Ptr(out), landed);
                float[] f = download(out, 384);
                for (int i = 0; i < 384; i++) {
                    int group = i < 128 || i >= 256 ? 0 : 1;
                    float expected = group >= landed ? Float.NaN : i < 256 ? i + 1 : 0f;
                    assertEquals(expected, f[i], "element " + i + " with " + landed + " group(s) waited for");
                }
            }
        } finally {
            emu.free(in);
        }
    }

    @Test
    void invalidLaunches() {
        assertContains(failure("emu_check_write", 1025, new Ptr(out), 0), "invalid block size");
        var e = assertThrows(IllegalArgumentException.class,
                () -> emu.launch("emu_check_write", Dim3.of(1), Dim3.of(1), 0, new Ptr(out), "0"));
        assertContains(e.getMessage(), "argument 1 of type String is not a Ptr");
        assertThrows(IllegalStateException.class, () -> emu.launch("no_such_kernel", Dim3.of(1), Dim3.of(1), 0));
    }
}
