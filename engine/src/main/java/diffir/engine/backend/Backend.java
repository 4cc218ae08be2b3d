package diffir.engine.backend;

import diffir.engine.Tensor;

/**
 * The kernels a device must provide. Ops ({@code diffir.engine.ops}) decide what to compute forward
 * and backward; a backend only runs kernels on tensors that live on it.
 *
 * <p>Contract for every kernel: tensors are contiguous float32 views ({@link Tensor#storage()},
 * {@link Tensor#offset()}, {@link Tensor#shape()}); outputs are preallocated by the caller with the
 * documented shape and are fully overwritten (never accumulated) unless a kernel says otherwise; an
 * output may alias an input only where a kernel says so. Nullable arguments are marked. Kernels may
 * run asynchronously: only {@link #download} and {@link #synchronize} wait for results, so no op may
 * assume host-readable storage.
 */
public interface Backend {
    /** Short name: "cpu" or "cuda". */
    String name();

    /** One line about the hardware, for logs and benchmarks. */
    String describe();

    /** Uninitialised storage of {@code numel} floats. */
    Storage allocate(long numel);

    // ---------------------------------------------------------------- transfers

    /** Copies {@code dst.numel()} floats from {@code src[srcOffset..]} into dst. src may be reused on return. */
    void upload(float[] src, int srcOffset, Tensor dst);

    /** Copies src into {@code dst[dstOffset..]}; waits for pending work on src. */
    void download(Tensor src, float[] dst, int dstOffset);

    /** Waits until all queued kernels have finished. */
    void synchronize();

    /**
     * How many times the host has waited for this device so far (downloads, synchronisations, memory
     * management that must wait), for checks that a computation runs without host synchronisation.
     * Always 0 on backends whose work runs on the calling thread.
     */
    default long hostSyncs() {
        return 0;
    }

    // ---------------------------------------------------------------- data movement

    void fill(Tensor out, float value);

    /**
     * Generic strided copy over an index space {@code shape}: for every index i,
     * {@code dst[dstOffset + i.dstStrides] = src[srcOffset + i.srcStrides]}, offsets relative to each
     * tensor's own offset. Zero source strides broadcast (expand, nearest upsampling); permuted strides
     * transpose (permute, pixel shuffle); offsets and sub-shapes slice and concatenate. Destination
     * positions must not repeat.
     */
    void copyStrided(Tensor src, long srcOffset, long[] srcStrides,
                     Tensor dst, long dstOffset, long[] dstStrides, int[] shape);

    // ---------------------------------------------------------------- elementwise

    /** out = a (op) b with NumPy broadcasting of a and b to out's shape. out may alias a or b if shapes equal. */
    void binary(BinaryOp op, Tensor a, Tensor b, Tensor out);

    /** out = a (op) s, elementwise. out may alias a. */
    void scalar(ScalarOp op, Tensor a, float s, Tensor out);

    /** out = f(a), elementwise. out may alias a. */
    void unary(UnaryOp op, Tensor a, float param, Tensor out);

