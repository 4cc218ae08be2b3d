package diffir.engine.io;

import diffir.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static diffir.engine.io.IoFixtures.assertSameTensors;
import static diffir.engine.io.IoFixtures.path;
import static diffir.engine.io.IoFixtures.ref;
import static org.junit.jupiter.api.Assertions.*;

/** Files written by torch.save (gen_io.py) read back exactly; unsafe or unsupported files refused clearly. */
class PthReaderTest {
    @Test
    void readsAnOrderedDictStateDict() throws Exception {
        Map<String, Tensor> sd = PthReader.readStateDict(path("state_dict.pth"));
        assertSameTensors(ref("state_dict"), sd);
        // BatchNorm's int64 counter comes back as a float scalar.
        assertEquals(17f, sd.get("1.num_batches_tracked").item());
        assertEquals(0, sd.get("1.num_batches_tracked").rank());
    }

    @Test
    void readsProtocol4Pickles() throws Exception {
        assertSameTensors(ref("state_dict"), PthReader.readStateDict(path("protocol4.pth")));
    }

    @Test
    void prefersTheFirstTopLevelKeyPresent() throws Exception {
        Path p = path("params.pth");
        assertSameTensors(ref("params_ema"), PthReader.readStateDict(p, "params_ema", "params"));
        assertSameTensors(ref("params"), PthReader.readStateDict(p, "params", "params_ema"));
        assertSameTensors(ref("params"), PthReader.readStateDict(p, "absent", "params"));
        // With no preferred key present, the top level is flattened itself.
        Map<String, Tensor> all = PthReader.readStateDict(p, "absent");
        assertTrue(all.containsKey("params.0.weight") && all.containsKey("params_ema.3.bias"), all.keySet().toString());
    }

    @Test
    void flattensNestedDictsAndSkipsOtherValues() throws Exception {
        assertSameTensors(ref("nested"), PthReader.readStateDict(path("nested.pth")));
    }

    @Test
    void returnsTheGenericTree() throws Exception {
        Object root = PthReader.read(path("nested.pth"));
        Map<?, ?> m = assertInstanceOf(Map.class, root);
        assertEquals(List.of("a", "e", "step", "name", "flags"), List.copyOf(m.keySet()));
        assertEquals(7L, m.get("step"));
        assertEquals("run", m.get("name"));
        assertEquals(Arrays.asList(1L, 2.5, null), m.get("flags"));
        Map<?, ?> a = assertInstanceOf(Map.class, m.get("a"));
        assertInstanceOf(Tensor.class, assertInstanceOf(Map.class, a.get("b")).get("c"));
    }

    @Test
    void viewsDtypesScalarsAndEmptyTensorsComeOutRight() throws Exception {
        Map<String, Tensor> views = PthReader.readStateDict(path("views.pth"));
        assertSameTensors(ref("views"), views);
        // One tensor pickled once and named twice stays one tensor.
        assertSame(views.get("transposed"), views.get("same_again"));
        assertArrayEquals(new float[]{1, 0, 1}, views.get("bool").toFloatArray());
        assertArrayEquals(new float[]{0, 7, 255}, views.get("uint8").toFloatArray());
        assertArrayEquals(new int[]{2, 0, 3}, views.get("empty_2d").shape());
    }

    @Test
    void refusesDangerousGlobalsByNameWithoutRunningThem() throws Exception {
        Path marker = Path.of("/tmp/diffir_pwned_marker");
        Files.deleteIfExists(marker);
        var e = assertThrows(CheckpointFormatException.class, () -> PthReader.read(path("malicious_os_system.pth")));
        assertTrue(e.getMessage().contains("refusing to load global posix.system"), e.getMessage());
        assertTrue(e.getMessage().contains("malicious_os_system.pth"), e.getMessage());
        assertFalse(Files.exists(marker));

        e = assertThrows(CheckpointFormatException.class, () -> PthReader.read(path("malicious_handmade.pth")));
        assertTrue(e.getMessage().contains("refusing to load global os.system"), e.getMessage());

        e = assertThrows(CheckpointFormatException.class, () -> PthReader.readStateDict(path("malicious_eval.pth")));
        assertTrue(e.getMessage().contains("refusing to load global builtins.eval"), e.getMessage());
        assertFalse(Files.exists(Path.of("/tmp/diffir_pwned_eval")));
    }

    @Test
    void refusesTheLegacyFormatWithAdvice() {
        var e = assertThrows(CheckpointFormatException.class, () -> PthReader.read(path("legacy.pth")));
        assertTrue(e.getMessage().contains("legacy") && e.getMessage().contains("re-save"), e.getMessage());
    }

    @Test
    void refusesOtherFiles() {
        var e = assertThrows(CheckpointFormatException.class, () -> PthReader.read(path("not_torch.zip")));
        assertTrue(e.getMessage().contains("data.pkl"), e.getMessage());
        e = assertThrows(CheckpointFormatException.class, () -> PthReader.read(path("f4_2d.npy")));
        assertTrue(e.getMessage().contains("not a torch.save checkpoint"), e.getMessage());
        assertThrows(NoSuchFileException.class, () -> PthReader.read(Path.of("/nonexistent/model.pth")));
    }

    @Test
    void aStateDictMustHoldTensors() {
        var e = assertThrows(CheckpointFormatException.class, () -> PthReader.readStateDict(path("nested.pth"), "step"));
        assertTrue(e.getMessage().contains("'step' is a int"), e.getMessage());
    }
}
