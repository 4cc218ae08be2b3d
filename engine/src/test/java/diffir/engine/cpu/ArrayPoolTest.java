package diffir.engine.cpu;

import diffir.engine.Device;
import diffir.engine.MemoryScope;
import diffir.engine.Tensor;
import diffir.engine.ops.Ops;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class ArrayPoolTest {
    @BeforeEach
    void empty() {
        ArrayPool.clear();
    }

    @Test
    void releasedStorageIsHandedOutAgain() {
        float[] first;
        try (MemoryScope s = MemoryScope.open()) {
            first = CpuBackend.data(Tensor.empty(Device.CPU, 3, 100));
        }
        Tensor again = Tensor.empty(Device.CPU, 300);
        assertSame(first, CpuBackend.data(again));
        assertEquals(300, again.storage().size());
    }

    @Test
    void takesTheShortestFreeArrayUpToTwiceTheRequest() {
        float[] small = new float[100], big = new float[500], mid = new float[150];
        ArrayPool.give(small);
        ArrayPool.give(big);
        ArrayPool.give(mid);
        assertSame(mid, ArrayPool.take(120));       // 100 is too short, 150 fits, 500 is more than twice
        float[] fresh = ArrayPool.take(200);         // 500 > 2*200: a new array of exactly 200
        assertEquals(200, fresh.length);
        assertNotSame(big, fresh);
        assertSame(big, ArrayPool.take(250));
    }

    @Test
    void aMissDropsIdleArraysTooShortForIt() {
        ArrayPool.give(new float[100]);
        ArrayPool.give(new float[60]);
        assertEquals(160, ArrayPool.pooledFloats());
        ArrayPool.take(120);                          // nothing fits: 120 floats' worth of shorter ones go
        assertEquals(0, ArrayPool.pooledFloats());
    }

    @Test
    void aStorageOnALongerArrayKeepsItsOwnSize() {
        ArrayPool.give(new float[64]);
        Tensor t = Tensor.empty(Device.CPU, 40);
        assertEquals(64, CpuBackend.data(t).length);
        assertEquals(40, t.storage().size());
        assertThrows(IllegalArgumentException.class, () -> new Tensor(new int[]{41}, t.storage(), 0, Device.CPU));
        float[] v = new float[40];
        for (int i = 0; i < 40; i++) v[i] = i;
        Tensor u = Tensor.of(v, 40);
        assertArrayEquals(v, Ops.mulScalar(u, 1f).toFloatArray());
    }

    @Test
    void arraysFromOutsideNeverEnterThePool() {
        float[] mine = new float[50];
        CpuStorage s = new CpuStorage(mine);
        s.release();
        assertEquals(0, ArrayPool.pooledFloats());
        assertThrows(IllegalStateException.class, s::data);
    }

    @Test
    void thePoolNeverHoldsMoreThanItsCap() {
        ArrayPool.give(new float[8], 1000);
        ArrayPool.give(new float[600], 1000);
        assertEquals(608, ArrayPool.pooledFloats());
        ArrayPool.give(new float[500], 1000); // over the cap: the least recently used length goes first (8), then 600
        assertEquals(500, ArrayPool.pooledFloats());
        ArrayPool.give(new float[2000], 1000); // longer than the cap: never pooled
        assertEquals(500, ArrayPool.pooledFloats());
    }

    @Test
    void anArrayTooLongToPoolStopsCountingAsHeld() {
        ArrayPool.resetPeak();
        long held = ArrayPool.peakOutFloats();
        float[] a = ArrayPool.take(3000);
        ArrayPool.give(a, 1000); // refused by the pool, but no longer in use
        ArrayPool.resetPeak();
        assertEquals(held, ArrayPool.peakOutFloats());
        assertEquals(0, ArrayPool.pooledFloats(), "nothing pooled");
    }

    @Test
    void peakCountsWhatIsHeldAtOnce() {
        CpuBackend cpu = CpuBackend.INSTANCE;
        cpu.resetPeakMemory();
        long before = cpu.peakMemoryBytes();
        try (MemoryScope s = MemoryScope.open()) {
            Tensor.empty(Device.CPU, 1000);
            Tensor.empty(Device.CPU, 1000);
        }
        try (MemoryScope s = MemoryScope.open()) {
            Tensor.empty(Device.CPU, 1000);
        }
        assertEquals(before + 2000L * Float.BYTES, cpu.peakMemoryBytes());
    }
}
