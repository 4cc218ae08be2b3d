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
 * Compiles the project's CUDA sources as C++ for the CPU emulator (with g++, when the machine has it):
 * each {@code src/main/cuda/*.cu} to an object, linked with the emulator runtime into one shared
 * library, plus stand-ins for cuBLAS and cuDNN. Files that do not compile for the emulator are left out
 * with a printed notice (their kernels then report "not found"). Up-to-date outputs are reused.
 */
final class EmulatorBuild {
    private EmulatorBuild() {}

    record Result(Path library, Path libDir, List<String> skipped) {}

    private static Result built;
    private static String failure;

    static synchronized Result get() {
        if (built != null) return built;
        if (failure != null) throw new IllegalStateException(failure);
        try {
            built = build();
            return built;
        } catch (IOException | RuntimeException e) {
            failure = "CUDA emulator unavailable: " + e.getMessage();
            throw new IllegalStateException(failure, e);
        }
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
        FileTime headers = newest(cuda, ".cuh").compareTo(Files.getLastModifiedTime(header)) > 0
                ? newest(cuda, ".cuh") : Files.getLastModifiedTime(header);

        List<Path> objects = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        try (Stream<Path> s = Files.list(cuda)) {
            for (Path cu : s.filter(p -> p.toString().endsWith(".cu")).sorted().toList()) {
                Path obj = out.resolve(cu.getFileName().toString().replace(".cu", ".o"));
                if (stale(obj, headers, cu)) {
                    String err = run(List.of(gxx, "-std=c++20", "-O1", "-g", "-fPIC", "-Wno-unknown-pragmas",
                            "-DDIFFIR_EMULATOR", "-DFUSED_EMULATION", "-include", header.toString(), "-I" + cuda,
                            "-I" + emu, "-x", "c++", "-c",
                            cu.toString(), "-o", obj.toString()));
                    if (err != null) {
                        Files.deleteIfExists(obj);
                        skipped.add(cu.getFileName() + ": " + err.lines().filter(l -> l.contains("error")).findFirst().orElse(err));
                        continue;
                    }
                }
                objects.add(obj);
            }
        }
        Path runtime = out.resolve("emu_runtime.o");
        compileOrFail(gxx, "-std=c++20", emu.resolve("emu_runtime.cpp"), runtime);
        Path lib = out.resolve("libdiffir_emu.so");
        FileTime newestObj = Files.getLastModifiedTime(runtime);
        for (Path o : objects) if (Files.getLastModifiedTime(o).compareTo(newestObj) > 0) newestObj = Files.getLastModifiedTime(o);
        if (!Files.exists(lib) || Files.getLastModifiedTime(lib).compareTo(newestObj) < 0 || !skipped.isEmpty()) {
            List<String> cmd = new ArrayList<>(List.of(gxx, "-shared", "-o", lib.toString()));
            for (Path o : objects) cmd.add(o.toString());
            cmd.add(runtime.toString());
            cmd.add("-lpthread");
            String err = run(cmd);
            if (err != null) throw new IOException("linking the emulator failed: " + err);
        }
        fakeLibrary(gcc, emu.resolve("fake_cublaslt.c"), libDir.resolve("libcublasLt.so.13"), List.of());
        fakeLibrary(gcc, emu.resolve("fake_cublas.c"), libDir.resolve("libcublas.so.13"), List.of(libDir.resolve("libcublasLt.so.13")));
        fakeLibrary(gcc, emu.resolve("fake_cudnn_ops.c"), libDir.resolve("libcudnn_ops.so.9"), List.of());
        fakeLibrary(gcc, emu.resolve("fake_cudnn.c"), libDir.resolve("libcudnn.so.9"), List.of());
        for (String s : skipped) System.out.println("[emulator] left out " + s);
        return new Result(lib, libDir, skipped);
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

    private static void compileOrFail(String gxx, String std, Path source, Path obj) throws IOException {
        if (!stale(obj, Files.getLastModifiedTime(source), source)) return;
        String err = run(List.of(gxx, std, "-O1", "-g", "-fPIC", "-c", source.toString(), "-o", obj.toString()));
        if (err != null) throw new IOException("compiling " + source.getFileName() + " failed: " + err);
    }

    private static boolean stale(Path obj, FileTime headers, Path source) throws IOException {
        if (!Files.exists(obj)) return true;
        FileTime t = Files.getLastModifiedTime(obj);
        return t.compareTo(Files.getLastModifiedTime(source)) < 0 || t.compareTo(headers) < 0;
    }

    private static FileTime newest(Path dir, String suffix) throws IOException {
        FileTime best = FileTime.fromMillis(0);
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.filter(p -> p.toString().endsWith(suffix)).toList()) {
                FileTime t = Files.getLastModifiedTime(p);
                if (t.compareTo(best) > 0) best = t;
            }
        }
        return best;
    }

    private static String tool(String name) throws IOException {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin").split(":")) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) return p.toString();
        }
        throw new IOException(name + " not found on the PATH");
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
