package diffir.engine.io;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.cpu.CpuStorage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * Reads PyTorch {@code torch.save} files without running Python: a zip archive holding
 * {@code <name>/data.pkl} (a protocol-2 pickle) and one raw storage per tensor under
 * {@code <name>/data/<key>}, plus an optional {@code <name>/byteorder}. The pickle is interpreted by
 * {@link Pickle}, which refuses every global but the few a state dict needs. Tensors come back as
 * float32 CPU tensors (other float, integer and bool types converted), with their storage offset and
 * strides applied, so views and shared storages read right.
 *
 * <p>Everything read is bounded by the file: storage sizes must match their zip entries, views must
 * stay inside their storage, and the tensors together may not hold vastly more elements than the
 * file's bytes (a zero-stride view could otherwise ask for gigabytes). Any malformed, truncated or
 * unsupported file ends in a {@link CheckpointFormatException} naming the file and the problem.
 */
public final class PthReader {
    private PthReader() {}

    /** Storage classes a checkpoint may name, by their pickled global name. */
    private static final Map<String, Dtype> STORAGE_TYPES = Map.of(
            "torch.FloatStorage", Dtype.F32, "torch.DoubleStorage", Dtype.F64,
            "torch.HalfStorage", Dtype.F16, "torch.BFloat16Storage", Dtype.BF16,
            "torch.LongStorage", Dtype.I64, "torch.IntStorage", Dtype.I32,
            "torch.ShortStorage", Dtype.I16, "torch.CharStorage", Dtype.I8,
            "torch.ByteStorage", Dtype.U8, "torch.BoolStorage", Dtype.BOOL);

    /** Deflate never expands more than about 1032:1, which bounds what a compressed entry may claim. */
    private static final long MAX_DEFLATE_RATIO = 1032;

    /** A storage named by a persistent id: its element type, zip entry key and element count. */
    private record StorageRef(Dtype dtype, String key, long numel) {}

