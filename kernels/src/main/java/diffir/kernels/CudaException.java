package diffir.kernels;

/** A failed CUDA, cuBLAS or cuDNN call; the message names the call and the error. */
public class CudaException extends RuntimeException {
    public CudaException(String message) {
        super(message);
    }

    public CudaException(String message, Throwable cause) {
        super(message, cause);
    }
}
