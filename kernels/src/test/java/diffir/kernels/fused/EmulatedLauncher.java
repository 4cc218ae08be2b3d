package diffir.kernels.fused;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.cpu.CpuStorage;
import diffir.kernels.Dim3;
import diffir.kernels.KernelLauncher;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * Runs the fused CUDA kernels on the CPU for the tests: the .cu sources are compiled as C++ against
 * a small CUDA emulator (src/test/cpp, built here with g++ on first use) and called through FFM.
 * Tensors are CPU tensors; each launch copies every storage it touches into native memory between
 * NaN guard zones (so stray reads poison results and stray writes are caught), runs the kernel, and
 * copies the storages back. Scratch tensors start as NaN, so reads of unwritten scratch show too.
 */
final class EmulatedLauncher implements KernelLauncher {
    private static final long GUARD_BYTES = 4096;
    private static final int GUARD_BITS = 0x7fc0dead;  // a NaN that no kernel computes
    private static final Path MODULE = Path.of(System.getProperty("user.dir"));
    private static final Path LIBRARY = MODULE.resolve("target/emu/libfusedemu.so");

    private static EmulatedLauncher instance;
    private static String unavailable;

    private final MethodHandle launch;
    private final MethodHandle setOrder;
    private int multiprocessors;
    private int launches;
    private final List<String> launched = new ArrayList<>();

    private EmulatedLauncher(MethodHandle launch, MethodHandle setOrder, int multiprocessors) {
        this.launch = launch;
        this.setOrder = setOrder;
        this.multiprocessors = multiprocessors;
    }

    /** The emulator, or null (with {@link #unavailableReason()}) when it cannot be built here. */
    static synchronized EmulatedLauncher get() {
        if (instance == null && unavailable == null) {
            try {
                build();
                Linker linker = Linker.nativeLinker();
                SymbolLookup lib = SymbolLookup.libraryLookup(LIBRARY, Arena.global());
                MethodHandle launch = linker.downcallHandle(lib.find("emu_launch").orElseThrow(),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                                ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                                ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
                MethodHandle order = linker.downcallHandle(lib.find("emu_set_order").orElseThrow(),
                        FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT));
                // A GPU-like multiprocessor count, so that the Gram splits even small images into chunks.
                instance = new EmulatedLauncher(launch, order, 8);
            } catch (CompilerMissing e) {
                unavailable = e.getMessage();
            } catch (IOException e) {
                throw new IllegalStateException(e.getMessage(), e);  // a build error is a test failure
            }
        }
        return instance;
    }

    static synchronized String unavailableReason() {
        return unavailable;
    }

