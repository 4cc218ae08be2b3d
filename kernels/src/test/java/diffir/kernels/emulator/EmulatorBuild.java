package diffir.kernels.emulator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Builds the CPU emulator (src/test/emu) with the machine's g++ into target/emu: every
 * {@code src/main/cuda/*.cu} and the emulator's own check kernels compiled as C++ against
 * {@code cuda_emu.h}, linked with {@code emu_runtime.cpp} into one shared library; beside it the
 * stand-ins for cuBLAS and cuDNN. Up-to-date outputs are reused. Missing tools (g++, gcc, libffi's
 * header) make the emulator {@link EmulatedDevice.Unavailable}; a source that does not compile is an error.
 */
final class EmulatorBuild {
    private EmulatorBuild() {}

    record Result(Path library, Path libDir) {}

    private static Result built;
    private static RuntimeException failure;

    static synchronized Result get() {
        if (built != null) return built;
        if (failure != null) throw failure;
        try {
            built = build();
            return built;
        } catch (EmulatedDevice.Unavailable e) {
            failure = e;
        } catch (IOException | RuntimeException e) {
            failure = new IllegalStateException("building the CUDA emulator failed: " + e.getMessage(), e);
        }
        throw failure;
    }

    private static Path property(String key, String fallback) {
        return Path.of(System.getProperty(key, fallback)).toAbsolutePath();
    }

    private static Result build() throws IOException {
        Path cuda = property("diffir.kernels.source", "src/main/cuda");
        Path emu = property("diffir.kernels.emulator.source", "src/test/emu");
        Path out = property("diffir.kernels.emulator.build", "target/emu");
        Path libDir = out.resolve("lib");
        Files.createDirectories(libDir);
        String gxx = tool("g++"), gcc = tool("gcc");
        Path header = emu.resolve("cuda_emu.h");
        FileTime headers = newer(newest(cuda, ".cuh"), Files.getLastModifiedTime(header));

        List<Path> sources = new ArrayList<>(list(cuda, ".cu"));
        sources.add(emu.resolve("emu_checks.cu"));
        List<Path> objects = new ArrayList<>();
        for (Path cu : sources) {
            Path obj = out.resolve(cu.getFileName().toString().replace(".cu", ".o"));
            if (stale(obj, headers, cu))
                compile(List.of(gxx, "-std=c++20", "-O2", "-fno-strict-aliasing", "-fstack-clash-protection", "-g", "-fPIC",
                        "-Wno-unknown-pragmas", "-DDIFFIR_EMULATOR", "-include", header.toString(), "-I" + cuda, "-x", "c++",
                        "-c", cu.toString(), "-o", obj.toString()), obj, cu);
            objects.add(obj);
        }
        Path runtime = out.resolve("emu_runtime.o");
        Path runtimeSource = emu.resolve("emu_runtime.cpp");
        if (stale(runtime, Files.getLastModifiedTime(header), runtimeSource))
            compile(List.of(gxx, "-std=c++20", "-O2", "-g", "-fPIC", "-c", runtimeSource.toString(), "-o", runtime.toString()),
                    runtime, runtimeSource);
        objects.add(runtime);

        Path lib = out.resolve("libdiffir_emu.so");
        if (!Files.exists(lib) || Files.getLastModifiedTime(lib).compareTo(newest(objects)) < 0) {
            List<String> cmd = new ArrayList<>(List.of(gxx, "-shared", "-o", lib.toString()));
            for (Path o : objects) cmd.add(o.toString());
            cmd.addAll(List.of("-lffi", "-lpthread"));
            String err = run(cmd);
            if (err != null) throw new IOException("linking the emulator failed: " + err);
        }
        fakeLibrary(gcc, emu.resolve("fake_cublaslt.c"), libDir.resolve("libcublasLt.so.13"), List.of());
        fakeLibrary(gcc, emu.resolve("fake_cublas.c"), libDir.resolve("libcublas.so.13"), List.of(libDir.resolve("libcublasLt.so.13")));
        fakeLibrary(gcc, emu.resolve("fake_cudnn_ops.c"), libDir.resolve("libcudnn_ops.so.9"), List.of());
        fakeLibrary(gcc, emu.resolve("fake_cudnn.c"), libDir.resolve("libcudnn.so.9"), List.of());
        return new Result(lib, libDir);
    }

    private static void compile(List<String> cmd, Path obj, Path source) throws IOException {
        String err = run(cmd);
        if (err == null) return;
        Files.deleteIfExists(obj);
        if (err.contains("ffi.h")) throw new EmulatedDevice.Unavailable("libffi's header ffi.h not found (install libffi-dev)");
        throw new IOException("compiling " + source.getFileName() + " failed:\n" + err);
    }

    /** A shared library with its soname set (the loader matches bare-name dlopens against it). */
    private static void fakeLibrary(String gcc, Path source, Path target, List<Path> needs) throws IOException {
        if (Files.exists(target) && Files.getLastModifiedTime(target).compareTo(Files.getLastModifiedTime(source)) >= 0) return;
        List<String> cmd = new ArrayList<>(List.of(gcc, "-O1", "-fPIC", "-shared", "-Wl,-soname," + target.getFileName(),
                "-o", target.toString(), source.toString()));
        for (Path n : needs) cmd.add(n.toString());
        cmd.add("-ldl");
        cmd.add("-lm");
        String err = run(cmd);
        if (err != null) throw new IOException("building " + target.getFileName() + " failed: " + err);
    }

    private static boolean stale(Path obj, FileTime headers, Path source) throws IOException {
        if (!Files.exists(obj)) return true;
        FileTime t = Files.getLastModifiedTime(obj);
        return t.compareTo(Files.getLastModifiedTime(source)) < 0 || t.compareTo(headers) < 0;
    }

    private static List<Path> list(Path dir, String suffix) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(suffix)).sorted().toList();
        }
    }

    private static FileTime newest(Path dir, String suffix) throws IOException {
        return newest(list(dir, suffix));
    }

    private static FileTime newest(List<Path> files) throws IOException {
        FileTime best = FileTime.fromMillis(0);
        for (Path p : files) best = newer(best, Files.getLastModifiedTime(p));
        return best;
    }

    private static FileTime newer(FileTime a, FileTime b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    private static String tool(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) return p.toString();
        }
        throw new EmulatedDevice.Unavailable(name + " not found on the PATH");
    }

    /** Runs a command; null on success, else its output. */
    private static String run(List<String> cmd) throws IOException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        try {
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "timed out: " + String.join(" ", cmd);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
        return p.exitValue() == 0 ? null : output.isBlank() ? "exit " + p.exitValue() : output;
    }
}
