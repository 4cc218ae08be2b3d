package diffir.kernels;

import diffir.engine.backend.Backend;
import diffir.engine.backend.BackendProvider;

/**
 * Makes the CUDA backend known to {@link diffir.engine.Device} through the ServiceLoader. The check is
 * done once and never throws: on a machine without a GPU (or JCuda natives, or compiled kernels) it
 * gives one line starting with "no CUDA device: ".
 */
public final class CudaBackendProvider implements BackendProvider {
    private static volatile String reason;
    private static volatile boolean probed;

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String unavailableReason() {
        if (!probed) {
            synchronized (CudaBackendProvider.class) {
                if (!probed) {
                    reason = probe();
                    probed = true;
                }
            }
        }
        return reason;
    }

    private static String probe() {
        try {
            String why = CudaDriver.probe();
            if (why != null) return "no CUDA device: " + why;
            if (Fatbins.names().isEmpty())
                return "no CUDA device: no compiled kernels in the kernels jar (it was built without nvcc)";
            return null;
        } catch (Throwable t) {
            return "no CUDA device: " + CudaDriver.firstLine(t);
        }
    }

    @Override
    public Backend create() {
        String why = unavailableReason();
        if (why != null) throw new CudaException(why);
        return CudaBackend.open();
    }
}
