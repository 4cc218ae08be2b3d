package diffir.engine.io;

import diffir.engine.Device;
import diffir.engine.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.SplittableRandom;

import static diffir.engine.io.IoFixtures.assertSameValues;
import static diffir.engine.io.IoFixtures.path;
import static diffir.engine.io.IoFixtures.ref;
import static org.junit.jupiter.api.Assertions.*;

class NpyTest {
    @TempDir
    Path dir;

    @Test
    void readsWhatNumpyWrites() throws Exception {
        Map<String, Tensor> expected = ref("npy");
        for (var e : expected.entrySet()) assertSameValues(e.getValue(), Npy.read(path(e.getKey() + ".npy")), e.getKey());
        // Header versions 2.0 and 3.0 hold the same array as f4_2d.
        assertSameValues(expected.get("f4_2d"), Npy.read(path("f4_v2.npy")), "version 2.0");
        assertSameValues(expected.get("f4_2d"), Npy.read(path("f4_v3.npy")), "version 3.0");
    }

    @Test
    void roundTripsExactly() throws Exception {
        SplittableRandom rng = new SplittableRandom(3);
        for (int[] shape : new int[][]{{2, 3, 5}, {7}, {}, {0, 4}, {1, 1, 3, 1}}) {
            Tensor t = Tensor.randn(Device.CPU, rng, shape);
            Path p = dir.resolve("a" + shape.length + ".npy");
            Npy.write(p, t);
            assertSameValues(t, Npy.read(p), Arrays.toString(shape));
        }
    }

    @Test
    void writesNumpysHeaderLayout() throws Exception {
        Path p = dir.resolve("h.npy");
        Npy.write(p, Tensor.zeros(Device.CPU, 5));
        byte[] b = Files.readAllBytes(p);
        int headerLen = (b[8] & 0xff) | (b[9] & 0xff) << 8;
        String header = new String(b, 10, headerLen, StandardCharsets.ISO_8859_1);
        assertEquals("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", header.trim());
        assertEquals(0, (10 + headerLen) % 64, "data 64-byte aligned");
        assertEquals('\n', header.charAt(header.length() - 1));
        assertEquals(10 + headerLen + 20, b.length);
        Npy.write(p, Tensor.zeros(Device.CPU, 2, 3));
        assertTrue(new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1).contains("'shape': (2, 3), }"));
    }

    @Test
    void refusesUnsupportedArraysClearly() {
        assertMessage("bad_fortran.npy", "Fortran order");
        assertMessage("bad_complex.npy", "dtype '<c8'");
        assertMessage("bad_structured.npy", "structured");
    }

    @Test
    void refusesDamagedFiles() throws Exception {
        byte[] good = Files.readAllBytes(path("f4_2d.npy"));
        assertDamaged(Arrays.copyOf(good, good.length - 1), "truncated");
        assertDamaged(Arrays.copyOf(good, 40), "header");
        assertDamaged(Arrays.copyOf(good, 4), "not a .npy file");
        byte[] v9 = good.clone();
        v9[6] = 9;
        assertDamaged(v9, "version 9.0");
        byte[] badShape = new String(good, StandardCharsets.ISO_8859_1).replace("(3, 5)", "(3,-5)").getBytes(StandardCharsets.ISO_8859_1);
        assertDamaged(badShape, "bad dimension -5");
        byte[] huge = new String(good, StandardCharsets.ISO_8859_1).replace("(3, 5)", "(99999999999)").getBytes(StandardCharsets.ISO_8859_1);
        assertDamaged(Arrays.copyOf(huge, good.length), "bad dimension");
    }

    private void assertDamaged(byte[] bytes, String expected) throws Exception {
        Path p = dir.resolve("damaged.npy");
        Files.write(p, bytes);
        var e = assertThrows(CheckpointFormatException.class, () -> Npy.read(p));
        assertTrue(e.getMessage().contains(expected) && e.getMessage().contains("damaged.npy"), e.getMessage());
    }

    private static void assertMessage(String file, String expected) {
        var e = assertThrows(CheckpointFormatException.class, () -> Npy.read(path(file)));
        assertTrue(e.getMessage().contains(expected) && e.getMessage().contains(file), e.getMessage());
    }
}
