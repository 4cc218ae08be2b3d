package diffir.engine.cpu;

import diffir.engine.Tensor;

/** Softmax, L2 normalisation and channel LayerNorm (plain and modulated). */
final class CpuNorm {
    private CpuNorm() {}

    static void softmax(Tensor x, boolean log, Tensor out) {
        throw new UnsupportedOperationException("CPU softmax: not implemented yet");
    }

    static void softmaxBackward(Tensor y, Tensor gy, boolean log, Tensor gx) {
        throw new UnsupportedOperationException("CPU softmax backward: not implemented yet");
    }

    static void l2Normalize(Tensor x, float eps, Tensor out, Tensor norm) {
        throw new UnsupportedOperationException("CPU l2Normalize: not implemented yet");
    }

    static void l2NormalizeBackward(Tensor x, Tensor norm, Tensor gy, float eps, Tensor gx) {
        throw new UnsupportedOperationException("CPU l2Normalize backward: not implemented yet");
    }

    static void layerNorm(Tensor x, Tensor weight, Tensor bias, Tensor mod, float eps, Tensor out, Tensor mean, Tensor rstd) {
        throw new UnsupportedOperationException("CPU layerNorm: not implemented yet");
    }

    static void layerNormBackward(Tensor x, Tensor weight, boolean withBias, Tensor mod, Tensor mean, Tensor rstd,
                                  Tensor gy, Tensor gx, Tensor gw, Tensor gb, Tensor gmod) {
        throw new UnsupportedOperationException("CPU layerNorm backward: not implemented yet");
    }
}
