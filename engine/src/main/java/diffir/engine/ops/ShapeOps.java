package diffir.engine.ops;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;

import java.util.ArrayList;
import java.util.List;

/**
 * Reshape, permute, slicing, concatenation, broadcasting expand, pixel (un)shuffle and nearest
 * upsampling. All but reshape and leading-axis slices are one {@link diffir.engine.backend.Backend#copyStrided}
 * each way.
 */
final class ShapeOps {
    private ShapeOps() {}

    static Tensor reshape(Tensor x, int... shape) {
        int[] in = x.shape();
        Tensor out = x.reshapeView(shape);
        return Autograd.record("reshape", out, new Tensor[]{x}, g -> new Tensor[]{g.reshapeView(in)});
    }

    /**
     * A bijective rearrangement: walks index space {@code space}, reading x with srcStrides and
     * writing a fresh contiguous tensor of {@code outShape} with dstStrides. Its gradient is the same
     * walk with the roles swapped.
     */
    static Tensor rearrange(String name, Tensor x, int[] space, long[] srcStrides, long[] dstStrides, int[] outShape) {
        Tensor out = Tensor.empty(x.device(), outShape);
        x.backend().copyStrided(x, 0, srcStrides, out, 0, dstStrides, space);
        int[] in = x.shape();
        return Autograd.record(name, out, new Tensor[]{x}, g -> {
            Tensor gx = Tensor.empty(g.device(), in);
            g.backend().copyStrided(g, 0, dstStrides, gx, 0, srcStrides, space);
            return new Tensor[]{gx};
        });
    }

    static Tensor permute(Tensor x, int... order) {
        int r = x.rank();
        if (order.length != r) throw new IllegalArgumentException("permute order " + java.util.Arrays.toString(order) + " for rank " + r);
        int[] in = x.shape();
        long[] st = Shapes.strides(in);
        int[] outShape = new int[r];
        long[] src = new long[r];
        boolean[] used = new boolean[r];
        boolean identity = true;
        for (int i = 0; i < r; i++) {
            int a = Shapes.axis(order[i], r);
            if (used[a]) throw new IllegalArgumentException("permute order repeats axis " + a);
            used[a] = true;
            outShape[i] = in[a];
            src[i] = st[a];
            identity &= a == i;
        }
        if (identity) return x;
        return rearrange("permute", x, outShape, src, Shapes.strides(outShape), outShape);
    }

    static Tensor transpose(Tensor x, int a, int b) {
        int r = x.rank();
        int[] order = new int[r];
        for (int i = 0; i < r; i++) order[i] = i;
        a = Shapes.axis(a, r);
        b = Shapes.axis(b, r);
        order[a] = b;
        order[b] = a;
        return permute(x, order);
    }

    /** Elements [start, start+length) of one axis. A view when every axis before it has size 1. */
    static Tensor narrow(Tensor x, int axis, int start, int length) {
        int[] in = x.shape();
        int ax = Shapes.axis(axis, in.length);
        if (start < 0 || length < 0 || start + length > in[ax])
            throw new IllegalArgumentException("narrow [" + start + ", " + (start + length) + ") of axis " + ax + " in " + Shapes.str(in));
        int[] outShape = in.clone();
        outShape[ax] = length;
        boolean leading = true;
        for (int i = 0; i < ax; i++) leading &= in[i] == 1;
        Tensor out;
        long offset = start * Shapes.strides(in)[ax];
        if (leading) {
            out = new Tensor(outShape, x.storage(), x.offset() + offset, x.device());
        } else {
            out = Tensor.empty(x.device(), outShape);
            x.backend().copyStrided(x, offset, Shapes.strides(in), out, 0, Shapes.strides(outShape), outShape);
        }
        return Autograd.record("narrow", out, new Tensor[]{x}, g -> {
            Tensor gx = Tensor.zeros(g.device(), in);
            g.backend().copyStrided(g, 0, Shapes.strides(outShape), gx, offset, Shapes.strides(in), outShape);
            return new Tensor[]{gx};
        });
    }

    static Tensor concat(int axis, Tensor... parts) {
        if (parts.length == 0) throw new IllegalArgumentException("concat of nothing");
        int[] first = parts[0].shape();
        int ax = Shapes.axis(axis, first.length);
        int total = 0;
        for (Tensor p : parts) {
            int[] s = p.shape();
            boolean ok = s.length == first.length;
            for (int i = 0; ok && i < s.length; i++) ok = i == ax || s[i] == first[i];
            if (!ok) throw new IllegalArgumentException("concat along " + ax + ": " + Shapes.str(s) + " does not match " + Shapes.str(first));
            if (p.device() != parts[0].device()) throw new IllegalArgumentException("concat across devices");
            total += s[ax];
        }
        int[] outShape = first.clone();
        outShape[ax] = total;
        Tensor out = Tensor.empty(parts[0].device(), outShape);
        long[] dst = Shapes.strides(outShape);
        long[] offsets = new long[parts.length];
        int at = 0;
        for (int i = 0; i < parts.length; i++) {
            int[] s = parts[i].shape();
            offsets[i] = at * dst[ax];
            out.backend().copyStrided(parts[i], 0, Shapes.strides(s), out, offsets[i], dst, s);
            at += s[ax];
        }
        return Autograd.record("concat", out, parts, g -> {
            Tensor[] gs = new Tensor[parts.length];
            for (int i = 0; i < parts.length; i++) {
                if (!Autograd.wants(parts[i])) continue;
                int[] s = parts[i].shape();
                gs[i] = Tensor.empty(g.device(), s);
                g.backend().copyStrided(g, offsets[i], dst, gs[i], 0, Shapes.strides(s), s);
            }
            return gs;
        });
    }

