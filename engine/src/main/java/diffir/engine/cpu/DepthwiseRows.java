package diffir.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

import static diffir.engine.cpu.RowKernels.S;
import static diffir.engine.cpu.RowKernels.VL;

/**
 * One channel plane of a depthwise KxK convolution (stride 1, zero padding K/2), one output row at a
 * time. Inner loops run along contiguous rows: the interior columns as vectors with every tap summed in
 * a register, the K/2 border columns on each side with bounds checks.
 */
final class DepthwiseRows {
    private DepthwiseRows() {}

    /**
     * dst[dOff + x] = bias + sum_{i,j} w[wo + i*K + j] * src[plane + (y+i-K/2)*W + x+j-K/2] for x < W,
     * taps outside the H x W plane reading zero.
     */
    static void convRow(float[] src, int plane, int h, int w, float[] wt, int wo, int k, float bias, int y,
                        float[] dst, int dOff) {
        int pad = k / 2;
        int i0 = Math.max(0, pad - y), i1 = Math.min(k, h + pad - y); // tap rows inside the plane
        int xs = Math.min(pad, w), xe = Math.max(xs, w - pad);          // columns where every tap is inside
        int x = xs;
        if (xe - xs >= VL) {
            // Vectors over the interior; the last one is shifted back to end at xe, overlapping its
            // neighbour (it recomputes the same values) instead of leaving a scalar tail.
            if (k == 3 && i0 == 0 && i1 == 3) {
                interior3(src, plane + (y - 1) * w, wt, wo, bias, dst, dOff, xs, xe, w);
            } else {
                FloatVector vb = FloatVector.broadcast(S, bias);
                for (int v = xs; v < xe; v += VL) {
                    int xv = Math.min(v, xe - VL);
                    FloatVector acc = vb;
                    for (int i = i0; i < i1; i++) {
                        int row = plane + (y + i - pad) * w + xv - pad;
                        for (int j = 0; j < k; j++)
                            acc = FloatVector.fromArray(S, src, row + j).fma(FloatVector.broadcast(S, wt[wo + i * k + j]), acc);
                    }
                    acc.intoArray(dst, dOff + xv);
                }
            }
            x = xe;
        }
        for (int c = 0; c < xs; c++) dst[dOff + c] = edge(src, plane, w, wt, wo, k, bias, y, c, i0, i1);
        for (int c = x; c < w; c++) dst[dOff + c] = edge(src, plane, w, wt, wo, k, bias, y, c, i0, i1);
    }

    /** The common 3x3 case on a row with all three tap rows inside: nine weights held in registers. */
    private static void interior3(float[] src, int r0, float[] wt, int wo, float bias, float[] dst, int dOff, int xs, int xe, int w) {
        FloatVector w00 = FloatVector.broadcast(S, wt[wo]), w01 = FloatVector.broadcast(S, wt[wo + 1]), w02 = FloatVector.broadcast(S, wt[wo + 2]);
        FloatVector w10 = FloatVector.broadcast(S, wt[wo + 3]), w11 = FloatVector.broadcast(S, wt[wo + 4]), w12 = FloatVector.broadcast(S, wt[wo + 5]);
        FloatVector w20 = FloatVector.broadcast(S, wt[wo + 6]), w21 = FloatVector.broadcast(S, wt[wo + 7]), w22 = FloatVector.broadcast(S, wt[wo + 8]);
        FloatVector vb = FloatVector.broadcast(S, bias);
        int r1 = r0 + w, r2 = r1 + w;
        for (int v = xs; v < xe; v += VL) {
            int x = Math.min(v, xe - VL);
            FloatVector acc = FloatVector.fromArray(S, src, r0 + x - 1).fma(w00, vb);
            acc = FloatVector.fromArray(S, src, r0 + x).fma(w01, acc);
            acc = FloatVector.fromArray(S, src, r0 + x + 1).fma(w02, acc);
            acc = FloatVector.fromArray(S, src, r1 + x - 1).fma(w10, acc);
            acc = FloatVector.fromArray(S, src, r1 + x).fma(w11, acc);
            acc = FloatVector.fromArray(S, src, r1 + x + 1).fma(w12, acc);
            acc = FloatVector.fromArray(S, src, r2 + x - 1).fma(w20, acc);
            acc = FloatVector.fromArray(S, src, r2 + x).fma(w21, acc);
            acc = FloatVector.fromArray(S, src, r2 + x + 1).fma(w22, acc);
            acc.intoArray(dst, dOff + x);
        }
    }

    /** One output value with bounds checks on the columns (tap rows i0..i1 are inside). */
    private static float edge(float[] src, int plane, int w, float[] wt, int wo, int k, float bias, int y, int x, int i0, int i1) {
        int pad = k / 2;
        float acc = bias;
        for (int i = i0; i < i1; i++) {
            int row = plane + (y + i - pad) * w;
            for (int j = 0; j < k; j++) {
                int c = x + j - pad;
                if (c >= 0 && c < w) acc += wt[wo + i * k + j] * src[row + c];
            }
        }
        return acc;
    }

    /**
     * Weight gradient of one plane: acc[i*K + j] += sum_{y,x} g[y*W + x] * src[plane + (y+i-K/2)*W + x+j-K/2]
     * over the taps inside the plane. One tap at a time over the whole plane, in vector accumulators
     * folded into a double every ~1024 floats.
     */
    static void weightGrad(float[] g, float[] src, int plane, int h, int w, int k, double[] acc) {
        int pad = k / 2, foldRows = Math.max(1, 1024 / Math.max(1, w));
        for (int i = 0; i < k; i++) {
            int y0 = Math.max(0, pad - i), y1 = Math.min(h, h + pad - i); // rows whose tap row is inside
            for (int j = 0; j < k; j++) {
                int dx = j - pad, x0 = Math.max(0, -dx), len = Math.min(w, w - dx) - x0;
                if (len <= 0 || y1 <= y0) continue;
                double total = 0;
                for (int yb = y0; yb < y1; yb += foldRows) {
                    int ye = Math.min(y1, yb + foldRows);
                    FloatVector a0 = FloatVector.zero(S), a1 = a0;
                    for (int y = yb; y < ye; y++) {
                        int go = y * w + x0, so = plane + (y + i - pad) * w + x0 + dx, x = 0;
                        for (; x <= len - 2 * VL; x += 2 * VL) {
                            a0 = FloatVector.fromArray(S, g, go + x).fma(FloatVector.fromArray(S, src, so + x), a0);
                            a1 = FloatVector.fromArray(S, g, go + x + VL).fma(FloatVector.fromArray(S, src, so + x + VL), a1);
                        }
                        for (; x < len; x += VL) {
                            // The rest of the row as masked vector loads rather than a scalar loop.
                            VectorMask<Float> m = S.indexInRange(x, len);
                            a1 = FloatVector.fromArray(S, g, go + x, m).fma(FloatVector.fromArray(S, src, so + x, m), a1);
                        }
                    }
                    total += Lanes.sum(a0.add(a1));
                }
                acc[i * k + j] += total;
            }
        }
    }

    /** out = the KxK kernel at w[wo..] rotated by 180 degrees (the transposed convolution's kernel). */
    static void flip(float[] w, int wo, int kk, float[] out) {
        for (int t = 0; t < kk; t++) out[t] = w[wo + kk - 1 - t];
    }
}
