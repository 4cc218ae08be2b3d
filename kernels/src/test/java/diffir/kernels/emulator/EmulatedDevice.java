package diffir.kernels.emulator;

import diffir.kernels.Blas;
import diffir.kernels.DeviceApi;
import diffir.kernels.Dim3;
import diffir.kernels.Dnn;
import diffir.kernels.Ptr;
import diffir.kernels.ffm.CuBlas;
import diffir.kernels.ffm.CuDnn;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * {@link DeviceApi} on the CPU: runs the project's kernels compiled as C++ (see {@link EmulatorBuild}),
 * one block at a time with one platform thread per CUDA thread, so the backend's glue and the kernels'
 * indexing, barriers and shuffles are tested without a GPU. Device memory is host memory with a guard
 * page after each buffer (an overrun crashes the JVM, loudly) and NaN-filled when allocated.
 * cuBLAS and cuDNN are the stand-ins built next to it, reached through the real FFM bindings.
 */
public final class EmulatedDevice implements DeviceApi {
    /** Streaming multiprocessors the glue sizes grids for: few, so grid-stride loops do loop. */
    private static final int SMS = 2;
    private static final long FAKE_STREAM = 0x5157L;

    private final SymbolLookup lib;
    private final Linker linker = Linker.nativeLinker();
    private final MethodHandle beginBlock, enterThread, exitThread, endBlock, alloc, free;
    private final Map<String, MethodHandle> kernels = new HashMap<>();
    private final ExecutorService threads = Executors.newFixedThreadPool(1024, r -> {
        Thread t = new Thread(r, "emulated-cuda-thread");
        t.setDaemon(true);
        return t;
    });
    private final Blas blas;
    private final Dnn dnn;
    private final List<String> skipped;
    private long launches;

    private EmulatedDevice(EmulatorBuild.Result build) {
        lib = SymbolLookup.libraryLookup(build.library(), Arena.global());
        beginBlock = handle("emu_begin_block", FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
        enterThread = handle("emu_enter_thread", FunctionDescriptor.ofVoid(JAVA_INT, JAVA_INT, JAVA_INT));
        exitThread = handle("emu_exit_thread", FunctionDescriptor.ofVoid());
        endBlock = handle("emu_end_block", FunctionDescriptor.ofVoid());
        alloc = handle("emu_alloc", FunctionDescriptor.of(ADDRESS, JAVA_LONG));
        free = handle("emu_free", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        skipped = build.skipped();
        String[] why = new String[1];
        List<java.nio.file.Path> dirs = List.of(build.libDir());
        blas = CuBlas.load(dirs, false, FAKE_STREAM, () -> {}, why).orElseThrow(() -> new IllegalStateException(why[0]));
        dnn = CuDnn.load(dirs, false, FAKE_STREAM, () -> {}, why).orElseThrow(() -> new IllegalStateException(why[0]));
    }

    private static EmulatedDevice instance;

    /** The emulator, built on first use; throws IllegalStateException with the reason when it cannot be built. */
    public static synchronized EmulatedDevice get() {
        if (instance == null) instance = new EmulatedDevice(EmulatorBuild.get());
        return instance;
    }

    /** Source files that did not compile for the emulator. */
    public List<String> skipped() {
        return skipped;
    }

    public synchronized long launches() {
        return launches;
    }

    private MethodHandle handle(String name, FunctionDescriptor fd) {
        return linker.downcallHandle(lib.find(name).orElseThrow(() -> new IllegalStateException("emulator lacks " + name)), fd);
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
        try {
            MemorySegment p = (MemorySegment) alloc.invokeExact(bytes);
            return p.address();
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public void free(long address) {
        try {
            int rc = (int) free.invokeExact(MemorySegment.ofAddress(address));
            if (rc != 0) throw new IllegalStateException("emulator: free of unknown address 0x" + Long.toHexString(address));
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
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
        launches++;
        if ((long) block.x() * block.y() * block.z() > 1024)
            throw new IllegalArgumentException("kernel " + name + ": block " + block + " has more than 1024 threads");
        if (grid.y() > 65535 || grid.z() > 65535)
            throw new IllegalArgumentException("kernel " + name + ": grid " + grid + " exceeds 65535 in y or z");
        try (Arena arena = Arena.ofShared()) {
            Object[] values = new Object[args.length];
            MemoryLayout[] layouts = new MemoryLayout[args.length];
            StringBuilder signature = new StringBuilder(name).append('(');
            for (int i = 0; i < args.length; i++) {
                Object a = args[i];
                if (a instanceof Ptr p) {
                    layouts[i] = ADDRESS;
                    values[i] = MemorySegment.ofAddress(p.address());
                } else if (a instanceof Integer) {
                    layouts[i] = JAVA_INT;
                    values[i] = a;
                } else if (a instanceof Long) {
                    layouts[i] = JAVA_LONG;
                    values[i] = a;
                } else if (a instanceof Float) {
                    layouts[i] = JAVA_FLOAT;
                    values[i] = a;
                } else if (a instanceof int[] s) {
                    MemoryLayout[] fields = new MemoryLayout[s.length];
                    java.util.Arrays.fill(fields, JAVA_INT);
                    layouts[i] = MemoryLayout.structLayout(fields);
                    MemorySegment seg = arena.allocate(layouts[i]);
                    MemorySegment.copy(s, 0, seg, JAVA_INT, 0, s.length);
                    values[i] = seg;
                } else {
                    throw new IllegalArgumentException("kernel " + name + ": argument " + i + " of type "
                            + (a == null ? "null" : a.getClass().getSimpleName()) + " is not a Ptr, Integer, Long, Float or int[]");
                }
                signature.append(layouts[i]).append(',');
            }
            MethodHandle kernel = kernels.computeIfAbsent(signature.toString(), k -> {
                var sym = lib.find(name).orElseThrow(() -> new IllegalStateException("kernel " + name + " not found in the emulator"
                        + (skipped.isEmpty() ? "" : " (left out: " + skipped + ")")));
                return linker.downcallHandle(sym, FunctionDescriptor.ofVoid(layouts));
            });
            for (int bz = 0; bz < grid.z(); bz++)
                for (int by = 0; by < grid.y(); by++)
                    for (int bx = 0; bx < grid.x(); bx++)
                        runBlock(name, kernel, values, grid, block, sharedBytes, bx, by, bz);
        }
    }

    private void runBlock(String name, MethodHandle kernel, Object[] values, Dim3 grid, Dim3 block, int shared,
                          int bx, int by, int bz) {
        try {
            beginBlock.invokeExact(bx, by, bz, grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(), shared);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
        List<Future<?>> running = new ArrayList<>();
        for (int tz = 0; tz < block.z(); tz++)
            for (int ty = 0; ty < block.y(); ty++)
                for (int tx = 0; tx < block.x(); tx++) {
                    int x = tx, y = ty, z = tz;
                    running.add(threads.submit(() -> {
                        try {
                            enterThread.invokeExact(x, y, z);
                            kernel.invokeWithArguments(values);
                            exitThread.invokeExact();
                        } catch (Throwable t) {
                            throw new IllegalStateException("kernel " + name + " thread (" + x + "," + y + "," + z + ")", t);
                        }
                        return null;
                    }));
                }
        try {
            for (Future<?> f : running) f.get(120, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new IllegalStateException("kernel " + name + " block (" + bx + "," + by + "," + bz
                    + ") did not finish: a barrier some threads never reach?");
        } catch (Exception e) {
            throw new IllegalStateException("kernel " + name + " failed in the emulator: " + e.getMessage(), e);
        }
        try {
            endBlock.invokeExact();
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
