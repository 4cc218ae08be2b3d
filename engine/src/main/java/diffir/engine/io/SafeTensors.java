package diffir.engine.io;

import diffir.engine.Device;
import diffir.engine.Tensor;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header mapping names to
 * {dtype, shape, data_offsets}, then the raw little-endian data. Reads F32, F16, BF16 and F64
 * (converted to float32); writes F32. Writes are atomic (temp file, then rename).
 */
public final class SafeTensors {
    private SafeTensors() {}

    private static final long MAX_HEADER = 100L << 20;

    /** Reads every tensor, in file order, onto the CPU. */
    public static Map<String, Tensor> read(Path file) throws IOException {
        return read(file, Device.CPU);
    }

    public static Map<String, Tensor> read(Path file, Device device) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        return read(file, device, meta);
    }

    /** Reads tensors and fills meta with the header's "__metadata__" strings. */
    public static Map<String, Tensor> read(Path file, Device device, Map<String, String> meta) throws IOException {
        try (FileChannel ch = open(file)) {
            Header h = header(ch, file);
            meta.putAll(h.meta());
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (Map.Entry<?, ?> e : h.entries().entrySet()) {
                String name = (String) e.getKey();
                if (!name.equals("__metadata__")) out.put(name, readTensor(ch, file, name, e.getValue(), h.dataStart(), h.dataLen(), device));
            }
            return out;
        }
    }

    /** Only the header's "__metadata__" strings, without reading any tensor data. */
    public static Map<String, String> metadata(Path file) throws IOException {
        try (FileChannel ch = open(file)) {
            return header(ch, file).meta();
        }
    }

    private record Header(Map<?, ?> entries, Map<String, String> meta, long dataStart, long dataLen) {}

    private static FileChannel open(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new java.nio.file.NoSuchFileException(file.toString(), null, "no such file");
        return FileChannel.open(file, StandardOpenOption.READ);
    }

    private static Header header(FileChannel ch, Path file) throws IOException {
        long size = ch.size();
        if (size < 8) throw new CheckpointFormatException(file, "too short for a safetensors file (" + size + " bytes)");
        ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, lenBuf, 0, file);
        long headerLen = lenBuf.getLong(0);
        if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size)
            throw new CheckpointFormatException(file, "not a safetensors file (header length " + headerLen + " for a file of " + size + " bytes)");
        ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
        readFully(ch, hb, 8, file);
        Object parsed;
        try {
            parsed = Json.parse(new String(hb.array(), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(file, "corrupt safetensors header: " + e.getMessage());
        }
        if (!(parsed instanceof Map<?, ?> header)) throw new CheckpointFormatException(file, "safetensors header is not a JSON object");
        Map<String, String> meta = new LinkedHashMap<>();
        if (header.get("__metadata__") instanceof Map<?, ?> m) m.forEach((k, v) -> meta.put(String.valueOf(k), String.valueOf(v)));
        return new Header(header, meta, 8 + headerLen, size - 8 - headerLen);
    }

    private static Tensor readTensor(FileChannel ch, Path file, String name, Object entry, long dataStart, long dataLen, Device device) throws IOException {
        if (!(entry instanceof Map<?, ?> m)) throw new CheckpointFormatException(file, "entry '" + name + "' is not an object");
        Object dt = m.get("dtype"), sh = m.get("shape"), offs = m.get("data_offsets");
        if (!(dt instanceof String dtype) || !(sh instanceof List<?> shapeList) || !(offs instanceof List<?> offList) || offList.size() != 2)
            throw new CheckpointFormatException(file, "entry '" + name + "' lacks dtype, shape or data_offsets");
        long[] shape = new long[shapeList.size()];
        for (int i = 0; i < shape.length; i++) {
            if (!(shapeList.get(i) instanceof Long d))
                throw new CheckpointFormatException(file, "entry '" + name + "' has a bad shape (dimension " + i + " is not an integer)");
            shape[i] = d;
        }
        if (!(offList.get(0) instanceof Long begin) || !(offList.get(1) instanceof Long end) || begin < 0 || end < begin || end > dataLen)
            throw new CheckpointFormatException(file, "entry '" + name + "' has data offsets " + offList + " outside the " + dataLen + " data bytes (truncated file?)");
        Dtype type = switch (dtype) {
            case "F32" -> Dtype.F32;
            case "F16" -> Dtype.F16;
            case "BF16" -> Dtype.BF16;
            case "F64" -> Dtype.F64;
            default -> throw new CheckpointFormatException(file, "entry '" + name + "' has dtype " + dtype + "; only F32, F16, BF16 and F64 are supported");
        };
        int n = ShapeCheck.numel(file, "entry '" + name + "'", shape);
        if ((long) n * type.size != end - begin)
            throw new CheckpointFormatException(file, "entry '" + name + "' has " + (end - begin) + " bytes for " + ShapeCheck.describe(shape) + " of " + dtype);
        if (end - begin > ShapeCheck.MAX_NUMEL)
            throw new CheckpointFormatException(file, "entry '" + name + "' holds " + (end - begin) + " bytes; entries over 2 GiB are not supported");
        ByteBuffer buf = ByteBuffer.allocate((int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, buf, dataStart + begin, file);
        float[] v = new float[n];
        type.decode(buf, v);
        return Tensor.of(device, v, ShapeCheck.toInt(shape));
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos, Path file) throws IOException {
        while (b.hasRemaining()) {
            int r = ch.read(b, pos + b.position());
            if (r < 0) throw new CheckpointFormatException(file, "truncated: ended early");
        }
        b.flip();
    }

    /** Writes tensors as F32, atomically. */
    public static void write(Path file, Map<String, Tensor> tensors) throws IOException {
        write(file, tensors, Map.of());
    }

    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Map<String, Object> header = new LinkedHashMap<>();
        if (!metadata.isEmpty()) header.put("__metadata__", new LinkedHashMap<>(metadata));
        long at = 0;
        List<float[]> values = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            Tensor t = e.getValue();
            float[] v = t.toFloatArray();
            values.add(v);
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("dtype", "F32");
            List<Long> shape = new ArrayList<>();
            for (int d : t.shape()) shape.add((long) d);
            entry.put("shape", shape);
            entry.put("data_offsets", List.of(at, at + 4L * v.length));
            at += 4L * v.length;
            header.put(e.getKey(), entry);
        }
        byte[] h = Json.write(header).getBytes(StandardCharsets.UTF_8);
        int pad = (8 - h.length % 8) % 8; // keep the data 8-byte aligned, as the reference writer does
        byte[] hp = new byte[h.length + pad];
        System.arraycopy(h, 0, hp, 0, h.length);
        for (int i = h.length; i < hp.length; i++) hp[i] = ' ';
        AtomicFiles.write(file, os -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(hp.length);
            os.write(len.array());
            os.write(hp);
            for (float[] v : values) {
                ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(v);
                os.write(b.array());
            }
        });
    }
}
