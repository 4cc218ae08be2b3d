package diffir.kernels;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.ops.Ops;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class EmulatorSmokeTest {
    @Test
    void addsOnTheEmulator() {
        Device d = GpuDevices.emulated();
        float[] a = new float[1001], b = new float[1001], want = new float[1001];
        for (int i = 0; i < a.length; i++) {
            a[i] = i;
            b[i] = 2 * i + 1;
            want[i] = a[i] + b[i];
        }
        Tensor x = Tensor.of(d, a, 1001), y = Tensor.of(d, b, 1001);
        assertArrayEquals(want, Ops.add(x, y).toFloatArray());
        float[] s = Ops.sum(x).toFloatArray();
        assertArrayEquals(new float[]{500500f}, s);
    }
}
