package diffir.engine.io;

import diffir.engine.Tensor;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/** Hand-assembled pickles: values decode right, and hostile shapes fail fast with clear messages. */
class PickleTest {
    @TempDir
    Path dir;

    /** A tiny pickle assembler. */
    static final class Asm {
        final ByteArrayOutputStream b = new ByteArrayOutputStream();

        Asm() {
            b.write(0x80);
            b.write(2);
        }

        Asm op(int... codes) {
            for (int c : codes) b.write(c);
            return this;
        }

        Asm str(String s) {
            byte[] u = s.getBytes(StandardCharsets.UTF_8);
            op('X').i32(u.length);
            b.writeBytes(u);
            return this;
        }

        Asm i32(int v) {
            b.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
            return this;
        }

        Asm binint(int v) {
            return op('J').i32(v);
        }

        Asm global(String module, String name) {
            op('c');
            b.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        /** ('storage', torch.FloatStorage, key, 'cpu', numel) as a persistent id. */
        Asm storage(String key, int numel) {
            op('(').str("storage").global("torch", "FloatStorage").str(key).str("cpu").binint(numel).op('t', 'Q');
            return this;
        }

        /** _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()) with one-dimensional size and stride. */
        Asm tensor1d(String key, int numel, int offset, int size, int stride) {
            global("torch._utils", "_rebuild_tensor_v2").op('(');
            storage(key, numel).binint(offset).binint(size).op(0x85).binint(stride).op(0x85, 0x89);
            global("collections", "OrderedDict").op(')', 'R', 't', 'R');
            return this;
        }

        byte[] bytes() {
            return b.toByteArray();
        }
    }

    private static Object load(byte[] pickle) throws IOException {
        return Pickle.load(pickle, Pickle.builtins(), pid -> pid, Path.of("test.pkl"));
    }

    private Path archive(byte[] pickle, float[] storage0) throws IOException {
        return archive(pickle, storage0, null);
    }

