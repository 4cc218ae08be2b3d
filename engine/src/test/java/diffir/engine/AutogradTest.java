package diffir.engine;

import diffir.engine.autograd.Autograd;
import diffir.engine.ops.Ops;
import diffir.engine.testing.GradCheck;
import org.junit.jupiter.api.Test;

import static diffir.engine.testing.GradCheck.param;
import static org.junit.jupiter.api.Assertions.*;

class AutogradTest {
    @Test
    void accumulatesThroughSharedInputs() {
        Tensor x = Tensor.of(new float[]{1, 2, 3}, 3).requiresGrad(true);
        // y = sum(x*x + x) -> dy/dx = 2x + 1
        Tensor y = Ops.sum(Ops.add(Ops.mul(x, x), x));
        y.backward();
        assertArrayEquals(new float[]{3, 5, 7}, x.grad().toFloatArray(), 1e-6f);
        // A second backward pass accumulates into grad.
        Ops.sum(x).backward();
        assertArrayEquals(new float[]{4, 6, 8}, x.grad().toFloatArray(), 1e-6f);
    }

    @Test
    void noGradRecordsNothing() {
        Tensor x = param(1, 2, 2);
        try (var s = Autograd.noGrad()) {
            Tensor y = Ops.mul(x, x);
            assertFalse(y.requiresGrad());
            assertNull(y.gradFn());
        }
        assertTrue(Ops.mul(x, x).requiresGrad());
    }

    @Test
    void detachCutsTheGraph() {
        Tensor x = param(2, 3);
        Tensor y = Ops.mul(x, x).detach();
        assertFalse(y.requiresGrad());
        assertArrayEquals(Ops.mul(x, x).toFloatArray(), y.toFloatArray());
    }

    @Test
    void backwardReleasesSavedTensors() {
        Tensor x = param(3, 4);
        Tensor y = Ops.mul(x, x);
        Tensor loss = Ops.sum(y);
        loss.backward();
        assertTrue(y.gradFn().released());
        assertThrows(IllegalStateException.class, loss::backward);
    }

    @Test
    void broadcastingBinaryGradients() {
        GradCheck.check(in -> Ops.add(in[0], in[1]), param(1, 2, 3, 4), param(2, 3, 1));
        GradCheck.check(in -> Ops.sub(in[0], in[1]), param(3, 2, 3, 4), param(4, 4));
        GradCheck.check(in -> Ops.mul(in[0], in[1]), param(5, 2, 1, 4), param(6, 3, 1));
        GradCheck.check(in -> Ops.div(in[0], Ops.addScalar(Ops.abs(in[1]), 1f)), param(7, 2, 3), param(8, 1, 3));
    }

    @Test
    void shapeOpGradients() {
        GradCheck.check(in -> Ops.permute(in[0], 2, 0, 1), param(1, 2, 3, 5));
        GradCheck.check(in -> Ops.pixelShuffle(in[0], 2), param(2, 2, 8, 3, 5));
        GradCheck.check(in -> Ops.pixelUnshuffle(in[0], 2), param(3, 2, 3, 4, 6));
        GradCheck.check(in -> Ops.narrow(in[0], 1, 1, 2), param(4, 2, 4, 3));
        GradCheck.check(in -> Ops.concat(1, in[0], in[1]), param(5, 2, 1, 3), param(6, 2, 2, 3));
        GradCheck.check(in -> Ops.upsampleNearest(in[0], 2), param(7, 1, 2, 3, 3));
        GradCheck.check(in -> Ops.sum(in[0], true, 0, 2), param(8, 3, 4, 5));
        GradCheck.check(in -> Ops.matmul(in[0], in[1]), param(9, 2, 3, 4), param(10, 4, 5));
        GradCheck.check(in -> Ops.matmul(in[0], in[1], true, true), param(11, 2, 4, 3), param(12, 2, 5, 4));
    }

    @Test
    void pixelShuffleInvertsUnshuffle() {
        Tensor x = param(9, 2, 3, 4, 6);
        assertArrayEquals(x.toFloatArray(), Ops.pixelShuffle(Ops.pixelUnshuffle(x, 2), 2).toFloatArray());
    }
}
