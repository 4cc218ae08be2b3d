package diffir.kernels;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import org.junit.jupiter.api.Test;

import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The backend's count of host waits ({@link CudaBackend#hostSyncs}) on the CPU emulator: a whole
 * forward and backward pass of a small DIRformer-like model (fused LayerNorm, attention, gated
 * convolution, convolutions, shuffles, an L1 loss) queues its work without a single host wait once
 * the allocator's cache is warm, and each download and synchronize counts one (DeviceAllocatorTest
 * checks the allocator's own waits).
 */
class HostSyncEmulatedTest {
    @Test
    void aTrainingPassQueuesWithoutHostWaits() {
        Device d = GpuDevices.emulated();
        CudaBackend b = GpuDevices.backend(d);
        SplittableRandom rng = new SplittableRandom(11);
        Map<String, Tensor> p = new java.util.LinkedHashMap<>();
        TinyDiffIR.parameters(rng).forEach((k, v) -> p.put(k, v.to(d).requiresGrad(true)));
        Tensor x = Tensor.randn(Device.CPU, rng, 2, 3, 8, 8).to(d), z = Tensor.randn(Device.CPU, rng, 2, 8).to(d);
        Tensor target = Tensor.randn(Device.CPU, rng, 2, 3, 8, 8).to(d);

        Autograd.backward(TinyDiffIR.loss(p, x, z, target, true), null);  // warm-up: the allocator's cache fills
        long before = b.hostSyncs();
        Tensor loss = TinyDiffIR.loss(p, x, z, target, true);
        Autograd.backward(loss, null);
        assertEquals(before, b.hostSyncs(), "host waits during a forward and backward pass: " + b.hostSyncReport());

        loss.toFloatArray();
        assertEquals(before + 1, b.hostSyncs(), "a download waits once: " + b.hostSyncReport());
        b.synchronize();
        assertEquals(before + 2, b.hostSyncs(), "synchronize waits once: " + b.hostSyncReport());
    }
}
