package diffir.kernels;

import diffir.kernels.ffm.CuBlas;
import diffir.kernels.ffm.CuDnn;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDeviceGetCount;
import static jcuda.driver.JCudaDriver.cuDeviceGetName;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuDeviceTotalMem;
import static jcuda.driver.JCudaDriver.cuDriverGetVersion;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventElapsedTime;
import static jcuda.driver.JCudaDriver.cuEventQuery;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuFuncSetAttribute;
import static jcuda.driver.JCudaDriver.cuInit;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemGetInfo;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuOccupancyMaxActiveBlocksPerMultiprocessor;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamSynchronize;

/**
 * {@link DeviceApi} on the CUDA driver API through JCuda: the device's primary context (shared with
 * cuBLAS and cuDNN, which use the runtime API), one non-blocking stream for all work, the jar's fatbin
 * modules with a cache of kernel handles, and pinned staging buffers for transfers. Every call's result
 * is checked and a failure names the call. With {@code -Ddiffir.cuda.sync=true} each launch is followed
 * by a stream synchronisation, so an asynchronous fault names the kernel that caused it.
 *
 * <p>Kernel launches, the hottest host path (thousands per model step), call {@code cuLaunchKernel}
 * through an FFM downcall with the parameters marshalled into one reused native buffer: JCuda's
 * launch, which wraps every parameter in objects and walks them in JNI, cost about 5.5 us per
 * launch on the development machine (a stand-in libcuda, JIT-compiled), the FFM path well under 1 us.
 */
public final class CudaDriver implements DeviceApi {
    private static final int STAGE_FLOATS = 2 << 20; // 8 MiB per staging buffer
    private static final int MAX_STAGES = 8;
    private static final boolean SYNC_EACH_LAUNCH = Boolean.getBoolean("diffir.cuda.sync");

    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final Stream stream = new Stream();
    private final List<CUmodule> modules = new ArrayList<>();
    private final List<String> moduleNames = new ArrayList<>();
    private final Map<String, Function> functions = new HashMap<>();
    private final Map<CUfunction, Integer> sharedLimit = new HashMap<>();
    private final Map<String, Integer> occupancy = new HashMap<>();
    private final Launcher launcher;
    private final List<HostBuffer> staging = new ArrayList<>();
    private final ThreadLocal<Boolean> current = ThreadLocal.withInitial(() -> Boolean.FALSE);
    private final String name;
    private final int sms, ccMajor, ccMinor, driverVersion, l2Bytes;
    private final long totalBytes;
    private final Blas blas;
    private final Dnn dnn;
    private final String blasNote, dnnNote;
    private int nextStage;
    private long stagingWaits;

    /** A raw device address as JCuda's pointer type (JCuda adds a Pointer's byte offset to its base). */
    static final class DevPtr extends CUdeviceptr {
        private static final CUdeviceptr ZERO = new CUdeviceptr();

        DevPtr() {}

        DevPtr(long address) {
            super(ZERO, address);
        }

        long address() {
            return getNativePointer() + getByteOffset();
        }
    }

    /** Page-locked host memory from cuMemAllocHost, with its address for FFM copies. */
    static final class HostPtr extends Pointer {
        long address() {
            return getNativePointer();
        }
    }

    /** A kernel handle, exposing its address for the FFM launch. */
    static final class Function extends CUfunction {
        long address() {
            return getNativePointer();
        }
    }

    /** The stream, exposing its handle for cuBLAS and cuDNN. */
    static final class Stream extends CUstream {
        long address() {
            return getNativePointer();
        }
    }

    /** A pinned staging buffer and the event that marks when the copy that last used it is done. */
    private record HostBuffer(HostPtr ptr, MemorySegment memory, CUevent done) {}

    /** Null when a CUDA device can be used here, else why not (one line, without the "no CUDA device" prefix). */
    static String probe() {
        try (Arena a = Arena.ofConfined()) {
            SymbolLookup.libraryLookup("libcuda.so.1", a);
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            return "libcuda.so.1 not found (no NVIDIA driver on this machine)";
        }
        try {
            int rc = cuInit(0);
            if (rc != CUresult.CUDA_SUCCESS) return "cuInit failed: " + errorName(rc);
            int[] count = new int[1];
            rc = cuDeviceGetCount(count);
            if (rc != CUresult.CUDA_SUCCESS) return "cuDeviceGetCount failed: " + errorName(rc);
            if (count[0] == 0) return "the driver reports no GPU";
            return null;
        } catch (Throwable t) {
            return "JCuda natives failed to load: " + firstLine(t);
        }
    }

