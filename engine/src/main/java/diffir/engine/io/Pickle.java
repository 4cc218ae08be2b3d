package diffir.engine.io;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A pickle reader that executes nothing: it interprets the opcodes of protocols 2 to 4 (torch.save
 * writes protocol 2) into plain Java values, and resolves every global through an allow-list given by
 * the caller. A global not on the list is refused by name before anything else happens, as PyTorch's
 * weights_only loading does. The machine is iterative and every size it keeps is capped, so a
 * malformed or hostile pickle ends in a {@link CheckpointFormatException}, never a crash or a hang.
 *
 * <p>Values: None is null, bool Boolean, int Long (BigInteger when larger), float Double, str String,
 * bytes byte[], list {@code ArrayList<Object>}, tuple {@link Tuple}, dict and OrderedDict
 * {@code LinkedHashMap<Object, Object>} (insertion order kept), set {@code LinkedHashSet<Object>};
 * a global is a {@link Global}; what the allowed calls and persistent ids return is up to the caller.
 */
final class Pickle {
    private Pickle() {}

    /** A Python tuple (items may be null for None). */
    record Tuple(List<Object> items) {
        Tuple {
            items = Collections.unmodifiableList(new ArrayList<>(items));
        }

        Object get(int i) {
            return items.get(i);
        }

        int size() {
            return items.size();
        }

        @Override
        public String toString() { // never print contents: they may be cyclic or huge
            return "tuple of " + items.size();
        }
    }

    /** A call an allowed global makes; args are the pickled tuple's items. */
    @FunctionalInterface
    interface Call {
        Object apply(Tuple args) throws IOException;
    }

    /** An allowed global: {@code call} is null for globals that may be named but not called (storage types). */
    record Global(String name, Call call) {
        @Override
        public String toString() {
            return "global " + name;
        }
    }

    /** Turns a persistent id (what torch.save writes for each storage) into a value. */
    @FunctionalInterface
    interface PersistentLoader {
        Object load(Object pid) throws IOException;
    }

    static final int MAX_STACK = 1 << 22;
    static final int MAX_MEMO = 1 << 20;
    static final int MAX_MARKS = 1 << 20;
    private static final int MAX_LONG_BYTES = 1024;

    /** Builtins every pickle may use; the caller's allow-list adds to these. */
    static Map<String, Global> builtins() {
        Map<String, Global> g = new HashMap<>();
        add(g, "collections.OrderedDict", args -> {
            if (args.size() == 0) return new LinkedHashMap<>();
            throw new IllegalStateException("OrderedDict with arguments");
        });
        add(g, "builtins.set", args -> args.size() == 0 ? new LinkedHashSet<>() : setOf(args, "set"));
        add(g, "builtins.frozenset", args -> args.size() == 0 ? new LinkedHashSet<>() : setOf(args, "frozenset"));
        // Protocol 2 pickles bytes as _codecs.encode(str, 'latin1').
        add(g, "_codecs.encode", args -> {
            if (args.size() == 2 && args.get(0) instanceof String s && "latin1".equals(args.get(1))) {
                byte[] b = new byte[s.length()];
                for (int i = 0; i < b.length; i++) {
                    char c = s.charAt(i);
                    if (c > 0xff) throw new IllegalStateException("_codecs.encode of a non-latin1 string");
                    b[i] = (byte) c;
                }
                return b;
            }
            throw new IllegalStateException("_codecs.encode other than (str, 'latin1')");
        });
        add(g, "torch.Size", args -> {
            if (args.size() == 1 && args.get(0) instanceof Tuple t) return t;
            if (args.size() == 0) return new Tuple(List.of());
            throw new IllegalStateException("torch.Size needs one tuple");
        });
        return g;
    }

