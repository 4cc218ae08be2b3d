package diffir.engine.ops;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;

/** Sums and means over axes, and the broadcast-undoing sumTo used by gradients. */
final class Reduce {
    private Reduce() {}

    /** Sum over axes (all axes when none given). */
    static Tensor sum(Tensor x, boolean keepDim, int... axes) {
        int[] in = x.shape();
        int[] kept = in.clone();
        boolean[] reduced = new boolean[in.length];
        if (axes.length == 0) java.util.Arrays.fill(reduced, true);
        for (int a : axes) reduced[Shapes.axis(a, in.length)] = true;
        for (int i = 0; i < in.length; i++) if (reduced[i]) kept[i] = 1;
        Tensor out = Tensor.empty(x.device(), kept);
        x.backend().sum(x, out);
        Tensor result = keepDim ? out : out.reshapeView(dropOnes(kept, reduced));
        return Autograd.record("sum", result, new Tensor[]{x}, g -> new Tensor[]{
                ShapeOps.expandRaw(g.reshapeView(kept), in)});
    }

    static Tensor mean(Tensor x, boolean keepDim, int... axes) {
        int[] in = x.shape();
        long count = 1;
        if (axes.length == 0) count = x.numel();
        else {
            boolean[] seen = new boolean[in.length];
            for (int a : axes) {
                int ax = Shapes.axis(a, in.length);
                if (!seen[ax]) count *= in[ax];
                seen[ax] = true;
            }
        }
        return Ops.mulScalar(sum(x, keepDim, axes), (float) (1.0 / count));
    }

    /** Sums g down to shape (undoing NumPy broadcasting); g itself when shapes already agree. No autograd. */
    static Tensor sumTo(Tensor g, int[] shape) {
        int[] gs = g.shape();
        if (Shapes.same(gs, shape)) return g;
        int lead = gs.length - shape.length;
        int[] kept = new int[gs.length];
        for (int i = 0; i < gs.length; i++) {
            int target = i < lead ? 1 : shape[i - lead];
            kept[i] = (target == 1) ? 1 : gs[i];
        }
        Tensor out = Tensor.empty(g.device(), kept);
        g.backend().sum(g, out);
        return out.reshapeView(shape);
    }

    private static int[] dropOnes(int[] kept, boolean[] reduced) {
        int n = 0;
        for (boolean r : reduced) if (!r) n++;
        int[] out = new int[n];
        for (int i = 0, j = 0; i < kept.length; i++) if (!reduced[i]) out[j++] = kept[i];
        return out;
    }
}