    /** One line from a throwable's chain: the most specific loader message when there is one. */
    static String firstLine(Throwable t) {
        String best = null;
        for (Throwable x = t; x != null; x = x.getCause()) {
            String m = x.getMessage();
            if (m == null) continue;
            for (String line : m.split("\\R")) {
                if (line.contains("cannot open shared object") || line.contains("undefined symbol")) return line.strip();
                if (best == null && !line.isBlank()) best = line.strip();
            }
        }
        return best != null ? best : t.getClass().getName();
    }

    /** Opens device {@code ordinal} and loads the given kernel modules (file name to fatbin bytes). */
    CudaDriver(int ordinal, Map<String, byte[]> fatbins) {
        check(cuInit(0), "cuInit");
        check(cuDeviceGet(device, ordinal), "cuDeviceGet(" + ordinal + ")");
        check(cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
        makeCurrent();
        byte[] nameBytes = new byte[256];
        check(cuDeviceGetName(nameBytes, nameBytes.length, device), "cuDeviceGetName");
        int len = 0;
        while (len < nameBytes.length && nameBytes[len] != 0) len++;
        name = new String(nameBytes, 0, len, java.nio.charset.StandardCharsets.UTF_8);
        sms = attribute(16, "MULTIPROCESSOR_COUNT");
        ccMajor = attribute(75, "COMPUTE_CAPABILITY_MAJOR");
        ccMinor = attribute(76, "COMPUTE_CAPABILITY_MINOR");
        l2Bytes = attribute(38, "L2_CACHE_SIZE");
        long[] total = new long[1];
        check(cuDeviceTotalMem(total, device), "cuDeviceTotalMem");
        totalBytes = total[0];
        int[] v = new int[1];
        check(cuDriverGetVersion(v), "cuDriverGetVersion");
        driverVersion = v[0];
        check(cuStreamCreate(stream, 1 /* CU_STREAM_NON_BLOCKING */), "cuStreamCreate");
        for (var e : fatbins.entrySet()) {
            CUmodule m = new CUmodule();
            check(cuModuleLoadData(m, e.getValue()), "cuModuleLoadData(" + e.getKey() + ")");
            modules.add(m);
            moduleNames.add(e.getKey());
        }
        staging.add(newStagingBuffer());
        launcher = new Launcher(stream.address());
        String[] why = new String[1];
        Blas b = null;
        try {
            b = CuBlas.load(stream.address(), this::makeCurrent, why).orElse(null);
        } catch (RuntimeException | LinkageError e) {
            why[0] = "cuBLAS failed to initialise: " + firstLine(e);
        }
        blas = b;
        blasNote = b != null ? b.describe() : why[0];
        Dnn d = null;
        why[0] = null;
        try {
            d = CuDnn.load(stream.address(), this::makeCurrent, why).orElse(null);
        } catch (RuntimeException | LinkageError e) {
            why[0] = "cuDNN failed to initialise: " + firstLine(e);
        }
        dnn = d;
        dnnNote = d != null ? d.describe() : why[0];
    }

    private int attribute(int attr, String what) {
        int[] v = new int[1];
        check(cuDeviceGetAttribute(v, attr, device), "cuDeviceGetAttribute(" + what + ")");
        return v[0];
    }

    /** Makes the context current on the calling thread (once per thread). */
    void makeCurrent() {
        if (current.get()) return;
        check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
        current.set(Boolean.TRUE);
    }

    @Override
    public String describe() {
        return String.format("%s (sm_%d%d, %d SMs, %.1f GiB, L2 %d MiB), driver %d.%d; %s; %s", name, ccMajor, ccMinor, sms,
                totalBytes / 1073741824.0, l2Bytes >> 20, driverVersion / 1000, driverVersion % 1000 / 10, blasNote, dnnNote);
    }

    public String deviceName() {
        return name;
    }

    @Override
    public int multiprocessors() {
        return sms;
    }

    @Override
    public long tryAllocate(long bytes) {
        makeCurrent();
        DevPtr p = new DevPtr();
        int rc = cuMemAlloc(p, bytes);
        if (rc == CUresult.CUDA_ERROR_OUT_OF_MEMORY) return 0;
        check(rc, "cuMemAlloc(" + bytes + " bytes)");
        return p.address();
    }

    @Override
    public void free(long address) {
        makeCurrent();
        check(cuMemFree(new DevPtr(address)), "cuMemFree");
    }

    @Override
    public long[] memoryInfo() {
        makeCurrent();
        long[] free = new long[1], total = new long[1];
        check(cuMemGetInfo(free, total), "cuMemGetInfo");
        return new long[]{free[0], total[0]};
    }

    private HostBuffer newStagingBuffer() {
        HostPtr p = new HostPtr();
        check(cuMemAllocHost(p, 4L * STAGE_FLOATS), "cuMemAllocHost(" + 4L * STAGE_FLOATS + " bytes)");
        CUevent ev = new CUevent();
        check(cuEventCreate(ev, 2 /* CU_EVENT_DISABLE_TIMING */), "cuEventCreate");
        return new HostBuffer(p, MemorySegment.ofAddress(p.address()).reinterpret(4L * STAGE_FLOATS), ev);
    }

    /**
     * A staging buffer no queued copy still reads: a free one, else a new one (up to MAX_STAGES), else
     * the next in turn once its copy is done. So uploads do not wait for the device in steady state.
     */
    private HostBuffer freeStagingBuffer() {
        for (int i = 0; i < staging.size(); i++) {
            HostBuffer b = staging.get((nextStage + i) % staging.size());
            int rc = cuEventQuery(b.done());
            if (rc == CUresult.CUDA_SUCCESS) {
                nextStage = (nextStage + i + 1) % staging.size();
                return b;
            }
            if (rc != CUresult.CUDA_ERROR_NOT_READY) check(rc, "cuEventQuery(staging)");
        }
        if (staging.size() < MAX_STAGES) {
            HostBuffer b = newStagingBuffer();
            staging.add(b);
            return b;
        }
        HostBuffer b = staging.get(nextStage);
        nextStage = (nextStage + 1) % staging.size();
        stagingWaits++;
        check(cuEventSynchronize(b.done()), "cuEventSynchronize(staging)");
        return b;
    }

    @Override
    public synchronized void upload(float[] src, int offset, long dst, int count) {
        makeCurrent();
        for (int done = 0; done < count; ) {
            int n = Math.min(STAGE_FLOATS, count - done);
            HostBuffer b = freeStagingBuffer();
            MemorySegment.copy(src, offset + done, b.memory(), ValueLayout.JAVA_FLOAT, 0, n);
            check(cuMemcpyHtoDAsync(new DevPtr(dst + 4L * done), b.ptr(), 4L * n, stream), "cuMemcpyHtoDAsync(" + 4L * n + " bytes)");
            check(cuEventRecord(b.done(), stream), "cuEventRecord(staging)");
            done += n;
        }
    }

    @Override
    public synchronized void download(long src, float[] dst, int offset, int count) {
        makeCurrent();
        if (count == 0) {
            synchronize();
            return;
        }
        for (int done = 0; done < count; ) {
            int n = Math.min(STAGE_FLOATS, count - done);
            HostBuffer b = freeStagingBuffer();
            check(cuMemcpyDtoHAsync(b.ptr(), new DevPtr(src + 4L * done), 4L * n, stream), "cuMemcpyDtoHAsync(" + 4L * n + " bytes)");
            check(cuStreamSynchronize(stream), "cuStreamSynchronize (download; a kernel queued earlier may have failed)");
            MemorySegment.copy(b.memory(), ValueLayout.JAVA_FLOAT, 0, dst, offset + done, n);
            done += n;
        }
    }

    @Override
    public void copy(long dst, long src, long bytes) {
        makeCurrent();
        if (bytes == 0) return;
        check(cuMemcpyDtoDAsync(new DevPtr(dst), new DevPtr(src), bytes, stream), "cuMemcpyDtoDAsync(" + bytes + " bytes)");
    }

    @Override
    public void fill32(long dst, int bits, long count) {
        makeCurrent();
        if (count == 0) return;
        check(cuMemsetD32Async(new DevPtr(dst), bits, count, stream), "cuMemsetD32Async(" + count + " words)");
    }

    @Override
    public synchronized boolean hasKernel(String kernel) {
        return function(kernel, false) != null;
    }

    private Function function(String kernel, boolean required) {
        Function f = functions.get(kernel);
        if (f != null) return f;
        makeCurrent();
        for (CUmodule m : modules) {
            Function candidate = new Function();
            int rc = cuModuleGetFunction(candidate, m, kernel);
            if (rc == CUresult.CUDA_SUCCESS) {
                functions.put(kernel, candidate);
                return candidate;
            }
            if (rc != CUresult.CUDA_ERROR_NOT_FOUND) check(rc, "cuModuleGetFunction(" + kernel + ")");
        }
        if (required) throw new CudaException("kernel " + kernel + " not found in the compiled modules " + moduleNames);
        return null;
    }

    @Override
    public synchronized void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, Object... args) {
        makeCurrent();
        Function f = function(kernel, true);
        if (grid.y() > 65535 || grid.z() > 65535)
            throw new IllegalArgumentException("kernel " + kernel + ": grid " + grid + " exceeds 65535 in y or z");
        if ((long) block.x() * block.y() * block.z() > 1024)
            throw new IllegalArgumentException("kernel " + kernel + ": block " + block + " has more than 1024 threads");
        if (sharedBytes > 48 * 1024 && sharedLimit.getOrDefault(f, 0) < sharedBytes) {
            check(cuFuncSetAttribute(f, 8 /* MAX_DYNAMIC_SHARED_SIZE_BYTES */, sharedBytes),
                    "cuFuncSetAttribute(" + kernel + ", dynamic shared " + sharedBytes + ")");
            sharedLimit.put(f, sharedBytes);
        }
        int rc = launcher.launch(kernel, f.address(), grid, block, sharedBytes, args);
        check(rc, "cuLaunchKernel(" + kernel + ", grid " + grid + ", block " + block + ", shared " + sharedBytes + ")");
        if (SYNC_EACH_LAUNCH) check(cuStreamSynchronize(stream), "kernel " + kernel + " (grid " + grid + ", block " + block + ")");
    }