    /** gx = f'(x) * gy, given x, y = f(x) and gy, all of one shape. */
    void unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, float param, Tensor gx);

    // ---------------------------------------------------------------- reductions

    /** Sums a over every axis where out (same rank as a) has size 1 and a does not. */
    void sum(Tensor a, Tensor out);

    // ---------------------------------------------------------------- linear algebra

    /**
     * Batched matrix product {@code out = alpha * op(a) op(b) + beta * out}. a is [..., M, K]
     * ([..., K, M] when transA), b is [..., K, N] ([..., N, K] when transB), out is [..., M, N].
     * The batch (product of leading axes) of a and of b is either out's batch or 1 (shared).
     * With beta = 0, out's previous contents are ignored (even NaN).
     */
    void matmul(Tensor a, Tensor b, Tensor out, boolean transA, boolean transB, float alpha, float beta);

    /** out = conv2d(x, w) + bias. bias (O) nullable. */
    void conv2d(Tensor x, Tensor w, Tensor bias, ConvSpec spec, Tensor out);

    /** gx = gradient of conv2d with respect to its input. */
    void conv2dBackwardInput(Tensor gy, Tensor w, ConvSpec spec, Tensor gx);

    /** gw = gradient of conv2d with respect to its weight. */
    void conv2dBackwardWeight(Tensor x, Tensor gy, ConvSpec spec, Tensor gw);

    // ---------------------------------------------------------------- normalisation

    /** Softmax (or log-softmax) over the last axis. */
    void softmax(Tensor x, boolean log, Tensor out);

    /** gx from y = softmax(x) (or log-softmax) and gy, over the last axis. */
    void softmaxBackward(Tensor y, Tensor gy, boolean log, Tensor gx);

    /**
     * L2 normalisation over the last axis with PyTorch's semantics: out = x / max(||x||, eps).
     * norm ([..., 1]) receives max(||x||, eps) for the backward pass.
     */
    void l2Normalize(Tensor x, float eps, Tensor out, Tensor norm);

    /** gx of {@link #l2Normalize}; norm as saved by the forward pass. */
    void l2NormalizeBackward(Tensor x, Tensor norm, Tensor gy, float eps, Tensor gx);

    // ---------------------------------------------------------------- fused DiffIR ops

    /**
     * Channel LayerNorm of NCHW x (per pixel over C, biased variance), optionally followed by the
     * dynamic modulation {@code y*k1 + k2}:
     * WithBias (bias non-null) {@code y = (x-mu)*rstd*w + b}; BiasFree (bias null) {@code y = x*rstd*w},
     * rstd = 1/sqrt(var + eps), var about the mean in both cases. mod (N, 2C) nullable: k1 = mod[:, :C],
     * k2 = mod[:, C:]. mean and rstd (N, H, W) receive the statistics for backward.
     */
    void layerNorm(Tensor x, Tensor weight, Tensor bias, Tensor mod, float eps,
                   Tensor out, Tensor mean, Tensor rstd);

    /**
     * Backward of {@link #layerNorm}, given the forward's inputs (bias null for BiasFree; it is needed
     * because the gradient of k1 sums gy times the normalised, biased output) and its saved mean and
     * rstd: writes gx (N,C,H,W), gw (C), gb (C, WithBias only) and gmod (N,2C, when mod was given);
     * each output is nullable when not needed.
     */
    void layerNormBackward(Tensor x, Tensor weight, Tensor bias, Tensor mod, Tensor mean, Tensor rstd,
                           Tensor gy, Tensor gx, Tensor gw, Tensor gb, Tensor gmod);

    /**
     * Gated depthwise convolution of GDFN: {@code z = dwconv(x, w) + bias} over x (N, 2Hd, H, W) with
     * w (2Hd, 1, K, K), stride 1, padding K/2, then {@code out = gelu(z[:, :Hd]) * z[:, Hd:]}
     * (N, Hd, H, W), exact GELU. bias (2Hd) nullable.
     */
    void gatedDwConv(Tensor x, Tensor w, Tensor bias, Tensor out);

    /**
     * Backward of {@link #gatedDwConv}, recomputing z rather than storing it: writes gx, gw and gb
     * (each nullable when not needed).
     */
    void gatedDwConvBackward(Tensor x, Tensor w, Tensor bias, Tensor gy, Tensor gx, Tensor gw, Tensor gb);

    /**
     * Transposed (channel) attention of MDTA over qkv (N, 3C, H, W): q, k, v are channel blocks
     * [0,C), [C,2C), [2C,3C); each splits into {@code heads} groups of c = C/heads channels flattened
     * over H*W. Per head: q and k rows are L2-normalised (eps 1e-12), A = softmax(q k^T * temperature[h])
     * (c x c, softmax over the last axis), out = A v, written to out (N, C, H, W).
     * Saves attn (N, heads, c, c) = A, and norms (N, 2C) = the clamped L2 norms of the q and k rows.
     */
    void channelAttention(Tensor qkv, Tensor temperature, int heads, Tensor out, Tensor attn, Tensor norms);

    /** Backward of {@link #channelAttention}: writes gqkv (N, 3C, H, W) and gtemp (heads), each nullable. */
    void channelAttentionBackward(Tensor qkv, Tensor temperature, int heads, Tensor attn, Tensor norms,
                                  Tensor gy, Tensor gqkv, Tensor gtemp);

    /**
     * {@link #channelAttention} that may also save gram (N, heads, c, c) = Q K^T of the rows before
     * normalisation, so that the backward need not read q and k again to recompute it. Returns whether
     * gram was written; the default computes the forward alone and returns false.
     */
    default boolean channelAttention(Tensor qkv, Tensor temperature, int heads, Tensor out, Tensor attn, Tensor norms, Tensor gram) {
        channelAttention(qkv, temperature, heads, out, attn, norms);
        return false;
    }

    /**
     * {@link #channelAttentionBackward} given the gram the forward saved (null: recompute it). The default
     * ignores gram.
     */
    default void channelAttentionBackward(Tensor qkv, Tensor temperature, int heads, Tensor attn, Tensor norms, Tensor gram,
                                          Tensor gy, Tensor gqkv, Tensor gtemp) {
        channelAttentionBackward(qkv, temperature, heads, attn, norms, gy, gqkv, gtemp);
    }

    // ---------------------------------------------------------------- optimiser

    /** One fused Adam/AdamW step, in place on param, m and v. */
    void adam(Tensor param, Tensor grad, Tensor m, Tensor v, AdamParams p);

    /**
     * The same step for many parameters at once (equal-length arrays; every tensor's grad, m and v
     * shaped like its param), all with the same hyper-parameters and step count. Backends with a
     * launch cost per kernel override it with a multi-tensor kernel; the default loops over {@link #adam}.
     */
    default void adamMany(Tensor[] params, Tensor[] grads, Tensor[] m, Tensor[] v, AdamParams p) {
        if (grads.length != params.length || m.length != params.length || v.length != params.length)
            throw new IllegalArgumentException("adamMany: " + params.length + " params, " + grads.length + " grads, " + m.length
                    + " exp_avg and " + v.length + " exp_avg_sq");
        for (int i = 0; i < params.length; i++) adam(params[i], grads[i], m[i], v[i], p);
    }
}
