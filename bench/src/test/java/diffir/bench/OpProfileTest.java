package diffir.bench;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.cpu.CpuBackend;
import diffir.engine.ops.Ops;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OpProfileTest {
    @Test
    void countsEachCallFromOutsideTheBackendOnceAndKeepsResults() {
        OpProfile profile = OpProfile.of(CpuBackend.INSTANCE, false);
        Device d = Device.custom("cpu", profile.backend());
        SplittableRandom rng = new SplittableRandom(3);
        Tensor a = Tensor.randn(Device.CPU, rng, 5, 7), b = Tensor.randn(Device.CPU, rng, 7, 3);
        profile.reset();
        Tensor y = Ops.matmul(a.to(d), b.to(d));
        Tensor z = Ops.add(y, y);
        assertArrayEquals(Ops.matmul(a, b).toFloatArray(), y.toFloatArray());
        assertArrayEquals(Ops.add(Ops.matmul(a, b), Ops.matmul(a, b)).toFloatArray(), z.toFloatArray());
        String table = profile.table(1, 1.0);
        assertTrue(table.matches("(?s).*\\n  matmul +1 .*"), table);
        assertTrue(table.matches("(?s).*\\n  binary +1 .*"), table);
        assertTrue(table.contains("(all kernels)"), table);
    }

    @Test
    void byShapeNamesTheArguments() {
        OpProfile profile = OpProfile.of(CpuBackend.INSTANCE, true);
        Device d = Device.custom("cpu", profile.backend());
        Tensor a = Tensor.randn(Device.CPU, new SplittableRandom(4), 2, 3).to(d);
        profile.reset();
        Ops.add(a, a);
        String table = profile.table(1, 1.0);
        assertTrue(table.contains("binary [2,3] [2,3] [2,3]"), table);
    }
}
