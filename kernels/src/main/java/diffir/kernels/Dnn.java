package diffir.kernels;

import diffir.engine.backend.ConvSpec;

/**
 * cuDNN convolutions of NCHW float32 tensors on the device's stream (no bias). Each returns false when
 * cuDNN offers no algorithm for the geometry under the current math mode, so the caller can fall back.
 */
public interface Dnn {
    String describe();

    /** Device scratch for one call, valid until the call's work has run (stream order). */
    interface Workspace {
        long get(long bytes);
    }

    boolean forward(ConvSpec s, long x, long w, long y, Workspace ws);

    boolean backwardData(ConvSpec s, long w, long dy, long dx, Workspace ws);

    boolean backwardFilter(ConvSpec s, long x, long dy, long dw, Workspace ws);

    /** Allows TF32 tensor-core math; off by default (FMA-only algorithms, float32 accurate). */
    void setTf32(boolean enabled);

    /** Times the library waited for the device (its algorithm searches time every algorithm). */
    default long hostWaits() {
        return 0;
    }
}
