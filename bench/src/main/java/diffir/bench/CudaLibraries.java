package diffir.bench;

import diffir.engine.Device;
import diffir.kernels.ConvKernels;
import diffir.kernels.CudaBackend;

/**
 * Puts the {@code unfused} compositions of {@link FusedCase} on NVIDIA's libraries when they run on the CUDA
 * backend, so the fused kernels are measured against what a framework's eager mode runs:
 * <ul>
 *   <li>{@code attention}: the batched matmuls (q k^T, A v, and their four gradient products) on cuBLAS
 *   (strided-batched SGEMM, which the backend uses for every matmul when cuBLAS is loaded);</li>
 *   <li>{@code gated}: the depthwise 3x3 conv (forward, input and weight gradients) on cuDNN, forced with
 *   {@link ConvKernels.Path#CUDNN} (the backend's default path runs its own depthwise kernels);</li>
 *   <li>the rest (mean and variance, elementwise, GELU, L2 normalisation, softmax, narrow/reshape copies) on the
 *   backend's own kernels: neither library has those ops. {@code layernorm} is made of them only.</li>
 * </ul>
 * TF32 stays off (the backend's default): float32 math on both sides. A library the case needs that did not load
 * fails the setup with the reason, rather than timing the backend's own fallback under the library's name.
 */
final class CudaLibraries {
    private CudaLibraries() {}

    /** Readies d (when CUDA) for op's unfused composition; nothing on the CPU. */
    static void forUnfused(Device d, String op) {
        if (d.isCpu()) return;
        CudaBackend cuda = (CudaBackend) d.backend();
        switch (op) {
            case "attention" -> {
                if (cuda.api().blas() == null)
                    throw new IllegalStateException("unfused attention on CUDA runs its matmuls on cuBLAS, which is not loaded ("
                            + cuda.describe() + "): pass -Ddiffir.cuda.libpath=<folder of libcublas.so.*>");
            }
            case "gated" -> {
                if (cuda.api().dnn() == null)
                    throw new IllegalStateException("unfused gated on CUDA runs its depthwise conv on cuDNN, which is not loaded ("
                            + cuda.describe() + "): pass -Ddiffir.cuda.libpath=<folder of libcudnn.so.*>");
                cuda.setConvPath(ConvKernels.Path.CUDNN);
            }
            default -> {
                // layernorm: reductions and elementwise kernels only, all the backend's own
            }
        }
    }

    /** Back to the backend's default paths. */
    static void reset(Device d) {
        if (d != null && !d.isCpu()) ((CudaBackend) d.backend()).setConvPath(ConvKernels.Path.AUTO);
    }
}
