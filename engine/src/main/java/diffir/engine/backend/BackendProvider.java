package diffir.engine.backend;

/** Service-loader hook for backends that live outside the engine module (CUDA). */
public interface BackendProvider {
    String name();

    /** Null when the backend can be created here, else a one-line reason (no driver, no GPU, no kernels). */
    String unavailableReason();

    Backend create();
}