    @Override
    public synchronized int residentBlocks(String kernel, int blockThreads, int sharedBytes) {
        String key = kernel + '/' + blockThreads + '/' + sharedBytes;
        Integer known = occupancy.get(key);
        if (known != null) return known;
        makeCurrent();
        int[] n = new int[1];
        check(cuOccupancyMaxActiveBlocksPerMultiprocessor(n, function(kernel, true), blockThreads, sharedBytes),
                "cuOccupancyMaxActiveBlocksPerMultiprocessor(" + kernel + ", " + blockThreads + " threads)");
        int blocks = Math.max(1, n[0]);
        occupancy.put(key, blocks);
        return blocks;
    }

    @Override
    public synchronized long hostWaits() {
        return stagingWaits;
    }

    /** cuLaunchKernel through FFM, with the arguments laid out by {@link KernelParams} (the caller holds the driver's lock). */
    private static final class Launcher {
        private final MethodHandle cuLaunchKernel;
        private final KernelParams params = new KernelParams(Arena.ofShared());
        private final MemorySegment stream;

        Launcher(long stream) {
            MemorySegment symbol = SymbolLookup.libraryLookup("libcuda.so.1", Arena.global()).find("cuLaunchKernel")
                    .orElseThrow(() -> new CudaException("libcuda.so.1 has no cuLaunchKernel"));
            cuLaunchKernel = Linker.nativeLinker().downcallHandle(symbol, FunctionDescriptor.of(ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS));
            this.stream = MemorySegment.ofAddress(stream);
        }

