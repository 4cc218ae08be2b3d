package diffir.cli;

import diffir.engine.Device;
import picocli.CommandLine.Option;

/** --device and --threads, shared by the commands that compute. */
final class ComputeOptions {
    @Option(names = "--device", paramLabel = "cpu|cuda", defaultValue = "cpu",
            description = "Where to compute: cpu (default) or cuda (needs an NVIDIA GPU and the CUDA driver).")
    String device;

    @Option(names = "--threads", paramLabel = "N",
            description = "CPU worker threads (default: all cores). Set when the program starts.")
    Integer threads;

    /** The device, or a one-line reason why it cannot be used. */
    Device device() {
        Threads.check(threads);
        try {
            return Device.of(device);
        } catch (Device.DeviceUnavailableException e) {
            throw new UserException("--device " + device + ": " + e.getMessage() + "; use --device cpu");
        } catch (IllegalArgumentException e) {
            throw new UserException("--device: " + e.getMessage());
        }
    }
}
