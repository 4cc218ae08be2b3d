package diffir.kernels.emulator;

import diffir.kernels.Blas;
import diffir.kernels.DeviceApi;
import diffir.kernels.Dim3;
import diffir.kernels.Dnn;
import diffir.kernels.KernelParams;
import diffir.kernels.ffm.CuBlas;
import diffir.kernels.ffm.CuDnn;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@link DeviceApi} on the CPU emulator (src/test/emu, built by {@link EmulatorBuild}): the project's
 * kernels compiled as C++, each CUDA thread a coroutine, every check reported as an
 * IllegalStateException naming the kernel (kernels/README.md lists the checks). Device memory is host
 * memory between guard pages, NaN-filled when allocated. cuBLAS and cuDNN are the stand-ins built
 * next to it, reached through the real FFM bindings.
 */
public final class EmulatedDevice implements DeviceApi {
    /** Streaming multiprocessors the glue sizes grids for: few, so grid-stride loops do loop. */
    private static final int SMS = 2;
    private static final long FAKE_STREAM = 0x5157L;
    private static final int ERROR_BYTES = 1024;

    /** This machine cannot build the emulator (no g++, gcc or libffi header); its tests are skipped. */
    public static final class Unavailable extends IllegalStateException {
        Unavailable(String message) {
            super(message);
        }
    }

    private static EmulatedDevice instance;

    private final SymbolLookup lib;
    private final MethodHandle alloc, free, setOrder, launch;
    private final Map<String, MemorySegment> kernels = new HashMap<>();
    /** The launch arguments, laid out by the same code as for the GPU (the emulator reads them as the driver does). */
    private final KernelParams params = new KernelParams(Arena.ofShared());
    private final Blas blas;
    private final Dnn dnn;

    private EmulatedDevice(EmulatorBuild.Result build) {
        Linker linker = Linker.nativeLinker();
        lib = SymbolLookup.libraryLookup(build.library(), Arena.global());
        alloc = linker.downcallHandle(symbol("emu_alloc"), FunctionDescriptor.of(ADDRESS, JAVA_LONG, JAVA_LONG));
        free = linker.downcallHandle(symbol("emu_free"), FunctionDescriptor.of(JAVA_INT, ADDRESS));
        setOrder = linker.downcallHandle(symbol("emu_set_order"), FunctionDescriptor.ofVoid(JAVA_INT));
        launch = linker.downcallHandle(symbol("emu_launch"), FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
        String[] why = new String[1];
        List<Path> dirs = List.of(build.libDir());
        blas = CuBlas.load(dirs, false, FAKE_STREAM, () -> {}, why).orElseThrow(() -> new IllegalStateException(why[0]));
        dnn = CuDnn.load(dirs, false, FAKE_STREAM, () -> {}, why).orElseThrow(() -> new IllegalStateException(why[0]));
    }

    /** The emulator, built on first use; throws {@link Unavailable}, or IllegalStateException when its build fails. */
    public static synchronized EmulatedDevice get() {
        if (instance == null) instance = new EmulatedDevice(EmulatorBuild.get());
        return instance;
    }

    private MemorySegment symbol(String name) {
        return lib.find(name).orElseThrow(() -> new IllegalStateException("the emulator lacks " + name));
    }

    /** The order the threads of each block run in: 0 forward, 1 reverse, 2 shuffled per block (the default). */
    public synchronized void threadOrder(int mode) {
        if (mode < 0 || mode > 2) throw new IllegalArgumentException("thread order " + mode + " is not 0, 1 or 2");
        try {
            setOrder.invokeExact(mode);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public String describe() {
        return "CUDA emulator on the CPU (" + SMS + " virtual SMs)";
    }

    @Override
    public int multiprocessors() {
        return SMS;
    }

    @Override
    public long tryAllocate(long bytes) {
        return allocate(bytes, 256);
    }

    /**
     * NaN-filled memory of {@code bytes} at a multiple of {@code alignment} (a power of two, at least 4),
     * ending where an inaccessible page begins, up to the rounding of bytes to the alignment (writes
     * there are reported after the next launch); 0 when the host is out of memory.
     */
    public long allocate(long bytes, long alignment) {
        if (bytes < 0 || alignment < 4 || Long.bitCount(alignment) != 1)
            throw new IllegalArgumentException("allocation of " + bytes + " bytes at alignment " + alignment);
        try {
            return ((MemorySegment) alloc.invokeExact(bytes, alignment)).address();
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public void free(long address) {
        int rc;
        try {
            rc = (int) free.invokeExact(MemorySegment.ofAddress(address));
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        if (rc != 0) throw new IllegalStateException("emulator: free of unknown address 0x" + Long.toHexString(address));
    }

    @Override
    public long[] memoryInfo() {
        return new long[]{Runtime.getRuntime().freeMemory(), Runtime.getRuntime().maxMemory()};
    }

    private static MemorySegment at(long address, long bytes) {
        return MemorySegment.ofAddress(address).reinterpret(bytes);
    }

    @Override
    public void upload(float[] src, int offset, long dst, int count) {
        MemorySegment.copy(src, offset, at(dst, 4L * count), JAVA_FLOAT, 0, count);
    }

    @Override
    public void download(long src, float[] dst, int offset, int count) {
        MemorySegment.copy(at(src, 4L * count), JAVA_FLOAT, 0, dst, offset, count);
    }

    @Override
    public void copy(long dst, long src, long bytes) {
        MemorySegment.copy(at(src, bytes), 0, at(dst, bytes), 0, bytes);
    }

    @Override
    public void fill32(long dst, int bits, long count) {
        MemorySegment m = at(dst, 4 * count);
        for (long i = 0; i < count; i++) m.setAtIndex(JAVA_INT, i, bits);
    }

    @Override
    public boolean hasKernel(String name) {
        return lib.find(name).isPresent();
    }

    @Override
    public synchronized void launch(String name, Dim3 grid, Dim3 block, int sharedBytes, Object... args) {
        MemorySegment kernel = kernels.computeIfAbsent(name,
                k -> lib.find(k).orElseThrow(() -> new IllegalStateException("kernel " + k + " not found in the emulator")));
        int n = args.length;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment values = params.write(name, args);
            MemorySegment types = arena.allocate(n + 1), structInts = arena.allocate(JAVA_INT, n + 1), error = arena.allocate(ERROR_BYTES);
            for (int i = 0; i < n; i++) {
                types.set(JAVA_BYTE, i, (byte) KernelParams.kind(name, i, args[i]));
                if (args[i] instanceof int[] s) structInts.setAtIndex(JAVA_INT, i, s.length);
            }
            int rc = (int) launch.invokeExact(kernel, types, structInts, values, n, grid.x(), grid.y(), grid.z(), block.x(),
                    block.y(), block.z(), sharedBytes, error, ERROR_BYTES);
            if (rc != 0) throw new IllegalStateException("kernel " + name + " failed in the emulator: " + error.getString(0));
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public void synchronize() {}

    @Override
    public Blas blas() {
        return blas;
    }

    @Override
    public Dnn dnn() {
        return dnn;
    }
}
