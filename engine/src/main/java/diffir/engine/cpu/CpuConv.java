package diffir.engine.cpu;

import diffir.engine.Tensor;
import diffir.engine.backend.ConvSpec;

/** conv2d forward and backward. */
final class CpuConv {
    private CpuConv() {}

    static void forward(Tensor x, Tensor w, Tensor bias, ConvSpec s, Tensor out) {
        throw new UnsupportedOperationException("CPU conv2d: not implemented yet");
    }

    static void backwardInput(Tensor gy, Tensor w, ConvSpec s, Tensor gx) {
        throw new UnsupportedOperationException("CPU conv2d backward: not implemented yet");
    }

    static void backwardWeight(Tensor x, Tensor gy, ConvSpec s, Tensor gw) {
        throw new UnsupportedOperationException("CPU conv2d backward: not implemented yet");
    }
}