    static List<Tensor> split(Tensor x, int axis, int... sizes) {
        int ax = Shapes.axis(axis, x.rank());
        int sum = 0;
        for (int s : sizes) sum += s;
        if (sum != x.dim(ax)) throw new IllegalArgumentException("split sizes sum to " + sum + ", axis " + ax + " has " + x.dim(ax));
        List<Tensor> out = new ArrayList<>();
        int at = 0;
        for (int s : sizes) {
            out.add(narrow(x, ax, at, s));
            at += s;
        }
        return out;
    }

    static List<Tensor> chunk(Tensor x, int chunks, int axis) {
        int ax = Shapes.axis(axis, x.rank());
        int n = x.dim(ax);
        if (n % chunks != 0) throw new IllegalArgumentException("chunk: axis of " + n + " not divisible into " + chunks);
        int[] sizes = new int[chunks];
        java.util.Arrays.fill(sizes, n / chunks);
        return split(x, ax, sizes);
    }

    /** Broadcasts x to shape (NumPy rules). Gradient sums back. */
    static Tensor expand(Tensor x, int... shape) {
        int[] in = x.shape();
        if (Shapes.same(in, shape)) return x;
        if (!Shapes.same(Shapes.broadcast(in, shape), shape))
            throw new IllegalArgumentException("cannot expand " + Shapes.str(in) + " to " + Shapes.str(shape));
        Tensor out = expandRaw(x, shape);
        return Autograd.record("expand", out, new Tensor[]{x}, g -> new Tensor[]{Reduce.sumTo(g, in)});
    }

    static Tensor expandRaw(Tensor x, int[] shape) {
        Tensor out = Tensor.empty(x.device(), shape);
        x.backend().copyStrided(x, 0, Shapes.broadcastStrides(x.shape(), shape), out, 0, Shapes.strides(shape), shape);
        return out;
    }

    /** (N, C*r*r, H, W) -> (N, C, H*r, W*r), PyTorch's PixelShuffle. */
    static Tensor pixelShuffle(Tensor x, int r) {
        int[] s = x.shape();
        if (s.length != 4 || s[1] % (r * r) != 0)
            throw new IllegalArgumentException("pixelShuffle(" + r + ") needs (N, C*" + r * r + ", H, W), got " + Shapes.str(s));
        int n = s[0], c = s[1] / (r * r), h = s[2], w = s[3];
        // Index space (n, c, h, i, w, j): out[n][c][h*r+i][w*r+j] = in[n][c*r*r + i*r + j][h][w].
        int[] space = {n, c, h, r, w, r};
        long hw = (long) h * w;
        long[] src = {(long) c * r * r * hw, (long) r * r * hw, w, r * hw, 1, hw};
        int[] outShape = {n, c, h * r, w * r};
        return rearrange("pixel_shuffle", x, space, src, Shapes.strides(space), outShape);
    }

    /** (N, C, H*r, W*r) -> (N, C*r*r, H, W), PyTorch's PixelUnshuffle. */
    static Tensor pixelUnshuffle(Tensor x, int r) {
        int[] s = x.shape();
        if (s.length != 4 || s[2] % r != 0 || s[3] % r != 0)
            throw new IllegalArgumentException("pixelUnshuffle(" + r + ") needs (N, C, H, W) with H, W divisible by " + r + ", got " + Shapes.str(s));
        int n = s[0], c = s[1], h = s[2] / r, w = s[3] / r;
        // Index space (n, c, i, j, h, w): out[n][c*r*r + i*r + j][h][w] = in[n][c][h*r+i][w*r+j].
        int[] space = {n, c, r, r, h, w};
        long W = s[3];
        long[] src = {(long) c * s[2] * W, (long) s[2] * W, W, 1, r * W, r};
        int[] outShape = {n, c * r * r, h, w};
        return rearrange("pixel_unshuffle", x, space, src, Shapes.strides(space), outShape);
    }

    /** Nearest-neighbour upsampling of NCHW by an integer factor. */
    static Tensor upsampleNearest(Tensor x, int scale) {
        int[] s = x.shape();
        if (s.length != 4) throw new IllegalArgumentException("upsampleNearest needs NCHW, got " + Shapes.str(s));
        int n = s[0], c = s[1], h = s[2], w = s[3];
        int[] space = {n, c, h, scale, w, scale};
        long[] src = {(long) c * h * w, (long) h * w, w, 0, 1, 0};
        int[] outShape = {n, c, h * scale, w * scale};
        Tensor out = Tensor.empty(x.device(), outShape);
        x.backend().copyStrided(x, 0, src, out, 0, Shapes.strides(space), space);
        return Autograd.record("upsample_nearest", out, new Tensor[]{x}, g -> {
            Tensor folded = Tensor.empty(g.device(), n, c, h, 1, w, 1);
            g.backend().sum(g.reshapeView(space), folded);
            return new Tensor[]{folded.reshapeView(s)};
        });
    }
}
