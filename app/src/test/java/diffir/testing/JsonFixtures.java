package diffir.testing;

import diffir.engine.io.Json;
import diffir.image.Image;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Reference values written by app/src/test/python/gen_*.py as JSON under /fixtures. */
public final class JsonFixtures {
    private JsonFixtures() {}

    @SuppressWarnings("unchecked")
    public static List<Map<String, Object>> cases(String name) {
        try (InputStream in = JsonFixtures.class.getResourceAsStream("/fixtures/" + name + ".json")) {
            if (in == null) throw new IllegalStateException("fixture " + name + ".json missing: run /usr/bin/python3 app/src/test/python/gen_all.py");
            Map<String, Object> root = (Map<String, Object>) Json.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            return (List<Map<String, Object>>) root.get("cases");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A JSON number list as float32 (the fixtures hold float32 values exactly). */
    public static float[] floats(Object list) {
        List<?> l = (List<?>) list;
        float[] out = new float[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = (float) ((Number) l.get(i)).doubleValue();
        return out;
    }

    public static int[] ints(Object list) {
        List<?> l = (List<?>) list;
        int[] out = new int[l.size()];
        for (int i = 0; i < out.length; i++) out[i] = ((Number) l.get(i)).intValue();
        return out;
    }

    public static double number(Object v) {
        return ((Number) v).doubleValue();
    }

    /** An image from a CHW shape list and a flat value list. */
    public static Image image(Object shape, Object values) {
        int[] s = ints(shape);
        return new Image(s[0], s[1], s[2], floats(values));
    }
}