    private static Set<Object> setOf(Tuple args, String what) {
        if (args.size() != 1 || !(args.get(0) instanceof List<?> items)) throw new IllegalStateException(what + " needs one list");
        Set<Object> s = new LinkedHashSet<>();
        for (Object o : items) {
            if (!isScalar(o)) throw new IllegalStateException("a " + typeName(o) + " in a " + what + " is not supported");
            s.add(o);
        }
        return s;
    }

    /**
     * Dict keys and set items must be plain scalars: hashing a container could recurse without end
     * on a cyclic or very deep value, and a checkpoint never needs one.
     */
    private static boolean isScalar(Object k) {
        return k == null || k instanceof String || k instanceof Long || k instanceof BigInteger
                || k instanceof Double || k instanceof Boolean;
    }

    private static void add(Map<String, Global> g, String name, Call call) {
        g.put(name, new Global(name, call));
    }

    /**
     * Interprets a whole pickle. {@code allowed} maps "module.name" to the globals it may reference;
     * file names the source in error messages.
     */
    static Object load(byte[] data, Map<String, Global> allowed, PersistentLoader persistent, Path file) throws IOException {
        return new Machine(data, allowed, persistent, file).run();
    }

    /** A short description of a value's type for error messages (never its contents). */
    static String typeName(Object o) {
        if (o == null) return "None";
        if (o instanceof Boolean) return "bool";
        if (o instanceof Long || o instanceof BigInteger) return "int";
        if (o instanceof Double) return "float";
        if (o instanceof String) return "str";
        if (o instanceof byte[]) return "bytes";
        if (o instanceof List<?>) return "list";
        if (o instanceof Tuple) return "tuple";
        if (o instanceof Map<?, ?>) return "dict";
        if (o instanceof Set<?>) return "set";
        if (o instanceof Global g) return "global " + g.name();
        return o.getClass().getSimpleName();
    }

    /** One run of the pickle machine over a byte array. */
    private static final class Machine {
        private final byte[] d;
        private final Map<String, Global> allowed;
        private final PersistentLoader persistent;
        private final Path file;
        private final ByteBuffer le;
        private int pos;
        private final ArrayList<Object> stack = new ArrayList<>();
        private int[] marks = new int[16];
        private int markCount;
        private final HashMap<Long, Object> memo = new HashMap<>();

        Machine(byte[] d, Map<String, Global> allowed, PersistentLoader persistent, Path file) {
            this.d = d;
            this.allowed = allowed;
            this.persistent = persistent;
            this.file = file;
            this.le = ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN);
        }

        private CheckpointFormatException error(String what) {
            return new CheckpointFormatException(file, "bad pickle at byte " + pos + ": " + what);
        }

        Object run() throws IOException {
            while (true) {
                if (pos >= d.length) throw error("ended without a STOP opcode (truncated?)");
                int op = d[pos++] & 0xff;
                if (step(op)) {
                    if (stack.size() != 1 || markCount != 0) throw error("STOP with " + stack.size() + " values on the stack");
                    return stack.get(0);
                }
            }
        }