    /**
     * The whole pickled object: Java values as described in {@link Pickle}, with {@link Tensor}s
     * (float32, CPU) where the file holds tensors or parameters.
     */
    public static Object read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString(), null, "no such file");
        checkSignature(file);
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (IOException e) {
            throw new CheckpointFormatException(file, "is not a valid zip archive (truncated or corrupt?): " + e, e);
        }
        try (zip) {
            return new Archive(zip, file, Files.size(file)).load();
        } catch (ZipException e) {
            throw new CheckpointFormatException(file, "is not a valid zip archive (truncated or corrupt?): " + e.getMessage(), e);
        }
    }

    /**
     * The tensors of a state dict, by dotted name in file order. The first of preferredTopLevelKeys
     * present at the top level is used (e.g. "params_ema", "params"); when none is, the top-level
     * dict itself. Nested dicts are flattened with '.'; values that are not tensors (step counts,
     * versions) are skipped.
     */
    public static Map<String, Tensor> readStateDict(Path file, String... preferredTopLevelKeys) throws IOException {
        Object root = read(file);
        if (!(root instanceof Map<?, ?> top))
            throw new CheckpointFormatException(file, "holds a " + Pickle.typeName(root) + ", not a dict of tensors");
        Object chosen = top;
        String where = "the top-level dict";
        for (String k : preferredTopLevelKeys) {
            if (top.containsKey(k)) {
                chosen = top.get(k);
                where = "'" + k + "'";
                break;
            }
        }
        if (!(chosen instanceof Map<?, ?> dict))
            throw new CheckpointFormatException(file, where + " is a " + Pickle.typeName(chosen) + ", not a dict of tensors");
        Map<String, Tensor> out = new LinkedHashMap<>();
        flatten(file, dict, "", out, 0);
        if (out.isEmpty()) throw new CheckpointFormatException(file, where + " holds no tensors; top-level keys: " + keysOf(top));
        return out;
    }

    private static final int MAX_NESTING = 32;

    private static void flatten(Path file, Map<?, ?> dict, String prefix, Map<String, Tensor> out, int depth) throws CheckpointFormatException {
        if (depth > MAX_NESTING) throw new CheckpointFormatException(file, "dicts nested deeper than " + MAX_NESTING + " at '" + prefix + "'");
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            String name = prefix + e.getKey();
            if (e.getValue() instanceof Tensor t) {
                if (out.put(name, t) != null) throw new CheckpointFormatException(file, "two tensors are named '" + name + "'");
            } else if (e.getValue() instanceof Map<?, ?> inner) {
                flatten(file, inner, name + ".", out, depth + 1);
            }
        }
    }

    private static String keysOf(Map<?, ?> m) {
        StringBuilder b = new StringBuilder("[");
        int n = 0;
        for (Object k : m.keySet()) {
            if (n > 0) b.append(", ");
            if (n++ == 10) return b.append("...]").toString();
            b.append(k);
        }
        return b.append(']').toString();
    }

    /** Explains files that are not zip archives, legacy torch.save output included. */
    private static void checkSignature(Path file) throws IOException {
        byte[] head = new byte[512];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, head.length);
        }
        if (n >= 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return;
        boolean legacyPickle = n >= 2 && (head[0] & 0xff) == 0x80;
        boolean legacyTar = n >= 262 && new String(head, 257, 5, StandardCharsets.US_ASCII).equals("ustar");
        if (legacyPickle || legacyTar)
            throw new CheckpointFormatException(file, "is in PyTorch's legacy (pre-1.6, non-zip) torch.save format, which is not supported;"
                    + " re-save it with a current PyTorch: torch.save(torch.load(path), new_path)");
        throw new CheckpointFormatException(file, n == 0 ? "is empty" : "is not a torch.save checkpoint (no zip archive signature)");
    }

    /** One open archive: finds the pickle, interprets it and reads storages on demand. */
    private static final class Archive {
        private final ZipFile zip;
        private final Path file;
        private final long fileSize;
        private String prefix;
        private ByteOrder order = ByteOrder.LITTLE_ENDIAN;
        private final Map<String, StorageRef> storages = new HashMap<>();
        private final Map<String, ByteBuffer> rawCache = new HashMap<>();
        private final Map<String, float[]> floatCache = new HashMap<>();
        /** Elements the tensors may still take: a multiple of the file size, see the class comment. */
        private long budget;

        Archive(ZipFile zip, Path file, long fileSize) {
            this.zip = zip;
            this.file = file;
            this.fileSize = fileSize;
            this.budget = (1L << 24) + 16 * fileSize;
        }

        Object load() throws IOException {
            ZipEntry pkl = findPickle();
            prefix = pkl.getName().substring(0, pkl.getName().length() - "data.pkl".length());
            ZipEntry bo = zip.getEntry(prefix + "byteorder");
            if (bo != null) {
                String s = new String(readEntry(bo, -1, 16), StandardCharsets.US_ASCII).trim();
                order = switch (s) {
                    case "little" -> ByteOrder.LITTLE_ENDIAN;
                    case "big" -> ByteOrder.BIG_ENDIAN;
                    default -> throw new CheckpointFormatException(file, "unknown byteorder '" + s + "'");
                };
            }
            byte[] pickle = readEntry(pkl, -1, ShapeCheck.MAX_NUMEL);
            return Pickle.load(pickle, globals(), this::persistentLoad, file);
        }

        private ZipEntry findPickle() throws CheckpointFormatException {
            ZipEntry found = null;
            for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
                ZipEntry e = en.nextElement();
                String n = e.getName();
                if (n.endsWith("/data.pkl") && n.indexOf('/') == n.length() - "/data.pkl".length()) {
                    if (found != null) throw new CheckpointFormatException(file, "holds two pickles, " + found.getName() + " and " + n);
                    found = e;
                }
            }
            if (found == null) throw new CheckpointFormatException(file, "is a zip archive without <name>/data.pkl, so not a torch.save checkpoint");
            return found;
        }

        private Map<String, Pickle.Global> globals() {
            Map<String, Pickle.Global> g = Pickle.builtins();
            for (String name : STORAGE_TYPES.keySet()) g.put(name, new Pickle.Global(name, null));
            put(g, "torch._utils._rebuild_tensor_v2", args -> rebuildTensor(args, 6, 7));
            put(g, "torch._utils._rebuild_tensor", args -> rebuildTensor(args, 4, 4));
            put(g, "torch._utils._rebuild_parameter", args -> parameter(args, 3));
            put(g, "torch._utils._rebuild_parameter_with_state", args -> parameter(args, 4));
            return g;
        }

        private static void put(Map<String, Pickle.Global> g, String name, Pickle.Call call) {
            g.put(name, new Pickle.Global(name, call));
        }

        /** ('storage', storage_type, key, location, numel), as torch.save's persistent_id writes it. */
        private Object persistentLoad(Object pid) throws CheckpointFormatException {
            if (!(pid instanceof Pickle.Tuple t) || t.size() != 5 || !"storage".equals(t.get(0))
                    || !(t.get(1) instanceof Pickle.Global type) || !(t.get(2) instanceof String key)
                    || !(t.get(3) instanceof String) || !(t.get(4) instanceof Long numel))
                throw new CheckpointFormatException(file, "unsupported persistent id (a " + Pickle.typeName(pid)
                        + "); expected ('storage', type, key, location, numel)");
            Dtype dtype = STORAGE_TYPES.get(type.name());
            if (dtype == null) throw new CheckpointFormatException(file, "storage " + key + " has unsupported type " + type.name());
            if (key.length() > 64) throw new CheckpointFormatException(file, "storage key of " + key.length() + " characters");
            if (numel < 0 || numel > ShapeCheck.MAX_NUMEL / dtype.size)
                throw new CheckpointFormatException(file, "storage " + key + " declares " + numel + " elements; storages over 2 GiB are not supported");
            StorageRef ref = new StorageRef(dtype, key, numel);
            StorageRef seen = storages.putIfAbsent(key, ref);
            if (seen != null && !seen.equals(ref))
                throw new CheckpointFormatException(file, "storage " + key + " is declared twice with different types or sizes");
            return ref;
        }

        private Object parameter(Pickle.Tuple args, int arity) throws CheckpointFormatException {
            if (args.size() != arity || !(args.get(0) instanceof Tensor t))
                throw new CheckpointFormatException(file, "a parameter must be rebuilt from a tensor and " + (arity - 1) + " more arguments");
            return t;
        }

        /** _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]). */
        private Tensor rebuildTensor(Pickle.Tuple args, int minArity, int maxArity) throws IOException {
            if (args.size() < minArity || args.size() > maxArity || !(args.get(0) instanceof StorageRef storage)
                    || !(args.get(1) instanceof Long offset) || !(args.get(2) instanceof Pickle.Tuple sizeT)
                    || !(args.get(3) instanceof Pickle.Tuple strideT))
                throw new CheckpointFormatException(file, "a tensor must be rebuilt from (storage, offset, size, stride, ...)");
            String what = "tensor on storage " + storage.key();
            long[] size = longs(sizeT, what + ": size");
            long[] stride = longs(strideT, what + ": stride");
            if (size.length != stride.length)
                throw new CheckpointFormatException(file, what + " has " + size.length + " sizes but " + stride.length + " strides");
            int numel = ShapeCheck.numel(file, what, size);
            budget -= numel;
            if (budget < 0)
                throw new CheckpointFormatException(file, "its tensors hold far more elements than its " + fileSize + " bytes can store (zero-stride views?)");
            if (offset < 0 || offset > storage.numel())
                throw new CheckpointFormatException(file, what + " starts at " + offset + ", outside the storage's " + storage.numel() + " elements");
            if (numel > 0) {
                long last = offset;
                for (int i = 0; i < size.length && last < storage.numel(); i++) {
                    if (stride[i] < 0) throw new CheckpointFormatException(file, what + " has a negative stride");
                    last += (size[i] - 1) * Math.min(stride[i], storage.numel()); // < 2^62 each: no overflow
                }
                if (last >= storage.numel())
                    throw new CheckpointFormatException(file, what + " (offset " + offset + ", " + ShapeCheck.describe(size)
                            + ") reaches past the storage's " + storage.numel() + " elements");
            }
            float[] values = numel == 0 ? new float[0] : gather(storage, offset, size, stride, numel);
            return new Tensor(ShapeCheck.toInt(size), new CpuStorage(values), 0, Device.CPU);
        }

        private long[] longs(Pickle.Tuple t, String what) throws CheckpointFormatException {
            long[] v = new long[t.size()];
            for (int i = 0; i < v.length; i++) {
                if (!(t.get(i) instanceof Long x)) throw new CheckpointFormatException(file, what + " holds a " + Pickle.typeName(t.get(i)));
                v[i] = x;
            }
            return v;
        }

        /** The view's values in row-major order, converted to float32. */
        private float[] gather(StorageRef s, long offset, long[] size, long[] stride, int numel) throws IOException {
            ByteBuffer raw = raw(s); // first: it checks the entry really holds the storage
            float[] out = new float[numel];
            if (isContiguous(size, stride)) {
                s.dtype().decode(raw.position((int) offset * s.dtype().size), out);
                return out;
            }
            float[] all = decoded(s);
            int r = size.length;
            int[] idx = new int[r];
            long at = offset;
            for (int i = 0; i < numel; i++) {
                out[i] = all[(int) at];
                for (int k = r - 1; k >= 0; k--) { // odometer over the view's index space
                    at += stride[k];
                    if (++idx[k] < size[k]) break;
                    at -= stride[k] * size[k];
                    idx[k] = 0;
                }
            }
            return out;
        }

        private static boolean isContiguous(long[] size, long[] stride) {
            long expect = 1;
            for (int i = size.length - 1; i >= 0; i--) {
                if (size[i] != 1 && stride[i] != expect) return false;
                expect *= size[i];
            }
            return true;
        }

        /**
         * A storage's bytes, read once: several views of one storage then cost only their own
         * elements, which keeps the work bounded by the file size and the element budget.
         */
        private ByteBuffer raw(StorageRef s) throws IOException {
            ByteBuffer b = rawCache.get(s.key());
            if (b == null) {
                String name = prefix + "data/" + s.key();
                ZipEntry e = zip.getEntry(name);
                if (e == null) throw new CheckpointFormatException(file, "storage " + s.key() + " has no entry " + name);
                b = ByteBuffer.wrap(readEntry(e, s.numel() * s.dtype().size, ShapeCheck.MAX_NUMEL));
                rawCache.put(s.key(), b);
            }
            return b.duplicate().order(order);
        }

        /** A whole storage as floats, for strided views; converted once. */
        private float[] decoded(StorageRef s) throws IOException {
            float[] all = floatCache.get(s.key());
            if (all == null) {
                ByteBuffer raw = raw(s);
                all = new float[(int) s.numel()];
                s.dtype().decode(raw, all);
                floatCache.put(s.key(), all);
            }
            return all;
        }

        /**
         * An entry's bytes, checked against its CRC. expected (or -1) is the size the pickle declares;
         * max caps the size. Sizes are bounded by the file's own bytes before anything is allocated.
         */
        private byte[] readEntry(ZipEntry e, long expected, long max) throws IOException {
            long size = e.getSize(), packed = e.getCompressedSize();
            boolean stored = e.getMethod() == ZipEntry.STORED;
            long limit = Math.min(max, stored ? fileSize : MAX_DEFLATE_RATIO * Math.max(packed, 0));
            if (size < 0 || size > limit)
                throw new CheckpointFormatException(file, "entry " + e.getName() + " claims " + size + " bytes, more than the file can hold");
            if (expected >= 0 && size != expected)
                throw new CheckpointFormatException(file, "entry " + e.getName() + " holds " + size + " bytes but the checkpoint declares " + expected);
            byte[] b;
            try (InputStream in = zip.getInputStream(e)) {
                b = in.readNBytes((int) size);
            } catch (CheckpointFormatException x) {
                throw x;
            } catch (IOException x) { // the zip library's own errors may carry no message
                throw new CheckpointFormatException(file, "entry " + e.getName() + " cannot be read (corrupt or truncated archive): " + x, x);
            }
            if (b.length != size) throw new CheckpointFormatException(file, "entry " + e.getName() + " is truncated (" + b.length + " of " + size + " bytes)");
            CRC32 crc = new CRC32();
            crc.update(b);
            if (e.getCrc() != -1 && crc.getValue() != e.getCrc())
                throw new CheckpointFormatException(file, "entry " + e.getName() + " fails its CRC check (corrupt file)");
            return b;
        }
    }
}
