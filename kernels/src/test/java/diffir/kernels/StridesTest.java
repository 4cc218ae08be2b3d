package diffir.kernels;

import diffir.engine.Shapes;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StridesTest {
    @Test
    void contiguousWalksCollapseToOneAxis() {
        int[] shape = {2, 3, 4};
        long[] st = Shapes.strides(shape);
        Strides s = Strides.collapse(shape, st, st);
        assertArrayEquals(new int[]{24}, s.shape);
        assertTrue(s.contiguous());
    }

    @Test
    void broadcastAndPermutedAxesStaySeparate() {
        int[] shape = {2, 3, 4, 5};
        // a broadcast over axis 1, contiguous elsewhere; out contiguous.
        long[] a = Shapes.broadcastStrides(new int[]{2, 1, 4, 5}, shape);
        Strides s = Strides.collapse(shape, a, Shapes.strides(shape));
        assertArrayEquals(new int[]{2, 3, 20}, s.shape);
        assertArrayEquals(new long[]{20, 0, 1}, s.s0);
        assertArrayEquals(new long[]{60, 20, 1}, s.s1);
        // Size-1 axes vanish; a lone element is a one-element space.
        Strides one = Strides.collapse(new int[]{1, 1}, new long[]{7, 3}, new long[]{1, 1});
        assertArrayEquals(new int[]{1}, one.shape);
        assertEquals(1, one.numel());
    }

    @Test
    void packsTheKernelStruct() {
        int[] shape = {3, 5};
        Strides s = Strides.collapse(shape, new long[]{1, 3}, new long[]{5, 1});
        int[] p = s.pack("test");
        assertEquals(26, p.length);
        assertEquals(2, p[0]);
        assertEquals(15, p[1]);
        assertEquals(3, p[2]);
        assertEquals(5, p[3]);
        assertEquals(1, p[10]);
        assertEquals(3, p[11]);
        assertEquals(5, p[18]);
        assertEquals(1, p[19]);
    }

    @Test
    void rejectsMoreThanEightAxesClearly() {
        int[] shape = {2, 2, 2, 2, 2, 2, 2, 2, 2};
        long[] alternating = new long[9];
        for (int i = 0; i < 9; i++) alternating[i] = i % 2 == 0 ? 1000 >> i : 0;
        Strides s = Strides.collapse(shape, alternating, Shapes.strides(shape));
        var e = assertThrows(IllegalArgumentException.class, () -> s.pack("copyStrided"));
        assertTrue(e.getMessage().contains("more than 8"), e.getMessage());
    }
}
