package diffir.engine.cpu;

import diffir.engine.Shapes;
import diffir.engine.Tensor;

/** Argument checks at kernel entry: one clear message instead of an index error deep in a loop. */
final class KernelArgs {
    private KernelArgs() {}

    /** Fails unless t has exactly the given shape. */
    static void shape(String kernel, String what, Tensor t, int... expected) {
        if (t == null) throw new IllegalArgumentException(kernel + ": " + what + " is missing");
        if (!Shapes.same(t.shape(), expected))
            throw new IllegalArgumentException(kernel + ": " + what + " has shape " + Shapes.str(t.shape())
                    + ", expected " + Shapes.str(expected));
    }

    /** Like {@link #shape} but accepts null (an optional input or an output not wanted). */
    static void optionalShape(String kernel, String what, Tensor t, int... expected) {
        if (t != null) shape(kernel, what, t, expected);
    }

    /** Fails unless t holds exactly n values (e.g. temperature as (h), (h,1,1)). */
    static void numel(String kernel, String what, Tensor t, long n) {
        if (t == null) throw new IllegalArgumentException(kernel + ": " + what + " is missing");
        if (t.numel() != n)
            throw new IllegalArgumentException(kernel + ": " + what + " " + Shapes.str(t.shape()) + " should hold " + n + " values");
    }

    static int[] rank(String kernel, String what, Tensor t, int rank) {
        int[] s = t.shape();
        if (s.length != rank)
            throw new IllegalArgumentException(kernel + ": " + what + " must have rank " + rank + ", got " + Shapes.str(s));
        return s;
    }

    static void require(boolean ok, String kernel, String message) {
        if (!ok) throw new IllegalArgumentException(kernel + ": " + message);
    }
}
