package diffir.engine.optim;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.nn.Init;
import diffir.engine.nn.Linear;
import diffir.engine.nn.Module;
import diffir.engine.testing.Assert;
import diffir.engine.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static diffir.engine.testing.Fixtures.get;
import static org.junit.jupiter.api.Assertions.*;

/** basicsr's model_ema against its float64 reference (gen_nn_optim.py), plus buffer copying and matching. */
class EmaTest {
    /** A module with two parameters and a buffer, standing in for a network. */
    static final class Net extends Module {
        final Tensor a, b, buf;

        Net(Init init) {
            a = param("a", init.zeros(4, 3));
            b = param("b", init.zeros(5));
            buf = buffer("buf", init.zeros(2));
        }
    }

    @Test
    void updateMatchesBasicsr() {
        Map<String, Tensor> f = Fixtures.load("optim_ema");
        Net src = new Net(Init.cpu(1)), avg = new Net(Init.cpu(2));
        avg.a.copyFrom(get(f, "ema0.a"));
        avg.b.copyFrom(get(f, "ema0.b"));
        Ema ema = new Ema(src, avg);
        for (int t = 0; t < 3; t++) {
            src.a.copyFrom(get(f, "src" + t + ".a"));
            src.b.copyFrom(get(f, "src" + t + ".b"));
            src.buf.copyFrom(Tensor.of(new float[]{t, -t}, 2));
            ema.update(0.9);
            Assert.close(avg.a, get(f, "ema" + (t + 1) + ".a"), 1e-6, "ema a after " + (t + 1));
            Assert.close(avg.b, get(f, "ema" + (t + 1) + ".b"), 1e-6, "ema b after " + (t + 1));
            assertArrayEquals(new float[]{t, -t}, avg.buf.toFloatArray(), "buffers are copied");
        }
    }

    @Test
    void copyWeightsIsExact() {
        Linear src = new Linear(Init.cpu(1), 3, 4, true), avg = new Linear(Init.cpu(2), 3, 4, true);
        new Ema(src, avg).copyWeights();
        assertArrayEquals(src.weight().toFloatArray(), avg.weight().toFloatArray());
        assertArrayEquals(src.bias().toFloatArray(), avg.bias().toFloatArray());
    }

    @Test
    void mismatchedModelsFailWithOneMessage() {
        Linear src = new Linear(Init.cpu(1), 3, 4, true);
        Linear other = new Linear(Init.cpu(1), 3, 5, false);
        var e = assertThrows(IllegalArgumentException.class, () -> new Ema(src, other));
        assertTrue(e.getMessage().contains("'weight' [4, 3] vs EMA [5, 3]") && e.getMessage().contains("'bias' missing"), e.getMessage());
        Map<String, Tensor> extra = new LinkedHashMap<>(src.namedParameters());
        extra.put("x", Tensor.zeros(Device.CPU, 1));
        var e2 = assertThrows(IllegalArgumentException.class, () -> new Ema(src.namedParameters(), Map.of(), extra, Map.of()));
        assertTrue(e2.getMessage().contains("EMA parameter 'x' not in the trained model"), e2.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Ema(src, new Linear(Init.cpu(1), 3, 4, true)).update(1.5));
    }
}
