package diffir.engine.cpu;

import jdk.incubator.vector.FloatVector;

import static diffir.engine.cpu.RowKernels.S;
import static diffir.engine.cpu.RowKernels.VL;

/**
 * Depthwise KxK correlation (stride 1, zero padding K/2, K odd) of small planes, whole vectors only.
 *
 * <p>Row by row, a plane narrower than a few vectors leaves mostly scalar work: the K/2 border columns
 * of every row, and below one vector's width every column (at 8 or 16 pixels, DIRformer's deeper levels
 * at 64 px, all of it). Here a plane is laid out <em>flat</em> with a row pitch {@code p = w + K - 1}:
 * output pixel (y, x) is at {@code y*p + x}, and columns w .. p-1 of each row are junk. In the zero-padded
 * input (same pitch, K/2 zero rows above) the tap (r, s) of flat output q then reads {@code q + r*p + s}
 * whatever the row, so one vector loop runs over the whole plane. A flat array whose junk columns are
 * zero is itself the padded plane of the same data shifted by {@code (K/2)*(p + 1)}: the backward pass
 * pads a gradient by copying it once.
 *
 * <p>Flat arrays are {@link #flatLength} long (whole vectors), padded ones {@link #paddedLength} (whole
 * vectors past the last tap's reach); both are scratch of the caller.
 */
final class FlatPlanes {
    private FlatPlanes() {}

    /**
     * Planes at most this wide take the flat path; wider ones run row by row, where the border columns
     * are a small share and the flat layout's extra copies would cost more than they save.
     */
    static final int MAX_WIDTH = Integer.getInteger("diffir.cpu.flatWidth", 32);

    /**
     * The same limit for the gated conv of GDFN, whose flat path pays its copies once for two planes and
     * a GELU: at 64 wide it is 25% faster than rows (forward and backward of [4,128,64,64], the small
     * training config's level 1), where a plain depthwise conv's backward is 30% slower.
     */
    static final int GATED_MAX_WIDTH = Integer.getInteger("diffir.cpu.flatWidthGated", 64);

    /** Whether a depthwise correlation of this shape (stride 1, padding K/2, K odd and square) takes the flat path. */
    static boolean applies(int w, int kh, int kw, int strideH, int strideW, int padH, int padW) {
        return w <= MAX_WIDTH && kh == kw && kh % 2 == 1 && strideH == 1 && strideW == 1 && padH == kh / 2 && padW == kw / 2;
    }

    /** Per-thread scratch planes, grown on demand: index i is the i-th buffer a kernel asks for. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[6][0]);

    /** Scratch buffer i (i < 6) of this thread, at least n floats (contents undefined). */
    static float[] scratch(int i, int n) {
        float[][] s = SCRATCH.get();
        if (s[i].length < n) s[i] = new float[n];
        return s[i];
    }

    static int pitch(int w, int k) {
        return w + k - 1;
    }

    /** Length of a flat plane: h rows of pitch p, rounded up to whole vectors. */
    static int flatLength(int h, int w, int k) {
        return roundUp(h * pitch(w, k));
    }

    /** Length of a padded plane: every tap of every vector of the flat output stays inside. */
    static int paddedLength(int h, int w, int k) {
        int p = pitch(w, k);
        return flatLength(h, w, k) + (k - 1) * (p + 1) + VL;
    }

    private static int roundUp(int n) {
        return (n + VL - 1) / VL * VL;
    }

    /** pad (paddedLength) = the h x w plane at src[so] with K/2 zeros around it, pitch w + K - 1. */
    static void pad(float[] src, int so, int h, int w, int k, float[] pad) {
        int p = pitch(w, k), r = k / 2, len = paddedLength(h, w, k);
        FloatCopy.zero(pad, 0, len);
        for (int y = 0; y < h; y++) FloatCopy.copy(src, so + y * w, pad, (y + r) * p + r, w);
    }

    /** flat (flatLength) = the h x w plane at src[so] in flat layout, junk columns zero. */
    static void toFlat(float[] src, int so, int h, int w, int k, float[] flat) {
        int p = pitch(w, k);
        FloatCopy.zero(flat, 0, flatLength(h, w, k));
        for (int y = 0; y < h; y++) FloatCopy.copy(src, so + y * w, flat, y * p, w);
    }

    /** dst[dOff + y*w + x] = flat[y*p + x]: the plane without its junk columns. */
    static void fromFlat(float[] flat, int h, int w, int k, float[] dst, int dOff) {
        int p = pitch(w, k);
        for (int y = 0; y < h; y++) FloatCopy.copy(flat, y * p, dst, dOff + y * w, w);
    }

    /** A flat plane with zero junk as a padded plane: pad = flat shifted by (K/2)*(p+1), zeros elsewhere. */
    static void padFlat(float[] flat, int h, int w, int k, float[] pad) {
        int p = pitch(w, k), shift = (k / 2) * (p + 1), len = paddedLength(h, w, k);
        FloatCopy.zero(pad, 0, shift);
        System.arraycopy(flat, 0, pad, shift, h * p);
        FloatCopy.zero(pad, shift + h * p, len - shift - h * p);
    }

