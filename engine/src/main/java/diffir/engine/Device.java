package diffir.engine;

import diffir.engine.backend.Backend;
import diffir.engine.backend.BackendProvider;
import diffir.engine.cpu.CpuBackend;

import java.util.ServiceLoader;

/**
 * Where a tensor lives. The CPU backend is built in; other backends (CUDA, in the {@code kernels}
 * module) are found through {@link ServiceLoader}, so the engine does not depend on them.
 */
public final class Device {
    public static final Device CPU = new Device("cpu", CpuBackend.INSTANCE);

    private static volatile Device cuda;

    private final String name;
    private final Backend backend;

    private Device(String name, Backend backend) {
        this.name = name;
        this.backend = backend;
    }

    public String name() {
        return name;
    }

    public Backend backend() {
        return backend;
    }

    public boolean isCpu() {
        return this == CPU;
    }

    /**
     * Parses "cpu" or "cuda". Fails with a one-line reason when the device is not available
     * (no kernels module on the class path, no driver, no GPU).
     */
    public static Device of(String name) {
        switch (name.toLowerCase()) {
            case "cpu":
                return CPU;
            case "cuda":
            case "gpu":
                return cuda();
            default:
                throw new IllegalArgumentException("unknown device '" + name + "': use cpu or cuda");
        }
    }

    /**
     * A device over a backend of one's own, outside the ServiceLoader lookup (tests run the CUDA backend
     * on an emulated device this way). Tensors of different Device objects never mix.
     */
    public static Device custom(String name, Backend backend) {
        return new Device(name, backend);
    }

    public static synchronized Device cuda() {
        if (cuda != null) return cuda;
        String why = "the kernels module is not on the class path";
        try {
            for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
                if (!p.name().equals("cuda")) continue;
                String problem = p.unavailableReason();
                if (problem != null) {
                    why = problem;
                    continue;
                }
                cuda = new Device("cuda", p.create());
                return cuda;
            }
        } catch (java.util.ServiceConfigurationError e) {
            why = "a backend provider could not be loaded (" + e.getMessage() + ")";
        }
        throw new DeviceUnavailableException("CUDA is not available: " + why);
    }

    /** True when a CUDA device can be used; never throws. */
    public static boolean cudaAvailable() {
        try {
            cuda();
            return true;
        } catch (RuntimeException | LinkageError e) {
            return false;
        }
    }

    @Override
    public String toString() {
        return name;
    }

    /** Thrown when a device is asked for and cannot be used; the message says why in one line. */
    public static final class DeviceUnavailableException extends RuntimeException {
        public DeviceUnavailableException(String message) {
            super(message);
        }
    }
}
