package diffir.engine.cpu;

import diffir.engine.Tensor;

/** The fused DiffIR kernels: gated depthwise conv (GDFN) and transposed channel attention (MDTA). */
final class CpuFused {
    private CpuFused() {}

    static void gatedDwConv(Tensor x, Tensor w, Tensor bias, Tensor out) {
        throw new UnsupportedOperationException("CPU gatedDwConv: not implemented yet");
    }

    static void gatedDwConvBackward(Tensor x, Tensor w, Tensor bias, Tensor gy, Tensor gx, Tensor gw, Tensor gb) {
        throw new UnsupportedOperationException("CPU gatedDwConv backward: not implemented yet");
    }

    static void channelAttention(Tensor qkv, Tensor temperature, int heads, Tensor out, Tensor attn, Tensor norms) {
        throw new UnsupportedOperationException("CPU channelAttention: not implemented yet");
    }

    static void channelAttentionBackward(Tensor qkv, Tensor temperature, int heads, Tensor attn, Tensor norms,
                                         Tensor gy, Tensor gqkv, Tensor gtemp) {
        throw new UnsupportedOperationException("CPU channelAttention backward: not implemented yet");
    }
}
