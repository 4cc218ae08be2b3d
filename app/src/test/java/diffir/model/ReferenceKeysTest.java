package diffir.model;

import diffir.engine.Tensor;
import diffir.engine.io.Json;
import diffir.engine.nn.Init;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Freshly built published models have exactly the reference checkpoints' state-dict keys, in order, with
 * their shapes (parity/reference_keys.json.gz, from the PyTorch reference checked against upstream),
 * and their configs read back from those keys.
 */
class ReferenceKeysTest {
    private static Map<?, ?> reference() throws IOException {
        try (InputStream in = new GZIPInputStream(ReferenceKeysTest.class.getResourceAsStream("/parity/reference_keys.json.gz"))) {
            return (Map<?, ?>) Json.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    @ParameterizedTest
    @CsvSource({"gopro,gopro,S2", "gopro,gopro,S1", "realsr_x4,realsr-x4,S2", "realsr_x4,realsr-x4,S1",
            "realsr_x2,realsr-x2,S2", "realsr_x2,realsr-x2,S1", "realsr_x1,realsr-x1,S2", "realsr_x1,realsr-x1,S1",
            "inpaint_place2,inpainting,S2", "inpaint_place2,inpainting,S1"})
    void keysShapesAndConfigMatchTheReference(String name, String preset, Stage stage) throws IOException {
        Map<?, ?> entry = (Map<?, ?>) reference().get(name + "_" + stage.name().toLowerCase());
        ArchConfig cfg = ArchConfig.preset(preset);
        assertEquals(ArchConfig.fromJson(Json.write(entry.get("config"))), cfg, name + ": the preset is the published config");

        List<String> expected = new ArrayList<>();
        for (Object kv : (List<?>) entry.get("keys")) {
            List<?> pair = (List<?>) kv;
            expected.add(pair.get(0) + " " + pair.get(1));
        }
        DiffIRModel model = DiffIRModel.create(stage, cfg, Init.cpu(1));
        Map<String, Tensor> sd = model.stateDict();
        List<String> actual = new ArrayList<>();
        sd.forEach((k, v) -> actual.add(k + " " + shape(v)));
        assertEquals(expected, actual, name + " " + stage + ": state-dict keys and shapes");

        assertEquals(stage, Stage.of(sd));
        assertEquals(cfg, ArchConfig.fromStateDict(sd), name + " " + stage + ": config read back from the keys");
    }

    private static String shape(Tensor t) {
        List<Long> s = new ArrayList<>();
        for (int d : t.shape()) s.add((long) d);
        return s.toString();
    }
}
