package diffir.kernels.ffm;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Finds and opens NVIDIA's shared libraries (cuBLAS, cuDNN) for FFM downcalls, whichever major version
 * the machine has. Where they come with a Python stack (pip's {@code nvidia/*}/lib folders) they are not
 * on the loader path, so besides {@code -Ddiffir.cuda.libpath}, LD_LIBRARY_PATH and the system
 * directories this searches the usual site-packages locations.
 */
public final class NativeLibraries {
    private NativeLibraries() {}

    /** An opened library: where it was found and its symbols. */
    public record Opened(String soname, Path path, SymbolLookup symbols) {}

    private static final String[] SYSTEM_DIRS = {
            "/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib",
            "/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu"};

    private static final String[] PYTHON_ROOTS = {
            "/usr/lib/python3*/site-packages", "/usr/lib/python3*/dist-packages",
            "/usr/local/lib/python3*/site-packages", "/usr/local/lib/python3*/dist-packages",
            "/opt/*/.venv/lib/python3*/site-packages", "/opt/*/venv/lib/python3*/site-packages",
            "/opt/*/lib/python3*/site-packages", "/opt/conda/lib/python3*/site-packages",
            "/root/.local/lib/python3*/site-packages", "/home/*/.local/lib/python3*/site-packages"};

    /** Directories searched, in order. */
    public static List<Path> searchPath() {
        Set<Path> dirs = new LinkedHashSet<>();
        addPathList(dirs, System.getProperty("diffir.cuda.libpath"));
        addPathList(dirs, System.getenv("LD_LIBRARY_PATH"));
        for (String d : SYSTEM_DIRS) dirs.add(Path.of(d));
        List<String> roots = new ArrayList<>(List.of(PYTHON_ROOTS));
        for (String env : new String[]{"VIRTUAL_ENV", "CONDA_PREFIX"}) {
            String v = System.getenv(env);
            if (v != null && !v.isBlank()) {
                roots.add(v + "/lib/python3*/site-packages");
                dirs.add(Path.of(v, "lib"));
            }
        }
        for (String root : roots)
            for (Path sp : glob(root)) dirs.addAll(glob(sp + "/nvidia/*/lib"));
        dirs.removeIf(d -> !Files.isDirectory(d));
        return new ArrayList<>(dirs);
    }

    /**
     * Opens the first of {@code sonames} found (directories first, then the system loader by name).
     * Before it, opens from the same directory every file whose name starts with one of
     * {@code companions} (e.g. libcublasLt for libcublas; cuDNN's sub-libraries, which its shim loads
     * by bare name and aborts the process when it cannot find).
     */
    public static Optional<Opened> open(Arena arena, String[] sonames, String... companions) {
        return open(arena, searchPath(), true, sonames, companions);
    }

    /** As {@link #open(Arena, String[], String...)} over the given directories, then the system loader if asked. */
    public static Optional<Opened> open(Arena arena, List<Path> dirs, boolean systemLoader, String[] sonames, String... companions) {
        for (String so : sonames) {
            for (Path d : dirs) {
                Path p = d.resolve(so);
                if (!Files.exists(p)) continue;
                try {
                    openCompanions(arena, d, so, companions);
                    return Optional.of(new Opened(so, p, SymbolLookup.libraryLookup(p, arena)));
                } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                    // A broken or foreign-architecture copy: keep looking.
                }
            }
            if (!systemLoader) continue;
            try {
                return Optional.of(new Opened(so, Path.of(so), SymbolLookup.libraryLookup(so, arena)));
            } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                // Not known to the system loader either.
            }
        }
        return Optional.empty();
    }

    private static void openCompanions(Arena arena, Path dir, String soname, String[] companions) {
        if (companions.length == 0) return;
        String major = soname.substring(soname.indexOf(".so"));
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            List<Path> files = new ArrayList<>();
            for (Path f : ds) {
                String n = f.getFileName().toString();
                if (n.equals(soname) || !n.endsWith(major)) continue;
                for (String c : companions) if (n.startsWith(c)) files.add(f);
            }
            files.sort(null);
            // They depend on one another; load in passes until no more will load.
            boolean progress = true;
            while (progress && !files.isEmpty()) {
                progress = false;
                for (var it = files.iterator(); it.hasNext(); ) {
                    try {
                        SymbolLookup.libraryLookup(it.next(), arena);
                        it.remove();
                        progress = true;
                    } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
                        // Not yet (a dependency comes later) or optional (one the machine lacks).
                    }
                }
            }
        } catch (IOException e) {
            // Unreadable directory: the main library may still open.
        }
    }

    private static void addPathList(Set<Path> dirs, String list) {
        if (list == null) return;
        for (String s : list.split(":")) if (!s.isBlank()) dirs.add(Path.of(s));
    }

    /** Paths matching a pattern whose segments may hold '*' wildcards. */
    static List<Path> glob(String pattern) {
        List<Path> current = new ArrayList<>(List.of(Path.of("/")));
        for (String seg : pattern.split("/")) {
            if (seg.isEmpty()) continue;
            List<Path> next = new ArrayList<>();
            for (Path base : current) {
                if (!seg.contains("*")) {
                    Path p = base.resolve(seg);
                    if (Files.exists(p)) next.add(p);
                    continue;
                }
                if (!Files.isDirectory(base)) continue;
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(base, seg)) {
                    for (Path p : ds) next.add(p);
                } catch (IOException | SecurityException e) {
                    // Unreadable: skip.
                }
            }
            next.sort(null);
            current = next;
        }
        return current;
    }
}
