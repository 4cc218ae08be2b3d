package diffir.kernels;

import diffir.engine.Device;
import diffir.kernels.emulator.EmulatedDevice;
import org.junit.jupiter.api.Assumptions;

/**
 * The devices GPU tests run on: the real CUDA device when this machine has one, and the CUDA backend
 * over the CPU emulator (the same kernels compiled as C++) when g++ is available. Where one is missing
 * its tests are skipped with a printed notice saying why.
 */
public final class GpuDevices {
    private GpuDevices() {}

    private static Device emulated;
    private static String emulatorProblem;
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

    /** The CUDA backend on the CPU emulator, or the calling test is skipped. */
    public static synchronized Device emulated() {
        if (emulated == null && emulatorProblem == null) {
            try {
                CudaBackend b = new CudaBackend(EmulatedDevice.get());
                b.setPoison(true);
                Device d = Device.custom("cuda-emulated", b);
                b.bind(d);
                emulated = d;
            } catch (RuntimeException | LinkageError e) {
                emulatorProblem = e.getMessage();
            }
        }
        if (emulated == null) {
            if (!emulatorNoticePrinted) System.out.println("SKIPPED emulated GPU tests: " + emulatorProblem);
            emulatorNoticePrinted = true;
            Assumptions.abort(emulatorProblem);
        }
        return emulated;
    }

    public static CudaBackend backend(Device d) {
        return (CudaBackend) d.backend();
    }
}
