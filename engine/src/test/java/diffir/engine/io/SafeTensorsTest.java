package diffir.engine.io;

import diffir.engine.Device;
import diffir.engine.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static diffir.engine.io.IoFixtures.assertSameTensors;
import static org.junit.jupiter.api.Assertions.*;

class SafeTensorsTest {
    @TempDir
    Path dir;

    @Test
    void roundTripsTensorsAndMetadata() throws Exception {
        SplittableRandom rng = new SplittableRandom(1);
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("b.weight", Tensor.randn(Device.CPU, rng, 3, 5));
        t.put("a.scalar", Tensor.scalar(Device.CPU, -2.5f));
        t.put("empty", Tensor.zeros(Device.CPU, 0, 4));
        t.put("odd", Tensor.randn(Device.CPU, rng, 7));
        Path p = dir.resolve("x.safetensors");
        SafeTensors.write(p, t, Map.of("format", "pt"));
        Map<String, String> meta = new LinkedHashMap<>();
        assertSameTensors(t, SafeTensors.read(p, Device.CPU, meta));
        assertEquals(Map.of("format", "pt"), meta);
        assertEquals(Map.of("format", "pt"), SafeTensors.metadata(p));
        // The metadata alone comes from the header: a file whose tensor data is cut off still gives it.
        byte[] all = Files.readAllBytes(p);
        Path cut = dir.resolve("cut.safetensors");
        long hl = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        Files.write(cut, Arrays.copyOf(all, (int) (8 + hl)));
        assertEquals(Map.of("format", "pt"), SafeTensors.metadata(cut));
        assertThrows(CheckpointFormatException.class, () -> SafeTensors.read(cut));
        long headerLen = ByteBuffer.wrap(Files.readAllBytes(p), 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, headerLen % 8, "data stays 8-byte aligned");
    }

    @Test
    void readsHalfBfloatAndDouble() throws Exception {
        // 1.5 in each format: f16 0x3E00, bf16 0x3FC0, f64 0x3FF8000000000000.
        String header = "{\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]},"
                + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[2,4]},"
                + "\"d\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[8,16]}}";
        ByteBuffer data = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN);
        data.putShort(0, (short) 0x3E00).putShort(2, (short) 0x3FC0).putDouble(8, 1.5);
        Map<String, Tensor> t = SafeTensors.read(file(header, data.array()));
        for (String k : new String[]{"h", "b", "d"}) assertEquals(1.5f, t.get(k).item(), k);
    }

    @Test
    void refusesCorruptHeaders() throws Exception {
        byte[] f4 = new byte[24];
        assertCorrupt(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}", f4), "corrupt safetensors header");
        assertCorrupt(file("[1,2]", f4), "not a JSON object");
        assertCorrupt(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,28]}}", f4), "outside the 24 data bytes");
        assertCorrupt(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,24]}}", f4), "24 bytes for shape [2, 2]");
        assertCorrupt(file("{\"x\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]}}", f4), "dtype I64");
        assertCorrupt(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,24]}}", f4), "bad dimension -3");
        assertCorrupt(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[65536,65536,65536,65536],\"data_offsets\":[0,0]}}", f4), "more elements");
        assertCorrupt(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[6]}}", f4), "lacks dtype, shape or data_offsets");
        // A header length past the end of the file, and a file shorter than the length field.
        Path p = dir.resolve("len.safetensors");
        Files.write(p, ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).array());
        assertCorrupt(p, "header length");
        Files.write(p, new byte[5]);
        assertCorrupt(p, "too short");
    }

    @Test
    void refusesTruncatedFiles() throws Exception {
        Map<String, Tensor> t = Map.of("w", Tensor.randn(Device.CPU, new SplittableRandom(2), 4, 4));
        Path p = dir.resolve("t.safetensors");
        SafeTensors.write(p, t);
        byte[] b = Files.readAllBytes(p);
        for (int cut = 0; cut < b.length; cut += 3) {
            Files.write(p, Arrays.copyOf(b, cut));
            assertThrows(CheckpointFormatException.class, () -> SafeTensors.read(p), "cut at " + cut);
        }
    }

    private Path file(String header, byte[] data) throws Exception {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        Path p = dir.resolve("f" + Math.abs(header.hashCode()) + ".safetensors");
        Files.write(p, b.array());
        return p;
    }

    private static void assertCorrupt(Path p, String expected) {
        var e = assertThrows(CheckpointFormatException.class, () -> SafeTensors.read(p));
        assertTrue(e.getMessage().contains(expected) && e.getMessage().contains(p.getFileName().toString()), e.getMessage());
    }
}
