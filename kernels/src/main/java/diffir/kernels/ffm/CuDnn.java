package diffir.kernels.ffm;

import diffir.engine.backend.ConvSpec;
import diffir.kernels.CudaException;
import diffir.kernels.Dnn;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * cuDNN's convolutions through FFM downcalls, the legacy (v7) API that cuDNN 8 and 9 both export.
 * Descriptors and the chosen algorithms are cached per geometry. With TF32 off (the default) the
 * descriptors ask for FMA math and tensor-op algorithms are skipped, so results are float32-accurate.
 *
 * <p>Algorithms are chosen once per geometry and direction, as PyTorch's benchmark mode does: cuDNN's
 * {@code cudnnFind*AlgorithmEx} times every algorithm on the call's own buffers with a workspace of up
 * to {@code -Ddiffir.cuda.cudnn.workspaceMiB} (256 by default) from the caching allocator, and the
 * fastest usable one is kept. FFT-based algorithms are left out: their round-off grows with the
 * transform size, beyond what the float32 tests allow. The search waits for the device (counted in
 * {@link #hostWaits}); {@code -Ddiffir.cuda.cudnn.benchmark=false} uses the heuristics instead
 * ({@code cudnnGet*Algorithm_v7}, no run).
 */
public final class CuDnn implements Dnn {
    private static final String[] SONAMES = {"libcudnn.so.9", "libcudnn.so.8", "libcudnn.so"};
    private static final int FLOAT = 0, NCHW = 0, CROSS_CORRELATION = 1;
    private static final int DEFAULT_MATH = 0, TENSOR_OP_MATH = 1, TENSOR_OP_ALLOW_CONVERSION = 2, FMA_MATH = 3;
    private static final int NOT_SUPPORTED = 9;
    private static final int MAX_ALGOS = 10;
    private static final boolean BENCHMARK = !"false".equals(System.getProperty("diffir.cuda.cudnn.benchmark"));
    private static final long SEARCH_WORKSPACE = Long.getLong("diffir.cuda.cudnn.workspaceMiB", 256) << 20;
    /** Bytes of cudnnConvolution*AlgoPerf_t: algo, status, time, (pad), size_t memory, determinism, mathType, reserved[3]. */
    private static final long PERF_SIZE = 48, PERF_STATUS = 4, PERF_MEMORY = 16, PERF_MATH = 28;

    private final NativeLibraries.Opened lib;
    private final Runnable makeCurrent;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment handle;
    private final MemorySegment scalars;
    private final long version;
    private final MethodHandle errorString, createTensor, setTensor4d, createFilter, setFilter4d, createConv, setConv2d,
            setGroups, setMath;
    private final Direction forward, backwardData, backwardFilter;
    private final Map<ConvSpec, Plan> plans = new HashMap<>();
    private boolean tf32;
    private long searches;

    /** Descriptors of one geometry, and the algorithm chosen for each direction (-1: not yet; -2: none). */
    private static final class Plan {
        MemorySegment x, w, y, conv;
        final int[] algorithm = {-1, -1, -1};
    }

    /**
     * One direction of the convolution: its cuDNN entry points (cudnnConvolution{name} and the calls that
     * choose and size its algorithm), which take the plan's descriptors in the same order: two inputs,
     * then the output.
     */
    private record Direction(String name, int index, Set<Integer> fftAlgorithms, Function<Plan, MemorySegment[]> descriptors,
                             MethodHandle choose, MethodHandle search, MethodHandle workspace, MethodHandle run) {}

    private CuDnn(NativeLibraries.Opened lib, long stream, Runnable makeCurrent) {
        this.lib = lib;
        this.makeCurrent = makeCurrent;
        Linker l = Linker.nativeLinker();
        MethodHandle getVersion = find(l, "cudnnGetVersion", FunctionDescriptor.of(JAVA_LONG));
        errorString = find(l, "cudnnGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        MethodHandle create = find(l, "cudnnCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MethodHandle setStream = find(l, "cudnnSetStream", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        createTensor = find(l, "cudnnCreateTensorDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setTensor4d = find(l, "cudnnSetTensor4dDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        createFilter = find(l, "cudnnCreateFilterDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setFilter4d = find(l, "cudnnSetFilter4dDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        createConv = find(l, "cudnnCreateConvolutionDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setConv2d = find(l, "cudnnSetConvolution2dDescriptor", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        setGroups = find(l, "cudnnSetConvolutionGroupCount", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        setMath = find(l, "cudnnSetConvolutionMathType", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        FunctionDescriptor algoQuery = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                JAVA_INT, ADDRESS, ADDRESS);
        FunctionDescriptor wsQuery = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                JAVA_INT, ADDRESS);
        // (handle, alpha, aDesc, a, bDesc, b, convDesc, algo, workspace, wsBytes, beta, outDesc, out)
        FunctionDescriptor run = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS);
        // (handle, aDesc, a, bDesc, b, convDesc, outDesc, out, requested, *returned, *perf, workspace, wsBytes)
        FunctionDescriptor search = FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG);
        // The FFT algorithms of each direction: FFT and FFT_TILING.
        forward = new Direction("Forward", 0, Set.of(4, 5), p -> new MemorySegment[]{p.x, p.w, p.y},
                find(l, "cudnnGetConvolutionForwardAlgorithm_v7", algoQuery), find(l, "cudnnFindConvolutionForwardAlgorithmEx", search),
                find(l, "cudnnGetConvolutionForwardWorkspaceSize", wsQuery), find(l, "cudnnConvolutionForward", run));
        backwardData = new Direction("BackwardData", 1, Set.of(2, 3), p -> new MemorySegment[]{p.w, p.y, p.x},
                find(l, "cudnnGetConvolutionBackwardDataAlgorithm_v7", algoQuery),
                find(l, "cudnnFindConvolutionBackwardDataAlgorithmEx", search),
                find(l, "cudnnGetConvolutionBackwardDataWorkspaceSize", wsQuery), find(l, "cudnnConvolutionBackwardData", run));
        backwardFilter = new Direction("BackwardFilter", 2, Set.of(2, 6), p -> new MemorySegment[]{p.x, p.y, p.w},
                find(l, "cudnnGetConvolutionBackwardFilterAlgorithm_v7", algoQuery),
                find(l, "cudnnFindConvolutionBackwardFilterAlgorithmEx", search),
                find(l, "cudnnGetConvolutionBackwardFilterWorkspaceSize", wsQuery), find(l, "cudnnConvolutionBackwardFilter", run));
        try {
            version = (long) getVersion.invokeWithArguments();
        } catch (Throwable t) {
            throw new CudaException("cudnnGetVersion failed: " + t, t);
        }
        makeCurrent.run();
        MemorySegment out = arena.allocate(ADDRESS);
        check("cudnnCreate", CuBlas.invokeInt(create, out));
        handle = out.get(ADDRESS, 0);
        check("cudnnSetStream", CuBlas.invokeInt(setStream, handle, MemorySegment.ofAddress(stream)));
        scalars = arena.allocate(JAVA_FLOAT, 2);
        scalars.setAtIndex(JAVA_FLOAT, 0, 1f);
        scalars.setAtIndex(JAVA_FLOAT, 1, 0f);
        tf32 = Boolean.getBoolean("diffir.cuda.tf32");
    }

    /** cuDNN bound to {@code stream}, or empty with the reason in {@code why[0]}. */
    public static Optional<CuDnn> load(long stream, Runnable makeCurrent, String[] why) {
        if (System.getProperty("diffir.cuda.cudnn", "true").equals("false")) {
            why[0] = "cuDNN disabled by -Ddiffir.cuda.cudnn=false";
            return Optional.empty();
        }
        return load(NativeLibraries.searchPath(), true, stream, makeCurrent, why);
    }

    public static Optional<CuDnn> load(List<Path> dirs, boolean systemLoader, long stream, Runnable makeCurrent, String[] why) {
        // The cuDNN 9 shim loads its sub-libraries by bare name and aborts the process when one is
        // missing, so they are opened first from the shim's own folder.
        Optional<NativeLibraries.Opened> lib = NativeLibraries.open(Arena.global(), dirs, systemLoader, SONAMES, "libcudnn_");
        if (lib.isEmpty()) {
            why[0] = "cuDNN not found (" + String.join(", ", SONAMES) + ") in " + dirs;
            return Optional.empty();
        }
        return Optional.of(new CuDnn(lib.get(), stream, makeCurrent));
    }

    @Override
    public String describe() {
        return "cuDNN " + version / 10000 + "." + version / 100 % 100 + "." + version % 100 + " (" + lib.path() + ")"
                + (tf32 ? ", TF32 on" : "");
    }

    @Override
    public synchronized void setTf32(boolean enabled) {
        if (enabled == tf32) return;
        tf32 = enabled;
        for (Plan p : plans.values()) {
            check("cudnnSetConvolutionMathType", CuBlas.invokeInt(setMath, p.conv, enabled ? DEFAULT_MATH : FMA_MATH));
            Arrays.fill(p.algorithm, -1);
        }
    }

    @Override
    public synchronized long hostWaits() {
        return searches;
    }

    @Override
    public synchronized boolean forward(ConvSpec s, long x, long w, long y, Workspace ws) {
        return convolve(forward, s, x, w, y, ws);
    }

    @Override
    public synchronized boolean backwardData(ConvSpec s, long w, long dy, long dx, Workspace ws) {
        return convolve(backwardData, s, w, dy, dx, ws);
    }

    @Override
    public synchronized boolean backwardFilter(ConvSpec s, long x, long dy, long dw, Workspace ws) {
        return convolve(backwardFilter, s, x, dy, dw, ws);
    }

    /** Runs one direction (inputs a and b, output out) with its algorithm for this geometry, chosen on first use. */
    private boolean convolve(Direction d, ConvSpec s, long a, long b, long out, Workspace ws) {
        Plan p = plan(s);
        MemorySegment[] desc = d.descriptors().apply(p);
        int[] algorithm = p.algorithm;
        if (algorithm[d.index()] == -1)
            algorithm[d.index()] = BENCHMARK ? search(d, desc, a, b, p.conv, out, ws) : choose(d, desc, p.conv);
        int algo = algorithm[d.index()];
        if (algo < 0) return false;
        long bytes = workspace(d, algo, desc, p.conv);
        if (bytes < 0) {
            algorithm[d.index()] = -2;
            return false;
        }
        int rc = CuBlas.invokeInt(d.run(), handle, scalars, desc[0], ptr(a), desc[1], ptr(b), p.conv, algo,
                ptr(bytes == 0 ? 0 : ws.get(bytes)), bytes, scalars.asSlice(4), desc[2], ptr(out));
        return ran("cudnnConvolution" + d.name(), s, rc, () -> algorithm[d.index()] = -2);
    }

    private Plan plan(ConvSpec s) {
        makeCurrent.run();
        Plan p = plans.get(s);
        if (p != null) return p;
        p = new Plan();
        p.x = create("cudnnCreateTensorDescriptor", createTensor);
        check("cudnnSetTensor4dDescriptor(x)", CuBlas.invokeInt(setTensor4d, p.x, NCHW, FLOAT, s.n(), s.c(), s.h(), s.w()));
        p.y = create("cudnnCreateTensorDescriptor", createTensor);
        check("cudnnSetTensor4dDescriptor(y)", CuBlas.invokeInt(setTensor4d, p.y, NCHW, FLOAT, s.n(), s.o(), s.outH(), s.outW()));
        p.w = create("cudnnCreateFilterDescriptor", createFilter);
        check("cudnnSetFilter4dDescriptor", CuBlas.invokeInt(setFilter4d, p.w, FLOAT, NCHW, s.o(), s.cPerGroup(), s.kh(), s.kw()));
        p.conv = create("cudnnCreateConvolutionDescriptor", createConv);
        check("cudnnSetConvolution2dDescriptor", CuBlas.invokeInt(setConv2d, p.conv, s.padH(), s.padW(), s.strideH(), s.strideW(),
                1, 1, CROSS_CORRELATION, FLOAT));
        check("cudnnSetConvolutionGroupCount", CuBlas.invokeInt(setGroups, p.conv, s.groups()));
        check("cudnnSetConvolutionMathType", CuBlas.invokeInt(setMath, p.conv, tf32 ? DEFAULT_MATH : FMA_MATH));
        plans.put(s, p);
        return p;
    }

    /** The first algorithm the heuristics rank usable (and FMA-only unless TF32 is on), or -2. */
    private int choose(Direction d, MemorySegment[] desc, MemorySegment conv) {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment count = tmp.allocate(JAVA_INT);
            MemorySegment perf = tmp.allocate(PERF_SIZE * MAX_ALGOS, 8);
            int rc = CuBlas.invokeInt(d.choose(), handle, desc[0], desc[1], conv, desc[2], MAX_ALGOS, count, perf);
            if (rc != 0) {
                note("cudnnGetConvolution" + d.name() + "Algorithm_v7 failed: " + errorName(rc) + "; using the own kernels for this geometry");
                return -2;
            }
            int n = Math.min(count.get(JAVA_INT, 0), MAX_ALGOS);
            for (int i = 0; i < n; i++) {
                MemorySegment r = perf.asSlice(i * PERF_SIZE, PERF_SIZE);
                int status = r.get(JAVA_INT, PERF_STATUS), math = r.get(JAVA_INT, PERF_MATH);
                if (status != 0) continue;
                if (!tf32 && (math == TENSOR_OP_MATH || math == TENSOR_OP_ALLOW_CONVERSION)) continue;
                return r.get(JAVA_INT, 0);
            }
            return -2;
        }
    }

    /**
     * The fastest usable algorithm by cuDNN's timed search on the call's buffers (the output is
     * overwritten, as the call itself will): status success, FMA math unless TF32 is on, no FFT, a
     * workspace within the search's; or -2 when none qualifies.
     */
    private int search(Direction d, MemorySegment[] desc, long a, long b, MemorySegment conv, long out, Workspace ws) {
        searches++;
        long wsBytes = SEARCH_WORKSPACE;
        long workspace = wsBytes > 0 ? ws.get(wsBytes) : 0;
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment count = tmp.allocate(JAVA_INT);
            MemorySegment perf = tmp.allocate(PERF_SIZE * MAX_ALGOS, 8);
            int rc = CuBlas.invokeInt(d.search(), handle, desc[0], ptr(a), desc[1], ptr(b), conv, desc[2], ptr(out), MAX_ALGOS, count,
                    perf, ptr(workspace), wsBytes);
            if (rc != 0) {
                note("cudnnFindConvolution" + d.name() + "AlgorithmEx failed: " + errorName(rc) + "; using the own kernels for this geometry");
                return -2;
            }
            int n = Math.min(count.get(JAVA_INT, 0), MAX_ALGOS);
            for (int i = 0; i < n; i++) {  // fastest first
                MemorySegment r = perf.asSlice(i * PERF_SIZE, PERF_SIZE);
                int algo = r.get(JAVA_INT, 0), status = r.get(JAVA_INT, PERF_STATUS), math = r.get(JAVA_INT, PERF_MATH);
                if (status != 0 || d.fftAlgorithms().contains(algo) || r.get(JAVA_LONG, PERF_MEMORY) > wsBytes) continue;
                if (!tf32 && (math == TENSOR_OP_MATH || math == TENSOR_OP_ALLOW_CONVERSION)) continue;
                return algo;
            }
            return -2;
        }
    }

    /** Workspace bytes of an algorithm, or -1 when cuDNN will not say (the algorithm is then dropped). */
    private long workspace(Direction d, int algo, MemorySegment[] desc, MemorySegment conv) {
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment size = tmp.allocate(JAVA_LONG);
            int rc = CuBlas.invokeInt(d.workspace(), handle, desc[0], desc[1], conv, desc[2], algo, size);
            if (rc != 0) {
                note("cudnnGetConvolution" + d.name() + "WorkspaceSize(algo " + algo + ") failed: " + errorName(rc) + "; using the own kernels for this geometry");
                return -1;
            }
            return size.get(JAVA_LONG, 0);
        }
    }

    /** A one-time notice on stderr (cuDNN declining a geometry is not an error, but worth seeing in logs). */
    private final Set<String> noted = new java.util.HashSet<>();

    private void note(String message) {
        if (noted.add(message)) System.err.println("cuDNN: " + message);
    }

    /** True when the call ran; false (and the algorithm dropped) when cuDNN reports it unsupported. */
    private boolean ran(String call, ConvSpec s, int rc, Runnable dropAlgorithm) {
        if (rc == 0) return true;
        if (rc == NOT_SUPPORTED) {
            dropAlgorithm.run();
            return false;
        }
        throw new CudaException(call + " for " + s + " failed: " + errorName(rc));
    }

    private MemorySegment create(String call, MethodHandle h) {
        MemorySegment out = arena.allocate(ADDRESS);
        check(call, CuBlas.invokeInt(h, out));
        return out.get(ADDRESS, 0);
    }

    private static MemorySegment ptr(long address) {
        return MemorySegment.ofAddress(address);
    }

    private void check(String call, int rc) {
        if (rc != 0) throw new CudaException(call + " failed: " + errorName(rc));
    }

    private String errorName(int rc) {
        try {
            MemorySegment s = (MemorySegment) errorString.invokeWithArguments(rc);
            return s.reinterpret(256).getString(0) + " (" + rc + ")";
        } catch (Throwable t) {
            return "cuDNN status " + rc;
        }
    }

    private MethodHandle find(Linker linker, String name, FunctionDescriptor fd) {
        var sym = lib.symbols().find(name);
        if (sym.isEmpty()) throw new CudaException("cuDNN at " + lib.path() + " has no symbol " + name);
        return linker.downcallHandle(sym.get(), fd);
    }
}
