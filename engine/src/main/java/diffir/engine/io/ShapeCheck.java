package diffir.engine.io;

import diffir.engine.Shapes;

import java.nio.file.Path;

/** Validates shapes read from files before anything is allocated for them. */
final class ShapeCheck {
    private ShapeCheck() {}

    /** Largest element count one CPU tensor (a Java array) may hold. */
    static final long MAX_NUMEL = Integer.MAX_VALUE - 8;

    /** The element count of shape, or a clear error when a dimension is negative or the count beyond one array's reach. */
    static int numel(Path file, String what, long[] shape) throws CheckpointFormatException {
        boolean empty = false;
        for (long d : shape) {
            if (d < 0 || d > MAX_NUMEL) throw new CheckpointFormatException(file, what + " has a bad dimension " + d);
            empty |= d == 0;
        }
        if (empty) return 0;
        long n = 1;
        for (long d : shape) {
            n *= d; // both factors <= 2^31, so no overflow before the check
            if (n > MAX_NUMEL) throw new CheckpointFormatException(file, what + " of " + describe(shape) + " has more elements than one tensor can hold");
        }
        return (int) n;
    }

    static int[] toInt(long[] shape) {
        int[] s = new int[shape.length];
        for (int i = 0; i < s.length; i++) s[i] = (int) shape[i];
        return s;
    }

    static String describe(long[] shape) {
        return "shape " + Shapes.str(toInt(shape));
    }
}