    /** A torch.save-like archive: the pickle, storage 0 as float32 and an optional byteorder entry. */
    private Path archive(byte[] pickle, float[] storage0, String byteorder) throws IOException {
        Path p = dir.resolve("a" + Arrays.hashCode(pickle) + byteorder + ".pth");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(p))) {
            z.putNextEntry(new ZipEntry("archive/data.pkl"));
            z.write(pickle);
            if (byteorder != null) {
                z.putNextEntry(new ZipEntry("archive/byteorder"));
                z.write(byteorder.getBytes(StandardCharsets.US_ASCII));
            }
            if (storage0 != null) {
                z.putNextEntry(new ZipEntry("archive/data/0"));
                ByteOrder order = "big".equals(byteorder) ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
                ByteBuffer bb = ByteBuffer.allocate(4 * storage0.length).order(order);
                bb.asFloatBuffer().put(storage0);
                z.write(bb.array());
            }
        }
        return p;
    }

    private static void assertMessage(Class<? extends Throwable> type, String expected, org.junit.jupiter.api.function.Executable run) {
        Throwable e = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> assertThrows(type, run));
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void decodesPlainValues() throws Exception {
        // {'a': [7, -2.5, None, True, 2**70], 'b': (1, 'x'), 'c': b'hi'}
        Asm a = new Asm().op('}', '(');
        a.str("a").op(']', '(').op('K', 7).op('G').op(0xC0, 0x04, 0, 0, 0, 0, 0, 0).op('N', 0x88);
        a.op(0x8a, 9).op(0, 0, 0, 0, 0, 0, 0, 0, 0x40).op('e');
        a.str("b").op('K', 1).op(0x8c, 1, 'x', 0x86);
        a.str("c").op('C', 2, 'h', 'i').op('u', '.');
        Map<?, ?> m = assertInstanceOf(Map.class, load(a.bytes()));
        assertEquals(Arrays.asList(7L, -2.5, null, true, BigInteger.TWO.pow(70)), m.get("a"));
        Pickle.Tuple t = assertInstanceOf(Pickle.Tuple.class, m.get("b"));
        assertEquals(List.of(1L, "x"), t.items());
        assertArrayEquals(new byte[]{'h', 'i'}, (byte[]) m.get("c"));
    }

    @Test
    void rebuildsTensorsFromHandWrittenArchives() throws Exception {
        // {'w': storage[1:7:2]}, a strided view with an offset.
        byte[] p = new Asm().op('}').str("w").tensor1d("0", 8, 1, 3, 2).op('s', '.').bytes();
        Map<String, Tensor> sd = PthReader.readStateDict(archive(p, new float[]{0, 1, 2, 3, 4, 5, 6, 7}));
        assertArrayEquals(new float[]{1, 3, 5}, sd.get("w").toFloatArray());
    }

    @Test
    void honoursTheByteorderEntry() throws Exception {
        byte[] p = new Asm().op('}').str("w").tensor1d("0", 3, 0, 3, 1).op('s', '.').bytes();
        float[] v = {1.5f, -2f, 1e-3f};
        assertArrayEquals(v, PthReader.readStateDict(archive(p, v, "big")).get("w").toFloatArray());
        assertArrayEquals(v, PthReader.readStateDict(archive(p, v, "little")).get("w").toFloatArray());
        assertMessage(CheckpointFormatException.class, "unknown byteorder 'middle'", () -> PthReader.readStateDict(archive(p, v, "middle")));
    }

    @Test
    void cyclicValuesDoNotHang() throws Exception {
        // l = []; l.append(l)
        List<?> l = assertInstanceOf(List.class, load(new Asm().op(']', 'q', 0, 'h', 0, 'a', '.').bytes()));
        assertSame(l, l.get(0));
        // d = {}; d['k'] = d, as a checkpoint: flattening stops at the nesting limit.
        byte[] p = new Asm().op('}', 'q', 0).str("k").op('h', 0, 's', '.').bytes();
        assertMessage(CheckpointFormatException.class, "nested deeper than", () -> PthReader.readStateDict(archive(p, null)));
    }

    @Test
    void deepNestingIsBounded() throws Exception {
        // 200000 nested dicts built without recursion: d0['k'] = d1, d1['k'] = d2, ...
        Asm a = new Asm();
        int depth = 200_000;
        for (int i = 0; i < depth; i++) a.op('}', 'X', 1, 0, 0, 0, 'k');
        a.op('}');
        for (int i = 0; i < depth; i++) a.op('s');
        a.op('.');
        byte[] p = a.bytes();
        assertInstanceOf(Map.class, load(p));
        assertMessage(CheckpointFormatException.class, "nested deeper than", () -> PthReader.readStateDict(archive(p, null)));
    }

    @Test
    void sizesAreBoundedByTheBytesPresent() {
        assertMessage(CheckpointFormatException.class, "needs 2147483647 bytes",
                () -> load(new Asm().op('X').i32(Integer.MAX_VALUE).bytes()));
        assertMessage(CheckpointFormatException.class, "integer of",
                () -> load(new Asm().op(0x8b).i32(1 << 30).bytes()));
        byte[] marks = new byte[Pickle.MAX_MARKS + 10];
        Arrays.fill(marks, (byte) '(');
        assertMessage(CheckpointFormatException.class, "open marks", () -> load(marks));
        assertMessage(CheckpointFormatException.class, "never stored", () -> load(new Asm().op('h', 3, '.').bytes()));
        assertMessage(CheckpointFormatException.class, "stack underflow", () -> load(new Asm().op('(', 'a', '.').bytes()));
        assertMessage(CheckpointFormatException.class, "without a STOP", () -> load(new Asm().op('N').bytes()));
    }

    @Test
    void tensorsAreBoundedByTheirStorage() throws Exception {
        float[] four = {1, 2, 3, 4};
        // A zero-stride view asking for 2^30 elements of a one-element storage.
        byte[] blowup = new Asm().op('}').str("w").tensor1d("0", 4, 0, 1 << 30, 0).op('s', '.').bytes();
        assertMessage(CheckpointFormatException.class, "far more elements", () -> PthReader.readStateDict(archive(blowup, four)));
        byte[] past = new Asm().op('}').str("w").tensor1d("0", 4, 2, 3, 1).op('s', '.').bytes();
        assertMessage(CheckpointFormatException.class, "reaches past the storage's 4 elements", () -> PthReader.readStateDict(archive(past, four)));
        byte[] lies = new Asm().op('}').str("w").tensor1d("0", 5, 0, 4, 1).op('s', '.').bytes();
        assertMessage(CheckpointFormatException.class, "holds 16 bytes but the checkpoint declares 20", () -> PthReader.readStateDict(archive(lies, four)));
        byte[] huge = new Asm().op('}').str("w").tensor1d("0", Integer.MAX_VALUE, 0, 4, 1).op('s', '.').bytes();
        assertMessage(CheckpointFormatException.class, "over 2 GiB", () -> PthReader.readStateDict(archive(huge, four)));
        // 2^62 elements: numel * itemsize would overflow a long.
        byte[] overflow = new Asm().op('}').str("w").global("torch._utils", "_rebuild_tensor_v2").op('(')
                .op('(').str("storage").global("torch", "FloatStorage").str("0").str("cpu")
                .op(0x8a, 8, 0, 0, 0, 0, 0, 0, 0, 0x40).op('t', 'Q')
                .binint(0).binint(4).op(0x85).binint(1).op(0x85, 0x89).op('}', 't', 'R', 's', '.').bytes();
        assertMessage(CheckpointFormatException.class, "over 2 GiB", () -> PthReader.readStateDict(archive(overflow, four)));
        byte[] missing = new Asm().op('}').str("w").tensor1d("9", 4, 0, 4, 1).op('s', '.').bytes();
        assertMessage(CheckpointFormatException.class, "no entry archive/data/9", () -> PthReader.readStateDict(archive(missing, four)));
    }

    @Test
    void refusesWhatAStateDictNeverHolds() {
        assertMessage(CheckpointFormatException.class, "refusing to load global subprocess.Popen",
                () -> load(new Asm().global("subprocess", "Popen").op('.').bytes()));
        assertMessage(CheckpointFormatException.class, "a list as dict key",
                () -> load(new Asm().op('}', ']', 'N', 's', '.').bytes()));
        // set(l) with l = [l]: hashing l would never end.
        assertMessage(CheckpointFormatException.class, "a list in a set",
                () -> load(new Asm().global("builtins", "set").op(']', 'q', 0, 'h', 0, 'a', 0x85, 'R', '.').bytes()));
        assertMessage(CheckpointFormatException.class, "cannot call a dict",
                () -> load(new Asm().op('}', ')', 'R', '.').bytes()));
        assertMessage(CheckpointFormatException.class, "OrderedDict with arguments",
                () -> load(new Asm().global("collections", "OrderedDict").op('N', 0x85, 'R', '.').bytes()));
        assertMessage(CheckpointFormatException.class, "text opcode 'I'",
                () -> load(new Asm().op('I', '1', '\n', '.').bytes()));
        assertMessage(CheckpointFormatException.class, "pickle protocol 9",
                () -> load(new byte[]{(byte) 0x80, 9, 'N', '.'}));
    }
}