    /** 0 forward, 1 reverse, 2 shuffled (default) thread order within blocks. */
    void threadOrder(int mode) {
        try {
            setOrder.invokeExact(mode);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The multiprocessor count reported to the glue (it sizes the Gram's pixel chunks). */
    void multiprocessors(int count) {
        multiprocessors = count;
    }

    int launches() {
        return launches;
    }

    /** Names of the kernels launched since the last call, in order; clears the record. */
    synchronized List<String> takeLaunched() {
        List<String> r = List.copyOf(launched);
        launched.clear();
        return r;
    }

    @Override
    public synchronized void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, Object... args) {
        launches++;
        launched.add(kernel);
        try (Arena arena = Arena.ofConfined()) {
            Map<float[], MemorySegment> copies = new IdentityHashMap<>();
            MemorySegment slots = arena.allocate(8L * Math.max(1, args.length), 8);
            StringBuilder types = new StringBuilder();
            for (int i = 0; i < args.length; i++) {
                Object a = args[i];
                long slot;
                switch (a) {
                    case null -> { types.append('P'); slot = 0; }
                    case Tensor t -> {
                        if (!(t.storage() instanceof CpuStorage s))
                            throw new IllegalArgumentException("the emulator runs on CPU tensors, got " + t);
                        MemorySegment seg = copies.computeIfAbsent(s.data(), d -> guarded(arena, d));
                        types.append('P');
                        slot = seg.address() + GUARD_BYTES + 4 * t.offset();
                    }
                    case Integer v -> { types.append('I'); slot = v & 0xffffffffL; }
                    case Long v -> { types.append('L'); slot = v; }
                    case Float v -> { types.append('F'); slot = Float.floatToRawIntBits(v) & 0xffffffffL; }
                    default -> throw new IllegalArgumentException("kernel argument " + i + " of type " + a.getClass().getName());
                }
                slots.setAtIndex(ValueLayout.JAVA_LONG, i, slot);
            }
            MemorySegment err = arena.allocate(1024);
            int rc = (int) launch.invokeExact(arena.allocateFrom(kernel), grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(),
                    sharedBytes, arena.allocateFrom(types.toString()), slots, args.length, err, 1024);
            if (rc != 0) throw new AssertionError("emulated launch failed: " + err.getString(0));
            for (Map.Entry<float[], MemorySegment> e : copies.entrySet()) {
                float[] data = e.getKey();
                MemorySegment seg = e.getValue();
                checkGuard(kernel, seg, 0);
                checkGuard(kernel, seg, GUARD_BYTES + 4L * data.length);
                MemorySegment.copy(seg, ValueLayout.JAVA_FLOAT, GUARD_BYTES, data, 0, data.length);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    @Override
    public Tensor scratch(int... shape) {
        return Tensor.full(Device.CPU, Float.NaN, shape);
    }

    @Override
    public int multiprocessors() {
        return multiprocessors;
    }

    private static MemorySegment guarded(Arena arena, float[] data) {
        MemorySegment seg = arena.allocate(2 * GUARD_BYTES + 4L * data.length, 256);
        for (long o = 0; o < GUARD_BYTES; o += 4) {
            seg.set(ValueLayout.JAVA_INT_UNALIGNED, o, GUARD_BITS);
            seg.set(ValueLayout.JAVA_INT_UNALIGNED, GUARD_BYTES + 4L * data.length + o, GUARD_BITS);
        }
        MemorySegment.copy(data, 0, seg, ValueLayout.JAVA_FLOAT, GUARD_BYTES, data.length);
        return seg;
    }

    private static void checkGuard(String kernel, MemorySegment seg, long from) {
        for (long o = 0; o < GUARD_BYTES; o += 4)
            if (seg.get(ValueLayout.JAVA_INT_UNALIGNED, from + o) != GUARD_BITS)
                throw new AssertionError(kernel + " wrote outside a tensor's storage (" + (from == 0 ? "before its start" : "past its end") + ")");
    }

    private static final class CompilerMissing extends IOException {
        CompilerMissing(String message) {
            super(message);
        }
    }

    /** Compiles the emulator library when it is missing or older than its sources. */
    private static void build() throws IOException {
        Path cuda = MODULE.resolve("src/main/cuda"), cpp = MODULE.resolve("src/test/cpp");
        if (!Files.isDirectory(cuda) || !Files.isDirectory(cpp)) throw new IOException("sources not found under " + MODULE);
        List<Path> sources = new ArrayList<>();
        for (Path dir : List.of(cuda, cpp))
            try (Stream<Path> files = Files.list(dir)) {
                files.filter(Files::isRegularFile).forEach(sources::add);
            }
        if (Files.exists(LIBRARY)) {
            long built = Files.getLastModifiedTime(LIBRARY).toMillis();
            boolean stale = false;
            for (Path p : sources) stale |= Files.getLastModifiedTime(p).toMillis() > built;
            if (!stale) return;
        }
        Files.createDirectories(LIBRARY.getParent());
        Path tmp = LIBRARY.resolveSibling("libfusedemu.so.tmp");
        List<String> cmd = List.of("g++", "-std=c++17", "-O2", "-g", "-fPIC", "-shared", "-fno-strict-aliasing",
                "-DFUSED_EMULATION", "-I" + cpp, "-I" + cuda, "-o", tmp.toString(),
                cpp.resolve("emu_runtime.cpp").toString(), cpp.resolve("emu_kernels.cpp").toString());
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new CompilerMissing("g++ not available: " + e.getMessage());
        }
        String log = new String(p.getInputStream().readAllBytes());
        try {
            if (p.waitFor() != 0) throw new IOException("emulator build failed:\n" + log);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while building the emulator");
        }
        Files.move(tmp, LIBRARY, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
}