        /** Executes one opcode; true on STOP. */
        private boolean step(int op) throws IOException {
            switch (op) {
                case 0x80 -> { // PROTO
                    int v = u8();
                    if (v < 2 || v > 5) throw error("pickle protocol " + v + " is not supported (torch.save writes 2)");
                }
                case 0x95 -> { // FRAME: a length prefix we do not need
                    long n = le.getLong(need(8));
                    if (n < 0 || n > d.length - pos) throw error("frame of " + n + " bytes past the end");
                }
                case '.' -> { return true; } // STOP
                case '(' -> pushMark();
                case '0' -> pop(); // POP
                case '1' -> popMark(); // POP_MARK
                case '2' -> push(peek()); // DUP
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push((long) le.getInt(need(4))); // BININT
                case 'K' -> push((long) u8()); // BININT1
                case 'M' -> push((long) (le.getShort(need(2)) & 0xffff)); // BININT2
                case 0x8a -> push(longFrom(u8())); // LONG1
                case 0x8b -> push(longFrom(le.getInt(need(4)))); // LONG4
                case 'G' -> push(ByteBuffer.wrap(d, need(8), 8).order(ByteOrder.BIG_ENDIAN).getDouble()); // BINFLOAT
                case 'X' -> push(utf8(le.getInt(need(4)) & 0xffffffffL)); // BINUNICODE
                case 0x8c -> push(utf8(u8())); // SHORT_BINUNICODE
                case 0x8d -> push(utf8(le.getLong(need(8)))); // BINUNICODE8
                case 'U' -> push(latin1(u8())); // SHORT_BINSTRING (Python 2 str)
                case 'T' -> push(latin1(le.getInt(need(4)) & 0xffffffffL)); // BINSTRING
                case 'C' -> push(bytes(u8())); // SHORT_BINBYTES
                case 'B' -> push(bytes(le.getInt(need(4)) & 0xffffffffL)); // BINBYTES
                case 0x8e -> push(bytes(le.getLong(need(8)))); // BINBYTES8
                case ')' -> push(new Tuple(List.of()));
                case 0x85 -> push(new Tuple(popN(1)));
                case 0x86 -> push(new Tuple(popN(2)));
                case 0x87 -> push(new Tuple(popN(3)));
                case 't' -> push(new Tuple(popToMark())); // TUPLE
                case ']' -> push(new ArrayList<>()); // EMPTY_LIST
                case 'l' -> push(new ArrayList<>(popToMark())); // LIST
                case 'a' -> { // APPEND
                    Object v = pop();
                    list(peek()).add(v);
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popToMark();
                    list(peek()).addAll(items);
                }
                case '}' -> push(new LinkedHashMap<>()); // EMPTY_DICT
                case 'd' -> { // DICT
                    Map<Object, Object> m = new LinkedHashMap<>();
                    putPairs(m, popToMark());
                    push(m);
                }
                case 's' -> { // SETITEM
                    Object v = pop(), k = pop();
                    dict(peek()).put(key(k), v);
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popToMark();
                    putPairs(dict(peek()), items);
                }
                case 0x8f -> push(new LinkedHashSet<>()); // EMPTY_SET
                case 0x90 -> { // ADDITEMS
                    List<Object> items = popToMark();
                    Set<Object> s = set(peek());
                    for (Object o : items) s.add(key(o));
                }
                case 0x91 -> { // FROZENSET
                    Set<Object> s = new LinkedHashSet<>();
                    for (Object o : popToMark()) s.add(key(o));
                    push(s);
                }
                case 'h' -> push(memoGet(u8())); // BINGET
                case 'j' -> push(memoGet(le.getInt(need(4)) & 0xffffffffL)); // LONG_BINGET
                case 'q' -> memoPut(u8()); // BINPUT
                case 'r' -> memoPut(le.getInt(need(4)) & 0xffffffffL); // LONG_BINPUT
                case 0x94 -> memoPut(memo.size()); // MEMOIZE
                case 'c' -> { // GLOBAL "module\nname\n"
                    String module = line(), name = line();
                    push(global(module, name));
                }
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop(), module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) throw error("STACK_GLOBAL needs two strings");
                    push(global(m, n));
                }
                case 'R' -> { // REDUCE: callable(*args)
                    Object args = pop(), fn = pop();
                    push(call(fn, args));
                }
                case 0x81 -> { // NEWOBJ: cls.__new__(cls, *args), for allowed classes the same as a call
                    Object args = pop(), cls = pop();
                    push(call(cls, args));
                }
                case 0x92 -> { // NEWOBJ_EX
                    Object kwargs = pop(), args = pop(), cls = pop();
                    if (!(kwargs instanceof Map<?, ?> kw) || !kw.isEmpty()) throw error("NEWOBJ_EX with keyword arguments is not supported");
                    push(call(cls, args));
                }
                case 'b' -> { // BUILD: obj.__setstate__(state)
                    Object state = pop();
                    Object obj = peek();
                    // An OrderedDict's state is its attributes (a state dict's _metadata): not needed.
                    if (!(obj instanceof Map<?, ?>)) throw error("BUILD on a " + typeName(obj) + " is not supported");
                    if (state != null && !(state instanceof Map<?, ?>) && !(state instanceof Tuple))
                        throw error("BUILD with a " + typeName(state) + " state");
                }
                case 'Q' -> push(persistent.load(pop())); // BINPERSID
                case 0x82, 0x83, 0x84 -> throw error("extension registry opcodes (EXT1/2/4) are not supported");
                case 0x96, 0x97, 0x98 -> throw error("out-of-band buffers (protocol 5) are not supported");
                case 'I', 'L', 'F', 'S', 'V', 'P', 'g', 'p', 'i', 'o' ->
                        throw error("text opcode '" + (char) op + "' of pickle protocol 0/1 is not supported (torch.save writes protocol 2)");
                default -> throw error("unknown opcode 0x" + Integer.toHexString(op));
            }
            return false;
        }

        private Object global(String module, String name) throws CheckpointFormatException {
            String full = module + "." + name;
            Global g = allowed.get(full);
            if (g == null)
                throw new CheckpointFormatException(file, "refusing to load global " + full
                        + ": only tensors, storages and plain containers are allowed in a checkpoint");
            return g;
        }

        private Object call(Object fn, Object args) throws IOException {
            if (!(fn instanceof Global g)) throw error("cannot call a " + typeName(fn));
            if (g.call() == null) throw error("global " + g.name() + " cannot be called");
            if (!(args instanceof Tuple t)) throw error("arguments of " + g.name() + " are a " + typeName(args) + ", not a tuple");
            try {
                return g.call().apply(t);
            } catch (IllegalStateException e) {
                throw error(g.name() + ": " + e.getMessage());
            }
        }

        // ------------------------------------------------------------ stack, marks and memo

        private void push(Object o) throws CheckpointFormatException {
            if (stack.size() >= MAX_STACK) throw error("stack deeper than " + MAX_STACK);
            stack.add(o);
        }

        private Object pop() throws CheckpointFormatException {
            int floor = markCount > 0 ? marks[markCount - 1] : 0;
            if (stack.size() <= floor) throw error("stack underflow");
            return stack.remove(stack.size() - 1);
        }

        private Object peek() throws CheckpointFormatException {
            int floor = markCount > 0 ? marks[markCount - 1] : 0;
            if (stack.size() <= floor) throw error("stack underflow");
            return stack.get(stack.size() - 1);
        }

        private List<Object> popN(int n) throws CheckpointFormatException {
            Object[] items = new Object[n];
            for (int i = n - 1; i >= 0; i--) items[i] = pop();
            return Arrays.asList(items);
        }

        private void pushMark() throws CheckpointFormatException {
            if (markCount >= MAX_MARKS) throw error("more than " + MAX_MARKS + " open marks");
            if (markCount == marks.length) marks = Arrays.copyOf(marks, 2 * marks.length);
            marks[markCount++] = stack.size();
        }

        private int popMark() throws CheckpointFormatException {
            if (markCount == 0) throw error("no mark on the stack");
            int m = marks[--markCount];
            List<Object> top = stack.subList(m, stack.size());
            top.clear();
            return m;
        }

        /** The values above the topmost mark, removed with the mark. */
        private List<Object> popToMark() throws CheckpointFormatException {
            if (markCount == 0) throw error("no mark on the stack");
            int m = marks[markCount - 1];
            List<Object> items = new ArrayList<>(stack.subList(m, stack.size()));
            popMark();
            return items;
        }

        private Object memoGet(long index) throws CheckpointFormatException {
            Object v = memo.get(index);
            if (v == null && !memo.containsKey(index)) throw error("memo entry " + index + " was never stored");
            return v;
        }

        private void memoPut(long index) throws CheckpointFormatException {
            if (memo.size() >= MAX_MEMO && !memo.containsKey(index)) throw error("memo larger than " + MAX_MEMO);
            memo.put(index, peek());
        }

        // ------------------------------------------------------------ containers

        @SuppressWarnings("unchecked")
        private List<Object> list(Object o) throws CheckpointFormatException {
            if (o instanceof ArrayList<?> l) return (List<Object>) l;
            throw error("append to a " + typeName(o));
        }

        @SuppressWarnings("unchecked")
        private Map<Object, Object> dict(Object o) throws CheckpointFormatException {
            if (o instanceof LinkedHashMap<?, ?> m) return (Map<Object, Object>) m;
            throw error("set an item of a " + typeName(o));
        }

        @SuppressWarnings("unchecked")
        private Set<Object> set(Object o) throws CheckpointFormatException {
            if (o instanceof LinkedHashSet<?> s) return (Set<Object>) s;
            throw error("add items to a " + typeName(o));
        }

        private void putPairs(Map<Object, Object> m, List<Object> items) throws CheckpointFormatException {
            if (items.size() % 2 != 0) throw error("odd number of values for dict items");
            for (int i = 0; i < items.size(); i += 2) m.put(key(items.get(i)), items.get(i + 1));
        }

        /** k itself when it may be a dict key or set item (see {@link #isScalar}). */
        private Object key(Object k) throws CheckpointFormatException {
            if (isScalar(k)) return k;
            throw error("a " + typeName(k) + " as dict key or set item is not supported");
        }

        // ------------------------------------------------------------ reading bytes

        /** Reserves n bytes and returns where they start. */
        private int need(long n) throws CheckpointFormatException {
            if (n < 0 || n > d.length - pos) throw error("needs " + n + " bytes, " + (d.length - pos) + " left (truncated?)");
            int at = pos;
            pos += (int) n;
            return at;
        }

        private int u8() throws CheckpointFormatException {
            return d[need(1)] & 0xff;
        }

        private Object longFrom(int n) throws CheckpointFormatException {
            if (n < 0 || n > MAX_LONG_BYTES) throw error("integer of " + n + " bytes");
            int at = need(n);
            if (n == 0) return 0L;
            byte[] be = new byte[n]; // little-endian two's complement -> BigInteger's big-endian
            for (int i = 0; i < n; i++) be[i] = d[at + n - 1 - i];
            BigInteger v = new BigInteger(be);
            return v.bitLength() < 64 ? (Object) v.longValue() : v;
        }

        private String utf8(long n) throws CheckpointFormatException {
            int at = need(n);
            try {
                return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(d, at, (int) n)).toString();
            } catch (CharacterCodingException e) {
                throw error("invalid UTF-8 in a string");
            }
        }

        private String latin1(long n) throws CheckpointFormatException {
            int at = need(n);
            return new String(d, at, (int) n, StandardCharsets.ISO_8859_1);
        }

        private byte[] bytes(long n) throws CheckpointFormatException {
            int at = need(n);
            return Arrays.copyOfRange(d, at, at + (int) n);
        }

        /** A newline-terminated ASCII line (GLOBAL's module and name), at most 256 bytes; other bytes become '?'. */
        private String line() throws CheckpointFormatException {
            int end = pos;
            while (end < d.length && d[end] != '\n') {
                if (end - pos > 256) throw error("global name longer than 256 bytes");
                end++;
            }
            if (end >= d.length) throw error("unterminated global name (truncated?)");
            StringBuilder s = new StringBuilder(end - pos);
            for (int i = pos; i < end; i++) s.append(d[i] >= 0x20 && d[i] < 0x7f ? (char) d[i] : '?'); // printable in messages
            pos = end + 1;
            return s.toString();
        }
    }
}
