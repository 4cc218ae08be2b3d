package diffir.model;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.io.SafeTensors;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The PyTorch parity fixtures of app/src/test/resources/parity (written by
 * app/src/test/python/gen_parity.py; see the README there).
 */
final class Parity {
    private Parity() {}

    /** A fixture file as a path. */
    static Path path(String file) {
        URL url = Parity.class.getResource("/parity/" + file);
        if (url == null) throw new IllegalStateException("parity fixture " + file + " missing: run /usr/bin/python3 app/src/test/python/gen_parity.py");
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The tensors of {@code <name>.safetensors}; meta receives its metadata. */
    static Map<String, Tensor> load(String name, Map<String, String> meta) {
        try {
            return SafeTensors.read(path(name + ".safetensors"), Device.CPU, meta);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Map<String, Tensor> load(String name) {
        return load(name, new LinkedHashMap<>());
    }

    static Tensor get(Map<String, Tensor> f, String key) {
        Tensor t = f.get(key);
        if (t == null) throw new IllegalStateException("fixture has no '" + key + "'; keys: " + f.keySet());
        return t;
    }
}
