package diffir.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A launch's arguments laid out as cuLaunchKernel's kernelParams wants them: each value in an
 * 8-byte-aligned slot of one native buffer (a struct of ints takes as many slots as it needs) and an
 * array of pointers to the slots. The CUDA driver copies the values during the launch, and the CPU
 * emulator reads them the same way, so the buffer is reused by the next {@link #write}.
 */
public final class KernelParams {
    private static final int MAX_ARGS = 64, VALUE_BYTES = 4096;
    private final MemorySegment values, pointers;

    public KernelParams(Arena arena) {
        values = arena.allocate(VALUE_BYTES, 16);
        pointers = arena.allocate(8L * MAX_ARGS, 8);
    }

    /**
     * The kind of a kernel argument: 'P' a {@link Ptr}, 'I' an Integer (int), 'L' a Long (long long),
     * 'F' a Float, 'S' an int[] (a struct of ints passed by value); anything else fails, naming the
     * kernel and the argument.
     */
    public static char kind(String kernel, int index, Object arg) {
        return switch (arg) {
            case Ptr p -> 'P';
            case Integer v -> 'I';
            case Long v -> 'L';
            case Float v -> 'F';
            case int[] s -> 'S';
            case null, default -> throw new IllegalArgumentException("kernel " + kernel + ": argument " + index + " of type "
                    + (arg == null ? "null" : arg.getClass().getSimpleName()) + " is not a Ptr, Integer, Long, Float or int[]");
        };
    }

    /** Lays out args; returns the kernelParams array, valid until the next write. */
    public MemorySegment write(String kernel, Object... args) {
        if (args.length > MAX_ARGS) throw new IllegalArgumentException("kernel " + kernel + ": more than " + MAX_ARGS + " arguments");
        long at = 0;
        for (int i = 0; i < args.length; i++) {
            Object a = args[i];
            char kind = kind(kernel, i, a);
            long size = a instanceof int[] s ? 4L * s.length : 8;
            if (at + size > VALUE_BYTES) throw new IllegalArgumentException("kernel " + kernel + ": arguments exceed " + VALUE_BYTES + " bytes");
            switch (kind) {
                case 'P' -> values.set(ValueLayout.JAVA_LONG, at, ((Ptr) a).address());
                case 'I' -> values.set(ValueLayout.JAVA_INT, at, (Integer) a);
                case 'L' -> values.set(ValueLayout.JAVA_LONG, at, (Long) a);
                case 'F' -> values.set(ValueLayout.JAVA_FLOAT, at, (Float) a);
                default -> MemorySegment.copy((int[]) a, 0, values, ValueLayout.JAVA_INT, at, ((int[]) a).length);
            }
            pointers.setAtIndex(ValueLayout.JAVA_LONG, i, values.address() + at);
            at += (size + 7) & ~7L;
        }
        return pointers;
    }
}
