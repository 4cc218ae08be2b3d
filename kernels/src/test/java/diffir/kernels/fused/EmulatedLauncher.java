package diffir.kernels.fused;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.cpu.CpuStorage;
import diffir.kernels.Dim3;
import diffir.kernels.GpuDevices;
import diffir.kernels.KernelLauncher;
import diffir.kernels.Ptr;
import diffir.kernels.emulator.EmulatedDevice;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fused kernels' glue on CPU tensors, run by the CPU emulator ({@link EmulatedDevice}) for the
 * fixture tests. Each launch copies every storage it touches into an emulator buffer of exactly its
 * size (an access past its end hits the guard page; a write before its start or into the alignment
 * slack is reported), runs the kernel, and copies the storages back. Scratch starts as NaN.
 */
final class EmulatedLauncher implements KernelLauncher {
    private static final int ALIGNMENT = 16;

    private final EmulatedDevice device;
    private int multiprocessors = 8;
    private final List<String> launched = new ArrayList<>();

    private EmulatedLauncher(EmulatedDevice device) {
        this.device = device;
    }

    /** The launcher, or the calling test is skipped where the emulator cannot be built. */
    static EmulatedLauncher get() {
        return new EmulatedLauncher(GpuDevices.emulator());
    }

    /** 0 forward, 1 reverse, 2 shuffled (the default) thread order within blocks. */
    void threadOrder(int mode) {
        device.threadOrder(mode);
    }

    /** The multiprocessor count reported to the glue (it sizes the Gram's pixel chunks). */
    void multiprocessors(int count) {
        multiprocessors = count;
    }

    /** Names of the kernels launched since the last call, in order; clears the record. */
    List<String> takeLaunched() {
        List<String> r = List.copyOf(launched);
        launched.clear();
        return r;
    }

    @Override
    public void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, Object... args) {
        launched.add(kernel);
        Map<float[], Long> buffers = new IdentityHashMap<>();
        try {
            Object[] deviceArgs = new Object[args.length];
            for (int i = 0; i < args.length; i++)
                deviceArgs[i] = switch (args[i]) {
                    case null -> Ptr.NULL;
                    case Tensor t -> new Ptr(buffer(buffers, t) + 4L * t.offset());
                    default -> args[i];
                };
            device.launch(kernel, grid, block, sharedBytes, deviceArgs);
            buffers.forEach((data, address) -> device.download(address, data, 0, data.length));
        } finally {
            buffers.values().forEach(device::free);
        }
    }

    private long buffer(Map<float[], Long> buffers, Tensor t) {
        if (!(t.storage() instanceof CpuStorage s)) throw new IllegalArgumentException("the emulator runs on CPU tensors, got " + t);
        return buffers.computeIfAbsent(s.data(), data -> {
            long address = device.allocate(4L * data.length, ALIGNMENT);
            if (address == 0) throw new OutOfMemoryError("emulator buffer of " + data.length + " floats");
            device.upload(data, 0, address, data.length);
            return address;
        });
    }

    @Override
    public Tensor scratch(int... shape) {
        return Tensor.full(Device.CPU, Float.NaN, shape);
    }

    @Override
    public int multiprocessors() {
        return multiprocessors;
    }
}
