package diffir.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The compiled kernel modules packed in the jar: {@code diffir/kernels/cuda/*.fatbin}, listed by the
 * build in {@code modules.txt}. Empty when the module was built without nvcc.
 */
final class Fatbins {
    private Fatbins() {}

    private static final String DIR = "/diffir/kernels/cuda/";

    /** Module file names, in build order; empty when none were compiled. */
    static List<String> names() {
        try (InputStream in = Fatbins.class.getResourceAsStream(DIR + "modules.txt")) {
            if (in == null) return List.of();
            List<String> out = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\\R")) {
                String n = line.strip();
                if (n.endsWith(".fatbin")) out.add(n);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + DIR + "modules.txt", e);
        }
    }

    /** Each module's bytes by file name. */
    static Map<String, byte[]> load() {
        Map<String, byte[]> out = new LinkedHashMap<>();
        for (String n : names()) {
            try (InputStream in = Fatbins.class.getResourceAsStream(DIR + n)) {
                if (in == null) throw new IllegalStateException("kernel module " + DIR + n + " listed in modules.txt but missing from the jar");
                out.put(n, in.readAllBytes());
            } catch (IOException e) {
                throw new UncheckedIOException("reading kernel module " + DIR + n, e);
            }
        }
        return out;
    }
}
