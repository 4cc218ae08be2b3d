package diffir.kernels.fused;

import diffir.engine.Tensor;
import diffir.kernels.KernelLauncher;

/** Stub: the fused kernels come from branch cuda-fused; this file is dropped when it merges. */
public final class GatedDwConvKernels {
    private GatedDwConvKernels() {}

    public static void forward(KernelLauncher l, Tensor x, Tensor w, Tensor bias, Tensor out) {
        throw new UnsupportedOperationException("CUDA gatedDwConv: the fused kernels are not merged yet");
    }

    public static void backward(KernelLauncher l, Tensor x, Tensor w, Tensor bias, Tensor gy,
                                Tensor gx, Tensor gw, Tensor gb) {
        throw new UnsupportedOperationException("CUDA gatedDwConv backward: the fused kernels are not merged yet");
    }
}