        int launch(String kernel, long function, Dim3 grid, Dim3 block, int sharedBytes, Object[] args) {
            MemorySegment pointers = params.write(kernel, args);
            try {
                return (int) cuLaunchKernel.invokeExact(MemorySegment.ofAddress(function), grid.x(), grid.y(), grid.z(),
                        block.x(), block.y(), block.z(), sharedBytes, stream, pointers, MemorySegment.NULL);
            } catch (Throwable t) {
                throw new CudaException("cuLaunchKernel(" + kernel + ") could not be called: " + t, t);
            }
        }
    }

    @Override
    public void synchronize() {
        makeCurrent();
        check(cuStreamSynchronize(stream), "cuStreamSynchronize (a kernel queued earlier may have failed)");
    }

    @Override
    public Blas blas() {
        return blas;
    }

    @Override
    public Dnn dnn() {
        return dnn;
    }

    // ---------------------------------------------------------------- timing (benchmarks)

    /** A timing event. */
    public CUevent newEvent() {
        makeCurrent();
        CUevent e = new CUevent();
        check(cuEventCreate(e, 0), "cuEventCreate");
        return e;
    }

    public void record(CUevent e) {
        check(cuEventRecord(e, stream), "cuEventRecord");
    }

    /** Milliseconds between two recorded events (waits for the second). */
    public float elapsedMs(CUevent start, CUevent end) {
        check(cuEventSynchronize(end), "cuEventSynchronize");
        float[] ms = new float[1];
        check(cuEventElapsedTime(ms, start, end), "cuEventElapsedTime");
        return ms[0];
    }

    static void check(int rc, String call) {
        if (rc != CUresult.CUDA_SUCCESS) throw new CudaException(call + " failed: " + errorName(rc));
    }

    static String errorName(int rc) {
        return CUresult.stringFor(rc) + " (" + rc + ")";
    }
}
