package diffir.engine.io;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.cpu.CpuStorage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * NumPy's .npy array files. Reading accepts format versions 1.0, 2.0 and 3.0, C order, and float16/32/64,
 * signed and unsigned integers and bools in either byte order, all converted to float32. Writing
 * produces version 1.0 little-endian float32 in C order, atomically.
 */
public final class Npy {
    private Npy() {}

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int MAX_HEADER = 1 << 20;

    /** Reads an array onto the CPU. */
    public static Tensor read(Path file) throws IOException {
        return read(file, Device.CPU);
    }

    public static Tensor read(Path file, Device device) throws IOException {
        if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString(), null, "no such file");
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer pre = readAt(ch, 0, (int) Math.min(size, 12), file);
            if (size < 10 || !startsWithMagic(pre))
                throw new CheckpointFormatException(file, "is not a .npy file (no \\x93NUMPY signature)");
            int major = pre.get(6) & 0xff, minor = pre.get(7) & 0xff;
            if (major < 1 || major > 3 || minor != 0)
                throw new CheckpointFormatException(file, ".npy format version " + major + "." + minor + " is not supported (1.0, 2.0 and 3.0 are)");
            long headerLen, headerAt;
            if (major == 1) {
                headerLen = pre.order(ByteOrder.LITTLE_ENDIAN).getShort(8) & 0xffff;
                headerAt = 10;
            } else {
                if (size < 12) throw new CheckpointFormatException(file, "is truncated inside its .npy preamble");
                headerLen = pre.order(ByteOrder.LITTLE_ENDIAN).getInt(8) & 0xffffffffL;
                headerAt = 12;
            }
            if (headerLen > MAX_HEADER || headerAt + headerLen > size)
                throw new CheckpointFormatException(file, ".npy header of " + headerLen + " bytes does not fit the file's " + size + " bytes");
            ByteBuffer hb = readAt(ch, headerAt, (int) headerLen, file);
            // Versions 1 and 2 use latin-1 headers, version 3 UTF-8; both are ASCII in practice.
            String text = new String(hb.array(), major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
            Header h = Header.parse(text, file);
            long dataAt = headerAt + headerLen;
            int n = ShapeCheck.numel(file, "array", h.shape);
            long bytes = (long) n * h.dtype.size;
            if (bytes != size - dataAt)
                throw new CheckpointFormatException(file, "holds " + (size - dataAt) + " data bytes but " + ShapeCheck.describe(h.shape)
                        + " of " + h.descr + " needs " + bytes + (bytes > size - dataAt ? " (truncated?)" : ""));
            if (bytes > ShapeCheck.MAX_NUMEL) throw new CheckpointFormatException(file, "arrays over 2 GiB are not supported");
            float[] v = new float[n];
            h.dtype.decode(readAt(ch, dataAt, (int) bytes, file).order(h.order), v);
            Tensor t = new Tensor(ShapeCheck.toInt(h.shape), new CpuStorage(v), 0, Device.CPU);
            return t.to(device);
        }
    }

    /** Writes t as little-endian float32 in C order (version 1.0), atomically. */
    public static void write(Path file, Tensor t) throws IOException {
        float[] v = t.toFloatArray();
        StringBuilder shape = new StringBuilder("(");
        for (int d : t.shape()) shape.append(d).append(", ");
        if (t.rank() > 1) shape.setLength(shape.length() - 2);
        else if (t.rank() == 1) shape.setLength(shape.length() - 1); // "(5,)"
        shape.append(')');
        StringBuilder header = new StringBuilder("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }");
        // Pad with spaces so the data starts 64-byte aligned; the header ends with a newline.
        int total = 10 + header.length() + 1;
        header.append(" ".repeat((64 - total % 64) % 64)).append('\n');
        byte[] h = header.toString().getBytes(StandardCharsets.ISO_8859_1);
        if (h.length > 65535) throw new IllegalArgumentException("shape of rank " + t.rank() + " makes a .npy header over 64 KiB");
        AtomicFiles.write(file, os -> {
            ByteBuffer pre = ByteBuffer.allocate(10).order(ByteOrder.LITTLE_ENDIAN);
            pre.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) h.length);
            os.write(pre.array());
            os.write(h);
            ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < v.length; ) {
                b.clear();
                int m = Math.min(v.length - i, b.capacity() / 4);
                b.asFloatBuffer().put(v, i, m);
                os.write(b.array(), 0, 4 * m);
                i += m;
            }
        });
    }

    private static boolean startsWithMagic(ByteBuffer b) {
        if (b.limit() < MAGIC.length) return false;
        for (int i = 0; i < MAGIC.length; i++) if (b.get(i) != MAGIC[i]) return false;
        return true;
    }

    private static ByteBuffer readAt(FileChannel ch, long pos, int n, Path file) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b, pos + b.position()) < 0) throw new CheckpointFormatException(file, "is truncated");
        }
        return b.flip();
    }

    /** The header dict: {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }. */
    private record Header(String descr, Dtype dtype, ByteOrder order, long[] shape) {
        static Header parse(String text, Path file) throws CheckpointFormatException {
            Map<String, Object> d = new Literal(text, file).dict();
            if (!(d.get("descr") instanceof String descr))
                throw new CheckpointFormatException(file, "has a structured or missing dtype ('descr'); only plain numeric arrays are supported");
            if (!(d.get("fortran_order") instanceof Boolean fortran))
                throw new CheckpointFormatException(file, ".npy header lacks 'fortran_order'");
            if (fortran)
                throw new CheckpointFormatException(file, "is in Fortran order; only C-order arrays are supported (save np.ascontiguousarray(a))");
            if (!(d.get("shape") instanceof List<?> dims))
                throw new CheckpointFormatException(file, ".npy header lacks a 'shape' tuple");
            long[] shape = new long[dims.size()];
            for (int i = 0; i < shape.length; i++) {
                if (!(dims.get(i) instanceof Long x)) throw new CheckpointFormatException(file, ".npy shape holds a non-integer");
                shape[i] = x;
            }
            return new Header(descr, dtype(descr, file), order(descr), shape);
        }

        private static Dtype dtype(String descr, Path file) throws CheckpointFormatException {
            Dtype t = descr.length() == 3 ? switch (descr.substring(1)) {
                case "f2" -> Dtype.F16;
                case "f4" -> Dtype.F32;
                case "f8" -> Dtype.F64;
                case "i1" -> Dtype.I8;
                case "u1" -> Dtype.U8;
                case "b1" -> Dtype.BOOL;
                case "i2" -> Dtype.I16;
                case "u2" -> Dtype.U16;
                case "i4" -> Dtype.I32;
                case "u4" -> Dtype.U32;
                case "i8" -> Dtype.I64;
                case "u8" -> Dtype.U64;
                default -> null;
            } : null;
            if (t == null || "<>|=".indexOf(descr.charAt(0)) < 0)
                throw new CheckpointFormatException(file, "has dtype '" + descr + "'; only float16/32/64, integer and bool arrays are supported");
            return t;
        }

        private static ByteOrder order(String descr) {
            return switch (descr.charAt(0)) {
                case '>' -> ByteOrder.BIG_ENDIAN;
                case '=' -> ByteOrder.nativeOrder();
                default -> ByteOrder.LITTLE_ENDIAN;
            };
        }
    }

    /**
     * The Python literal subset .npy headers use: one dict of quoted string keys to strings,
     * True/False/None, integers (an old 'L' suffix allowed) and flat tuples or lists.
     */
    private static final class Literal {
        private final String s;
        private final Path file;
        private int i;

        Literal(String s, Path file) {
            this.s = s;
            this.file = file;
        }

        private CheckpointFormatException error(String what) {
            return new CheckpointFormatException(file, "bad .npy header at character " + i + ": " + what);
        }

        Map<String, Object> dict() throws CheckpointFormatException {
            expect('{');
            Map<String, Object> m = new LinkedHashMap<>();
            while (!peekIs('}')) {
                String k = string();
                expect(':');
                m.put(k, value(0));
                if (!peekIs('}')) expect(',');
            }
            expect('}');
            ws();
            if (i != s.length()) throw error("text after the dict");
            return m;
        }

        private Object value(int depth) throws CheckpointFormatException {
            ws();
            if (i >= s.length()) throw error("unexpected end");
            char c = s.charAt(i);
            if (c == '\'' || c == '"') return string();
            if (c == '(' || c == '[') {
                if (depth > 8) throw error("nested too deeply");
                return sequence(c == '(' ? ')' : ']', depth + 1);
            }
            if (s.startsWith("True", i)) { i += 4; return Boolean.TRUE; }
            if (s.startsWith("False", i)) { i += 5; return Boolean.FALSE; }
            if (s.startsWith("None", i)) { i += 4; return null; }
            int start = i;
            if (c == '-' || c == '+') i++;
            while (i < s.length() && Character.isDigit(s.charAt(i)) && i - start < 20) i++;
            if (i == start || (i == start + 1 && !Character.isDigit(c))) throw error("unexpected '" + c + "'");
            long v;
            try {
                v = Long.parseLong(s.substring(start, i));
            } catch (NumberFormatException e) {
                throw error("bad integer");
            }
            if (i < s.length() && (s.charAt(i) == 'L' || s.charAt(i) == 'l')) i++;
            return v;
        }

        private List<Object> sequence(char close, int depth) throws CheckpointFormatException {
            i++;
            List<Object> items = new ArrayList<>();
            while (!peekIs(close)) {
                items.add(value(depth));
                if (!peekIs(close)) expect(',');
            }
            expect(close);
            return items;
        }

        private String string() throws CheckpointFormatException {
            ws();
            if (i >= s.length() || (s.charAt(i) != '\'' && s.charAt(i) != '"')) throw error("expected a quoted string");
            char q = s.charAt(i++);
            int end = s.indexOf(q, i);
            if (end < 0) throw error("unterminated string");
            String v = s.substring(i, end);
            i = end + 1;
            return v;
        }

        private boolean peekIs(char c) throws CheckpointFormatException {
            ws();
            if (i >= s.length()) throw error("unexpected end");
            return s.charAt(i) == c;
        }

        private void expect(char c) throws CheckpointFormatException {
            if (!peekIs(c)) throw error("expected '" + c + "'");
            i++;
        }

        private void ws() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
        }
    }
}
