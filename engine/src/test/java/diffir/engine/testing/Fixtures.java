package diffir.engine.testing;

import diffir.engine.Tensor;
import diffir.engine.io.SafeTensors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.util.Map;

/**
 * Loads reference fixtures written by engine/src/test/python/gen_*.py (PyTorch, float64 math,
 * stored as float32) from the test resources: {@code /fixtures/<name>.safetensors}.
 */
public final class Fixtures {
    private Fixtures() {}

    public static Map<String, Tensor> load(String name) {
        URL url = Fixtures.class.getResource("/fixtures/" + name + ".safetensors");
        if (url == null) throw new IllegalStateException("fixture " + name + " missing: run /usr/bin/python3 engine/src/test/python/gen_all.py");
        try {
            if (url.getProtocol().equals("file")) return SafeTensors.read(Path.of(url.toURI()));
            // Inside a jar (another module's test class path): read through a temporary copy.
            Path tmp = java.nio.file.Files.createTempFile("fixture-" + name, ".safetensors");
            try (var in = url.openStream()) {
                java.nio.file.Files.copy(in, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                return SafeTensors.read(tmp);
            } finally {
                java.nio.file.Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A fixture tensor by key, failing clearly when absent. */
    public static Tensor get(Map<String, Tensor> f, String key) {
        Tensor t = f.get(key);
        if (t == null) throw new IllegalStateException("fixture has no '" + key + "'; keys: " + f.keySet());
        return t;
    }
}
