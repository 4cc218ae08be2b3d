package diffir.engine.io;

import diffir.engine.Shapes;
import diffir.engine.Tensor;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The files gen_io.py writes under fixtures/io/, and exact comparison of what the readers return. */
final class IoFixtures {
    private IoFixtures() {}

    static Path path(String name) {
        URL url = IoFixtures.class.getResource("/fixtures/io/" + name);
        if (url == null) throw new IllegalStateException("fixture io/" + name + " missing: run /usr/bin/python3 engine/src/test/python/gen_io.py");
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The float32 reference values gen_io.py saved for a file. */
    static Map<String, Tensor> ref(String name) throws Exception {
        return SafeTensors.read(path(name + "_ref.safetensors"));
    }

    /** Same names in the same order, same shapes, bit-identical values. */
    static void assertSameTensors(Map<String, Tensor> expected, Map<String, Tensor> actual) {
        assertEquals(new ArrayList<>(expected.keySet()), new ArrayList<>(actual.keySet()), "tensor names");
        expected.forEach((k, e) -> assertSameValues(e, actual.get(k), k));
    }

    static void assertSameValues(Tensor expected, Tensor actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape " + Shapes.str(actual.shape()));
        assertArrayEquals(expected.toFloatArray(), actual.toFloatArray(), what + ": values");
    }
}
