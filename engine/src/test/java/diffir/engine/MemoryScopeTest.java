package diffir.engine;

import diffir.engine.nn.Init;
import diffir.engine.nn.Linear;
import diffir.engine.ops.Ops;
import diffir.engine.optim.Adam;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class MemoryScopeTest {
    @Test
    void releasesWhatItMadeAndKeepsWhatItIsTold() {
        Tensor outside = Tensor.ones(Device.CPU, 3);
        Tensor kept, dropped;
        try (MemoryScope s = MemoryScope.open()) {
            dropped = Ops.add(outside, outside);
            kept = s.keep(Ops.mul(outside, outside));
            assertEquals(1, s.size());
        }
        assertTrue(dropped.storage().released());
        assertFalse(kept.storage().released());
        assertFalse(outside.storage().released());
        assertArrayEquals(new float[]{1, 1, 1}, kept.toFloatArray());
        IllegalStateException e = assertThrows(IllegalStateException.class, dropped::toFloatArray);
        assertTrue(e.getMessage().contains("released"), e.getMessage());
    }

    @Test
    void nestedScopesHandKeptTensorsOutward() {
        Tensor x = Tensor.ones(Device.CPU, 2);
        Tensor inner;
        try (MemoryScope outer = MemoryScope.open()) {
            try (MemoryScope in = MemoryScope.open()) {
                inner = in.keep(Ops.addScalar(x, 1));
            }
            assertFalse(inner.storage().released());
            assertEquals(1, outer.size());
        }
        assertTrue(inner.storage().released());
    }

    @Test
    void freeReleasesOnlyWhatTheInnermostScopeOwns() {
        Tensor outside = Tensor.ones(Device.CPU, 3);
        try (MemoryScope outer = MemoryScope.open()) {
            Tensor a = Ops.addScalar(outside, 1);
            try (MemoryScope inner = MemoryScope.open()) {
                Tensor b = Ops.addScalar(a, 1);
                assertFalse(MemoryScope.free(a), "a belongs to the outer scope");
                assertFalse(MemoryScope.free(outside), "outside belongs to no scope");
                assertTrue(MemoryScope.free(b));
                assertTrue(b.storage().released());
                assertEquals(0, inner.size());
                assertFalse(MemoryScope.free(b), "freed once");
            }
            assertFalse(a.storage().released());
            assertTrue(MemoryScope.free(a));
        }
        assertFalse(outside.storage().released());
        assertArrayEquals(new float[]{1, 1, 1}, outside.toFloatArray());
    }

    @Test
    void closingOutOfOrderFails() {
        MemoryScope a = MemoryScope.open();
        MemoryScope b = MemoryScope.open();
        assertThrows(IllegalStateException.class, a::close);
        b.close();
        a.close();
    }

    /** Parameters, gradients and optimiser state outlive a per-step scope; results equal an unscoped run. */
    @Test
    void trainingStepsInScopesMatchUnscopedSteps() {
        float[] scoped = train(true), plain = train(false);
        assertArrayEquals(plain, scoped);
    }

    private static float[] train(boolean scoped) {
        Linear layer = new Linear(Init.cpu(5), 4, 3, true);
        Adam adam = new Adam(layer.namedParameters(), 1e-2);
        SplittableRandom rng = new SplittableRandom(9);
        Tensor x = Tensor.randn(Device.CPU, rng, 8, 4), y = Tensor.randn(Device.CPU, rng, 8, 3);
        for (int step = 0; step < 5; step++) {
            MemoryScope s = scoped ? MemoryScope.open() : null;
            try {
                adam.zeroGrad();
                Tensor loss = Ops.mseLoss(layer.forward(x), y);
                loss.backward();
                adam.step();
            } finally {
                if (s != null) s.close();
            }
        }
        return layer.weight().toFloatArray();
    }
}