    /** out (flatLength) = bias + correlation of the padded plane with the K x K taps at wt[wo]. */
    static void correlate(float[] pad, int h, int w, int k, float[] wt, int wo, float bias, float[] out) {
        int p = pitch(w, k), n = flatLength(h, w, k);
        if (k == 3) {
            correlate3(pad, p, n, wt, wo, bias, out);
            return;
        }
        FloatVector vb = FloatVector.broadcast(S, bias);
        for (int q = 0; q < n; q += VL) {
            FloatVector acc = vb;
            for (int r = 0; r < k; r++)
                for (int s = 0; s < k; s++)
                    acc = FloatVector.fromArray(S, pad, q + r * p + s).fma(FloatVector.broadcast(S, wt[wo + r * k + s]), acc);
            acc.intoArray(out, q);
        }
    }

    private static void correlate3(float[] pad, int p, int n, float[] wt, int wo, float bias, float[] out) {
        FloatVector w0 = FloatVector.broadcast(S, wt[wo]), w1 = FloatVector.broadcast(S, wt[wo + 1]), w2 = FloatVector.broadcast(S, wt[wo + 2]);
        FloatVector w3 = FloatVector.broadcast(S, wt[wo + 3]), w4 = FloatVector.broadcast(S, wt[wo + 4]), w5 = FloatVector.broadcast(S, wt[wo + 5]);
        FloatVector w6 = FloatVector.broadcast(S, wt[wo + 6]), w7 = FloatVector.broadcast(S, wt[wo + 7]), w8 = FloatVector.broadcast(S, wt[wo + 8]);
        FloatVector vb = FloatVector.broadcast(S, bias);
        int p2 = 2 * p;
        for (int q = 0; q < n; q += VL) {
            FloatVector acc = FloatVector.fromArray(S, pad, q).fma(w0, vb);
            acc = FloatVector.fromArray(S, pad, q + 1).fma(w1, acc);
            acc = FloatVector.fromArray(S, pad, q + 2).fma(w2, acc);
            acc = FloatVector.fromArray(S, pad, q + p).fma(w3, acc);
            acc = FloatVector.fromArray(S, pad, q + p + 1).fma(w4, acc);
            acc = FloatVector.fromArray(S, pad, q + p + 2).fma(w5, acc);
            acc = FloatVector.fromArray(S, pad, q + p2).fma(w6, acc);
            acc = FloatVector.fromArray(S, pad, q + p2 + 1).fma(w7, acc);
            acc = FloatVector.fromArray(S, pad, q + p2 + 2).fma(w8, acc);
            acc.intoArray(out, q);
        }
    }

    /**
     * acc[r*K + s] += sum over output pixels of g[y][x] * input[y + r - K/2][x + s - K/2]: the weight
     * gradient of one plane, from g flat with zero junk and the padded input. Sums in float lanes, folded
     * into the double accumulators once per plane (small planes: a few hundred floats).
     */
    static void weightGrad(float[] gFlat, float[] pad, int h, int w, int k, double[] acc) {
        int p = pitch(w, k), n = flatLength(h, w, k);
        if (k == 3) {
            weightGrad3(gFlat, pad, p, n, acc);
            return;
        }
        for (int r = 0; r < k; r++)
            for (int s = 0; s < k; s++) {
                FloatVector a = FloatVector.zero(S);
                int shift = r * p + s;
                for (int q = 0; q < n; q += VL)
                    a = FloatVector.fromArray(S, gFlat, q).fma(FloatVector.fromArray(S, pad, q + shift), a);
                acc[r * k + s] += Lanes.sum(a);
            }
    }

    private static void weightGrad3(float[] g, float[] pad, int p, int n, double[] acc) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0, a8 = a0;
        int p2 = 2 * p;
        for (int q = 0; q < n; q += VL) {
            FloatVector v = FloatVector.fromArray(S, g, q);
            a0 = v.fma(FloatVector.fromArray(S, pad, q), a0);
            a1 = v.fma(FloatVector.fromArray(S, pad, q + 1), a1);
            a2 = v.fma(FloatVector.fromArray(S, pad, q + 2), a2);
            a3 = v.fma(FloatVector.fromArray(S, pad, q + p), a3);
            a4 = v.fma(FloatVector.fromArray(S, pad, q + p + 1), a4);
            a5 = v.fma(FloatVector.fromArray(S, pad, q + p + 2), a5);
            a6 = v.fma(FloatVector.fromArray(S, pad, q + p2), a6);
            a7 = v.fma(FloatVector.fromArray(S, pad, q + p2 + 1), a7);
            a8 = v.fma(FloatVector.fromArray(S, pad, q + p2 + 2), a8);
        }
        acc[0] += Lanes.sum(a0);
        acc[1] += Lanes.sum(a1);
        acc[2] += Lanes.sum(a2);
        acc[3] += Lanes.sum(a3);
        acc[4] += Lanes.sum(a4);
        acc[5] += Lanes.sum(a5);
        acc[6] += Lanes.sum(a6);
        acc[7] += Lanes.sum(a7);
        acc[8] += Lanes.sum(a8);
    }
}
