package diffir.kernels;

import diffir.engine.Device;
import diffir.kernels.emulator.EmulatedDevice;
import org.junit.jupiter.api.Assumptions;

/**
 * The devices GPU tests run on: the real CUDA device when this machine has one, and the CUDA backend
 * over the CPU emulator (the same kernels compiled as C++) where it can be built. Where one is missing
 * its tests are skipped with a printed notice saying why; an emulator that fails to build fails them.
 */
public final class GpuDevices {
    private GpuDevices() {}

    private static Device emulated;
    private static volatile boolean cudaNoticePrinted, emulatorNoticePrinted;

    /** The CUDA device, or the calling test is skipped. */
    public static Device cuda() {
        if (!Device.cudaAvailable()) {
            String why;
            try {
                Device.cuda();
                why = "unknown";
            } catch (RuntimeException e) {
                why = e.getMessage();
            }
            if (!cudaNoticePrinted) System.out.println("SKIPPED GPU tests: " + why);
            cudaNoticePrinted = true;
            Assumptions.abort(why);
        }
        Device d = Device.cuda();
        ((CudaBackend) d.backend()).setPoison(true);
        return d;
    }

    /** The CPU emulator, or the calling test is skipped (with a printed notice) where it cannot be built. */
    public static synchronized EmulatedDevice emulator() {
        try {
            return EmulatedDevice.get();
        } catch (EmulatedDevice.Unavailable e) {
            if (!emulatorNoticePrinted) System.out.println("SKIPPED emulated GPU tests: " + e.getMessage());
            emulatorNoticePrinted = true;
            return Assumptions.abort(e.getMessage());
        }
    }

    /** The CUDA backend on the CPU emulator, or the calling test is skipped. */
    public static synchronized Device emulated() {
        if (emulated == null) {
            CudaBackend b = new CudaBackend(emulator());
            b.setPoison(true);
            Device d = Device.custom("cuda-emulated", b);
            b.bind(d);
            emulated = d;
        }
        return emulated;
    }

    public static CudaBackend backend(Device d) {
        return (CudaBackend) d.backend();
    }
}
