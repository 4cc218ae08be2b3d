package diffir.engine.cpu;

import diffir.engine.Tensor;
import diffir.engine.backend.AdamParams;
import diffir.engine.backend.Backend;
import diffir.engine.backend.BinaryOp;
import diffir.engine.backend.ConvSpec;
import diffir.engine.backend.ScalarOp;
import diffir.engine.backend.Storage;
import diffir.engine.backend.UnaryOp;

/**
 * The multi-threaded CPU backend. This class only routes: each family of kernels lives in its own
 * class (CpuElementwise, CpuGemm, CpuConv, CpuNorm, CpuFused, CpuOptim).
 */
public final class CpuBackend implements Backend {
    public static final CpuBackend INSTANCE = new CpuBackend();

    private CpuBackend() {}

    /** The array behind a CPU tensor (index with {@link Tensor#offset()}). */
    static float[] data(Tensor t) {
        if (t.storage() instanceof CpuStorage s) return s.data();
        throw new IllegalArgumentException("tensor on " + t.device() + " passed to the CPU backend");
    }

    @Override public String name() { return "cpu"; }

    @Override
    public String describe() {
        return "CPU, " + Parallel.THREADS + " threads, " + System.getProperty("os.arch") + ", Java " + Runtime.version();
    }

    @Override
    public Storage allocate(long numel) {
        if (numel > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("tensor of " + numel + " elements exceeds the CPU backend's 2^31 limit");
        return new CpuStorage(ArrayPool.take((int) numel), numel, true);
    }

    /**
     * The most tensor memory (bytes) allocated and not yet released at once since {@link #resetPeakMemory};
     * storage left to the garbage collector without a release counts as held.
     */
    public long peakMemoryBytes() {
        return ArrayPool.peakOutFloats() * Float.BYTES;
    }

    public void resetPeakMemory() {
        ArrayPool.resetPeak();
    }

    /** Bytes of released arrays the backend keeps for reuse. */
    public long pooledBytes() {
        return ArrayPool.pooledFloats() * Float.BYTES;
    }

    @Override
    public void upload(float[] src, int srcOffset, Tensor dst) {
        System.arraycopy(src, srcOffset, data(dst), (int) dst.offset(), Math.toIntExact(dst.numel()));
    }

    @Override
    public void download(Tensor src, float[] dst, int dstOffset) {
        System.arraycopy(data(src), (int) src.offset(), dst, dstOffset, Math.toIntExact(src.numel()));
    }

    @Override public void synchronize() {}

    @Override public void fill(Tensor out, float value) { CpuElementwise.fill(out, value); }

    @Override
    public void copyStrided(Tensor src, long srcOffset, long[] srcStrides, Tensor dst, long dstOffset, long[] dstStrides, int[] shape) {
        CpuElementwise.copyStrided(src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape);
    }

    @Override public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) { CpuElementwise.binary(op, a, b, out); }
    @Override public void scalar(ScalarOp op, Tensor a, float s, Tensor out) { CpuElementwise.scalar(op, a, s, out); }
    @Override public void unary(UnaryOp op, Tensor a, float param, Tensor out) { CpuElementwise.unary(op, a, param, out); }

    @Override
    public void unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, float param, Tensor gx) {
        CpuElementwise.unaryBackward(op, x, y, gy, param, gx);
    }

    @Override public void sum(Tensor a, Tensor out) { CpuElementwise.sum(a, out); }

    @Override
    public void matmul(Tensor a, Tensor b, Tensor out, boolean transA, boolean transB, float alpha, float beta) {
        CpuGemm.matmul(a, b, out, transA, transB, alpha, beta);
    }

    @Override public void conv2d(Tensor x, Tensor w, Tensor bias, ConvSpec spec, Tensor out) { CpuConv.forward(x, w, bias, spec, out); }
    @Override public void conv2dBackwardInput(Tensor gy, Tensor w, ConvSpec spec, Tensor gx) { CpuConv.backwardInput(gy, w, spec, gx); }
    @Override public void conv2dBackwardWeight(Tensor x, Tensor gy, ConvSpec spec, Tensor gw) { CpuConv.backwardWeight(x, gy, spec, gw); }

    @Override public void softmax(Tensor x, boolean log, Tensor out) { CpuNorm.softmax(x, log, out); }
    @Override public void softmaxBackward(Tensor y, Tensor gy, boolean log, Tensor gx) { CpuNorm.softmaxBackward(y, gy, log, gx); }
    @Override public void l2Normalize(Tensor x, float eps, Tensor out, Tensor norm) { CpuNorm.l2Normalize(x, eps, out, norm); }

    @Override
    public void l2NormalizeBackward(Tensor x, Tensor norm, Tensor gy, float eps, Tensor gx) {
        CpuNorm.l2NormalizeBackward(x, norm, gy, eps, gx);
    }

    @Override
    public void layerNorm(Tensor x, Tensor weight, Tensor bias, Tensor mod, float eps, Tensor out, Tensor mean, Tensor rstd) {
        CpuNorm.layerNorm(x, weight, bias, mod, eps, out, mean, rstd);
    }

    @Override
    public void layerNormBackward(Tensor x, Tensor weight, Tensor bias, Tensor mod, Tensor mean, Tensor rstd,
                                  Tensor gy, Tensor gx, Tensor gw, Tensor gb, Tensor gmod) {
        CpuNorm.layerNormBackward(x, weight, bias, mod, mean, rstd, gy, gx, gw, gb, gmod);
    }

    @Override public void gatedDwConv(Tensor x, Tensor w, Tensor bias, Tensor out) { CpuFused.gatedDwConv(x, w, bias, out); }

    @Override
    public void gatedDwConvBackward(Tensor x, Tensor w, Tensor bias, Tensor gy, Tensor gx, Tensor gw, Tensor gb) {
        CpuFused.gatedDwConvBackward(x, w, bias, gy, gx, gw, gb);
    }

    @Override
    public void channelAttention(Tensor qkv, Tensor temperature, int heads, Tensor out, Tensor attn, Tensor norms) {
        CpuFused.channelAttention(qkv, temperature, heads, out, attn, norms);
    }

    @Override
    public void channelAttentionBackward(Tensor qkv, Tensor temperature, int heads, Tensor attn, Tensor norms,
                                         Tensor gy, Tensor gqkv, Tensor gtemp) {
        CpuFused.channelAttentionBackward(qkv, temperature, heads, attn, norms, gy, gqkv, gtemp);
    }

    @Override
    public boolean channelAttention(Tensor qkv, Tensor temperature, int heads, Tensor out, Tensor attn, Tensor norms, Tensor gram) {
        CpuFused.channelAttention(qkv, temperature, heads, out, attn, norms, gram);
        return gram != null;
    }

    @Override
    public void channelAttentionBackward(Tensor qkv, Tensor temperature, int heads, Tensor attn, Tensor norms, Tensor gram,
                                         Tensor gy, Tensor gqkv, Tensor gtemp) {
        CpuFused.channelAttentionBackward(qkv, temperature, heads, attn, norms, gram, gy, gqkv, gtemp);
    }

    @Override public void adam(Tensor param, Tensor grad, Tensor m, Tensor v, AdamParams p) { CpuOptim.adam(param, grad, m, v, p); }
}
