package diffir.kernels;

import diffir.engine.Device;
import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.backend.AdamParams;
import diffir.engine.backend.Backend;
import diffir.engine.backend.BinaryOp;
import diffir.engine.backend.ConvSpec;
import diffir.engine.backend.ScalarOp;
import diffir.engine.backend.Storage;
import diffir.engine.backend.UnaryOp;
import diffir.kernels.fused.ChannelAttentionKernels;
import diffir.kernels.fused.FusedPaths;
import diffir.kernels.fused.GatedDwConvKernels;
import diffir.kernels.fused.ModulatedLayerNormKernels;

import java.lang.ref.Cleaner;
import java.lang.ref.Reference;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The CUDA backend: tensors in device memory from a caching allocator, kernels queued on one stream.
 * This class routes; each family of kernels has its glue class (ElementwiseKernels, ReduceKernels,
 * GemmKernels, ConvKernels, RowKernels, and the fused ops in {@code diffir.kernels.fused}), all of
 * which launch through {@link KernelLauncher}. Only {@link #download} and {@link #synchronize} wait
 * for the device, besides the allocator when it must empty its cache; {@link #hostSyncs} counts
 * every such wait, so a test can assert that a computation queues its work without any.
 */
public final class CudaBackend implements Backend, KernelLauncher {
    static final int THREADS = 256;

    private final DeviceApi api;
    private final DeviceAllocator allocator;
    private final Cleaner cleaner = Cleaner.create();
    private final int sms;
    private volatile Device device;
    private volatile ConvKernels.Path convPath = ConvKernels.Path.AUTO;
    private volatile boolean poison = Boolean.getBoolean("diffir.cuda.poison");
    private volatile boolean useBlas = true, useDnn = true;
    private final AtomicLong downloads = new AtomicLong(), synchronizes = new AtomicLong(), launches = new AtomicLong();

    public CudaBackend(DeviceApi api) {
        this.api = api;
        this.allocator = new DeviceAllocator(api);
        this.sms = api.multiprocessors();
    }

    /** The first GPU with the kernels packed in this jar. */
    public static CudaBackend open() {
        var modules = Fatbins.load();
        if (modules.isEmpty()) throw new CudaException("no compiled kernels in the kernels jar (built without nvcc)");
        return new CudaBackend(new CudaDriver(0, modules));
    }

    public DeviceApi api() {
        return api;
    }

    /** Ties this backend to the Device its tensors report (needed for scratch tensors). */
    public void bind(Device d) {
        if (d.backend() != this) throw new IllegalArgumentException("device " + d + " does not use this backend");
        device = d;
    }

    /** The Device of this backend's tensors: the bound one, else {@link Device#cuda()} when that is this backend. */
    public Device device() {
        Device d = device;
        if (d != null) return d;
        d = Device.cuda();
        if (d.backend() != this) throw new IllegalStateException("this CUDA backend is not bound to a Device (call bind)");
        device = d;
        return d;
    }

    /** Allows TF32 tensor-core math in cuBLAS and cuDNN (about 1e-3 relative error); off by default. */
    public void setTf32(boolean enabled) {
        if (api.blas() != null) api.blas().setTf32(enabled);
        if (api.dnn() != null) api.dnn().setTf32(enabled);
    }

    /** Whether cuBLAS and cuDNN are used where present (tests turn them off to check the own kernels). */
    public void useLibraries(boolean blas, boolean dnn) {
        useBlas = blas;
        useDnn = dnn;
    }

    /** cuBLAS when present and enabled, else null (GEMMs then run the gemm_f32 kernel). */
    Blas blas() {
        return useBlas ? api.blas() : null;
    }

    /** cuDNN when present and enabled, else null. */
    Dnn dnn() {
        return useDnn ? api.dnn() : null;
    }

    /** Which implementation general convolutions use (tests and benchmarks compare them). */
    public void setConvPath(ConvKernels.Path path) {
        convPath = path;
    }

    ConvKernels.Path convPath() {
        return convPath;
    }

    /**
     * Fills every new tensor with NaN (an asynchronous memset), so a kernel that leaves part of its
     * output unwritten shows up in checks. Also {@code -Ddiffir.cuda.poison=true}.
     */
    public void setPoison(boolean enabled) {
        poison = enabled;
    }

    /** Allocator figures: bytes held by live tensors, peak, cached, device allocations. */
    public String memoryStats() {
        return allocator.stats();
    }

    /** Bytes held by live tensors at most since the last {@link #resetPeakMemory} (allocator size classes). */
    public long peakMemoryBytes() {
        return allocator.peakBytes();
    }

    public void resetPeakMemory() {
        allocator.resetPeak();
    }

    /** Kernels of this project launched so far (cuBLAS and cuDNN calls not included). */
    public long launches() {
        return launches.get();
    }

    /** Blocks the allocator took from the device so far (none in a steady state). */
    public long deviceAllocations() {
        return allocator.deviceAllocations();
    }

    /**
     * The host waits so far, by kind: downloads, synchronize calls, allocator cache flushes, staging-buffer
     * waits, cuDNN algorithm searches.
     */
    public String hostSyncReport() {
        return String.format("%d downloads, %d synchronize, %d allocator, %d staging, %d cuDNN searches", downloads.get(),
                synchronizes.get(), allocator.hostSyncs(), api.hostWaits(), dnnWaits());
    }

    @Override
    public long hostSyncs() {
        return downloads.get() + synchronizes.get() + allocator.hostSyncs() + api.hostWaits() + dnnWaits();
    }

    private long dnnWaits() {
        return api.dnn() != null ? api.dnn().hostWaits() : 0;
    }

    /** Returns cached blocks to the driver. */
    public void emptyCache() {
        allocator.emptyCache();
    }

    // ---------------------------------------------------------------- Backend

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String describe() {
        // Says when the opt-in pipelined fused kernels serve, so that every log shows which kernels ran.
        return api.describe() + (FusedPaths.pipelined() ? "; pipelined fused kernels on (" + FusedPaths.PROPERTY + ")" : "");
    }

    @Override
    public Storage allocate(long numel) {
        if (numel < 0 || numel > Integer.MAX_VALUE - 8)
            throw new IllegalArgumentException("tensor of " + numel + " elements: the CUDA backend's kernels index with 32 bits (limit 2^31 - 9)");
        long bytes = Math.max(1, numel) * 4;
        long address = allocator.allocate(bytes);
        if (poison) api.fill32(address, 0x7fc00000, Math.max(1, numel));
        return new CudaStorage(this, address, numel, DeviceAllocator.sizeClass(bytes), allocator, cleaner);
    }

    @Override
    public void upload(float[] src, int srcOffset, Tensor dst) {
        int n = Math.toIntExact(dst.numel());
        if (srcOffset < 0 || srcOffset + n > src.length)
            throw new IllegalArgumentException("upload of " + n + " floats from offset " + srcOffset + " of an array of " + src.length);
        api.upload(src, srcOffset, ptr(dst), n);
        Reference.reachabilityFence(dst);
    }

    @Override
    public void download(Tensor src, float[] dst, int dstOffset) {
        int n = Math.toIntExact(src.numel());
        if (dstOffset < 0 || dstOffset + n > dst.length)
            throw new IllegalArgumentException("download of " + n + " floats to offset " + dstOffset + " of an array of " + dst.length);
        downloads.incrementAndGet();
        api.download(ptr(src), dst, dstOffset, n);
        Reference.reachabilityFence(src);
    }

    @Override
    public void synchronize() {
        synchronizes.incrementAndGet();
        api.synchronize();
    }

    @Override
    public void fill(Tensor out, float value) {
        api.fill32(ptr(out), Float.floatToRawIntBits(value), out.numel());
        Reference.reachabilityFence(out);
    }

    @Override
    public void copyStrided(Tensor src, long srcOffset, long[] srcStrides, Tensor dst, long dstOffset, long[] dstStrides, int[] shape) {
        ElementwiseKernels.copyStrided(this, src, srcOffset, srcStrides, dst, dstOffset, dstStrides, shape);
    }

    @Override
    public void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        ElementwiseKernels.binary(this, op, a, b, out);
    }

    @Override
    public void scalar(ScalarOp op, Tensor a, float s, Tensor out) {
        ElementwiseKernels.scalar(this, op, a, s, out);
    }

    @Override
    public void unary(UnaryOp op, Tensor a, float param, Tensor out) {
        ElementwiseKernels.unary(this, op, a, param, out);
    }

    @Override
    public void unaryBackward(UnaryOp op, Tensor x, Tensor y, Tensor gy, float param, Tensor gx) {
        ElementwiseKernels.unaryBackward(this, op, x, y, gy, param, gx);
    }

    @Override
    public void sum(Tensor a, Tensor out) {
        op(() -> ReduceKernels.sum(this, a, out));
    }

    @Override
    public void matmul(Tensor a, Tensor b, Tensor out, boolean transA, boolean transB, float alpha, float beta) {
        GemmKernels.matmul(this, a, b, out, transA, transB, alpha, beta);
    }

    @Override
    public void conv2d(Tensor x, Tensor w, Tensor bias, ConvSpec spec, Tensor out) {
        op(() -> ConvKernels.forward(this, x, w, bias, spec, out));
    }

    @Override
    public void conv2dBackwardInput(Tensor gy, Tensor w, ConvSpec spec, Tensor gx) {
        op(() -> ConvKernels.backwardInput(this, gy, w, spec, gx));
    }

    @Override
    public void conv2dBackwardWeight(Tensor x, Tensor gy, ConvSpec spec, Tensor gw) {
        op(() -> ConvKernels.backwardWeight(this, x, gy, spec, gw));
    }

    @Override
    public void softmax(Tensor x, boolean log, Tensor out) {
        op(() -> RowKernels.softmax(this, x, log, out));
    }

    @Override
    public void softmaxBackward(Tensor y, Tensor gy, boolean log, Tensor gx) {
        op(() -> RowKernels.softmaxBackward(this, y, gy, log, gx));
    }

    @Override
    public void l2Normalize(Tensor x, float eps, Tensor out, Tensor norm) {
        op(() -> RowKernels.l2Normalize(this, x, eps, out, norm));
    }

    @Override
    public void l2NormalizeBackward(Tensor x, Tensor norm, Tensor gy, float eps, Tensor gx) {
        op(() -> RowKernels.l2NormalizeBackward(this, x, norm, gy, eps, gx));
    }

    @Override
    public void layerNorm(Tensor x, Tensor weight, Tensor bias, Tensor mod, float eps, Tensor out, Tensor mean, Tensor rstd) {
        op(() -> ModulatedLayerNormKernels.forward(this, x, weight, bias, mod, eps, out, mean, rstd));
    }

    @Override
    public void layerNormBackward(Tensor x, Tensor weight, Tensor bias, Tensor mod, Tensor mean, Tensor rstd,
                                  Tensor gy, Tensor gx, Tensor gw, Tensor gb, Tensor gmod) {
        op(() -> ModulatedLayerNormKernels.backward(this, x, weight, bias, mod, mean, rstd, gy, gx, gw, gb, gmod));
    }

    @Override
    public void gatedDwConv(Tensor x, Tensor w, Tensor bias, Tensor out) {
        op(() -> GatedDwConvKernels.forward(this, x, w, bias, out));
    }

    @Override
    public void gatedDwConvBackward(Tensor x, Tensor w, Tensor bias, Tensor gy, Tensor gx, Tensor gw, Tensor gb) {
        op(() -> GatedDwConvKernels.backward(this, x, w, bias, gy, gx, gw, gb));
    }

    @Override
    public void channelAttention(Tensor qkv, Tensor temperature, int heads, Tensor out, Tensor attn, Tensor norms) {
        op(() -> ChannelAttentionKernels.forward(this, qkv, temperature, heads, out, attn, norms, null));
    }

    @Override
    public void channelAttentionBackward(Tensor qkv, Tensor temperature, int heads, Tensor attn, Tensor norms,
                                         Tensor gy, Tensor gqkv, Tensor gtemp) {
        op(() -> ChannelAttentionKernels.backward(this, qkv, temperature, heads, attn, norms, null, gy, gqkv, gtemp));
    }

    @Override
    public boolean channelAttention(Tensor qkv, Tensor temperature, int heads, Tensor out, Tensor attn, Tensor norms, Tensor gram) {
        op(() -> ChannelAttentionKernels.forward(this, qkv, temperature, heads, out, attn, norms, gram));
        return gram != null;
    }

    @Override
    public void channelAttentionBackward(Tensor qkv, Tensor temperature, int heads, Tensor attn, Tensor norms, Tensor gram,
                                         Tensor gy, Tensor gqkv, Tensor gtemp) {
        op(() -> ChannelAttentionKernels.backward(this, qkv, temperature, heads, attn, norms, gram, gy, gqkv, gtemp));
    }

    @Override
    public void adam(Tensor param, Tensor grad, Tensor m, Tensor v, AdamParams p) {
        ElementwiseKernels.adam(this, param, grad, m, v, p);
    }

    @Override
    public void adamMany(Tensor[] params, Tensor[] grads, Tensor[] m, Tensor[] v, AdamParams p) {
        ElementwiseKernels.adamMany(this, params, grads, m, v, p);
    }

    // ---------------------------------------------------------------- KernelLauncher

    @Override
    public void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, Object... args) {
        Object[] native_ = new Object[args.length];
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            native_[i] = a == null ? Ptr.NULL : a instanceof Tensor t ? new Ptr(ptr(t)) : a;
        }
        launches.incrementAndGet();
        api.launch(kernel, grid, block, sharedBytes, native_);
        // The tensors' blocks must not return to the cache before the launch is queued.
        Reference.reachabilityFence(args);
    }

    /**
     * Scratch lives until the Backend method that asked for it returns: {@link #op} gives it back to the
     * cache then (its kernels are queued on the one stream, so whatever reuses the block runs after).
     */
    @Override
    public Tensor scratch(int... shape) {
        Tensor t = new Tensor(shape, allocate(Shapes.numel(shape)), 0, device());
        if (opDepth > 0) opScratch.add(t);
        return t;
    }

    private int opDepth;
    private final java.util.ArrayList<Tensor> opScratch = new java.util.ArrayList<>();

    /** Runs one Backend method, then releases the scratch it used. */
    private void op(Runnable body) {
        opDepth++;
        try {
            body.run();
        } finally {
            if (--opDepth == 0) {
                for (Tensor t : opScratch) t.storage().release();
                opScratch.clear();
            }
        }
    }

    @Override
    public int multiprocessors() {
        return sms;
    }

    @Override
    public int residentBlocks(String kernel, int blockThreads) {
        return api.residentBlocks(kernel, blockThreads, 0);
    }

    // ---------------------------------------------------------------- helpers for the glue classes

    /** Device address of a tensor's first element; fails clearly for tensors of another backend. */
    long ptr(Tensor t) {
        if (t.storage() instanceof CudaStorage s && s.backend() == this) return s.address() + 4 * t.offset();
        throw new IllegalArgumentException("tensor " + t + " is not on this CUDA device");
    }

    /**
     * A grid for a grid-stride loop of {@code kernel} over n items with {@link #THREADS}-thread blocks: one
     * item per thread when that needs fewer blocks than the device holds at once, else exactly as
     * many blocks as are resident at once on all SMs (from the kernel's occupancy), so every block
     * runs in the first and only wave: a grid one wave plus a remainder long would leave most SMs
     * idle while a few blocks finish the equal shares of the remainder.
     */
    Dim3 grid(String kernel, long n) {
        long resident = (long) api.residentBlocks(kernel, THREADS, 0) * sms;
        return Dim3.of((int) Math.max(1, Math.min((n + THREADS - 1) / THREADS, resident)));
    }

    static Dim3 block() {
        return Dim3.of(THREADS);
    }
}
