package diffir.kernels.fused;

import diffir.engine.Tensor;
import diffir.kernels.KernelLauncher;

/** Stub: the fused kernels come from branch cuda-fused; this file is dropped when it merges. */
public final class ChannelAttentionKernels {
    private ChannelAttentionKernels() {}

    public static void forward(KernelLauncher l, Tensor qkv, Tensor temperature, int heads,
                               Tensor out, Tensor attn, Tensor norms) {
        throw new UnsupportedOperationException("CUDA channelAttention: the fused kernels are not merged yet");
    }

    public static void backward(KernelLauncher l, Tensor qkv, Tensor temperature, int heads, Tensor attn,
                                Tensor norms, Tensor gy, Tensor gqkv, Tensor gtemp) {
        throw new UnsupportedOperationException("CUDA channelAttention backward: the fused kernels are not merged yet");
    }
}
