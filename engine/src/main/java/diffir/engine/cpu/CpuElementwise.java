package diffir.engine.cpu;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.backend.BinaryOp;
import diffir.engine.backend.ScalarOp;
import diffir.engine.backend.UnaryOp;

import static diffir.engine.cpu.CpuBackend.data;

/** CPU kernels for data movement, elementwise math and sums. */
final class CpuElementwise {
    private CpuElementwise() {}

    static final int GRAIN = 32768;

    static void fill(Tensor out, float v) {
        float[] o = data(out);
        int base = (int) out.offset();
        Parallel.range(Math.toIntExact(out.numel()), GRAIN, (f, t) -> java.util.Arrays.fill(o, base + f, base + t, v));
    }

    static void copyStrided(Tensor src, long srcOffset, long[] srcStrides, Tensor dst, long dstOffset, long[] dstStrides, int[] shape) {
        if (Shapes.numel(shape) == 0) return;
        float[] s = data(src), d = data(dst);
        Strided.Plan p = Strided.plan(shape, srcStrides, dstStrides);
        Strided.forEachRow(p, new long[]{src.offset() + srcOffset, dst.offset() + dstOffset}, (off, step, len) -> {
            int si = (int) off[0], di = (int) off[1];
            int ss = (int) step[0], ds = (int) step[1];
            if (ss == 1 && ds == 1) {
                System.arraycopy(s, si, d, di, len);
            } else if (ss == 0) {
                float v = s[si];
                for (int i = 0; i < len; i++) d[di + i * ds] = v;
            } else {
                for (int i = 0; i < len; i++) d[di + i * ds] = s[si + i * ss];
            }
        });
    }

    static void binary(BinaryOp op, Tensor a, Tensor b, Tensor out) {
        int[] shape = out.shape();
        if (!Shapes.same(Shapes.broadcast(a.shape(), b.shape()), shape))
            throw new IllegalArgumentException(op + ": " + Shapes.str(a.shape()) + " and " + Shapes.str(b.shape()) + " do not broadcast to " + Shapes.str(shape));
        if (out.numel() == 0) return;
        float[] x = data(a), y = data(b), o = data(out);
        int xb = (int) a.offset(), yb = (int) b.offset(), ob = (int) out.offset();
        if (Shapes.same(a.shape(), shape) && Shapes.same(b.shape(), shape)) {
            // Same shapes: one flat run, split over the cores.
            Parallel.range(Math.toIntExact(out.numel()), GRAIN, (f, t) ->
                    ElementwiseRows.binary(op, x, xb + f, y, yb + f, o, ob + f, t - f));
            return;
        }
        Strided.Plan p = Strided.plan(shape, Shapes.broadcastStrides(a.shape(), shape),
                Shapes.broadcastStrides(b.shape(), shape), Shapes.strides(shape));
        Strided.forEachRow(p, new long[]{xb, yb, ob}, (off, step, len) ->
                binaryRow(op, x, (int) off[0], (int) step[0], y, (int) off[1], (int) step[1], o, (int) off[2], len));
    }

    /** One output row; each operand steps by 1 along it or is broadcast (step 0). */
    private static void binaryRow(BinaryOp op, float[] x, int xi, int xs, float[] y, int yi, int ys, float[] o, int oi, int len) {
        if (xs == 1 && ys == 1) {
            ElementwiseRows.binary(op, x, xi, y, yi, o, oi, len);
        } else if (xs == 1 && ys == 0) {
            float s = y[yi];
            switch (op) {
                case ADD -> ElementwiseRows.scalar(ScalarOp.ADD, x, xi, s, o, oi, len);
                case SUB -> ElementwiseRows.scalar(ScalarOp.ADD, x, xi, -s, o, oi, len); // x + (-s) == x - s exactly
                case MUL -> ElementwiseRows.scalar(ScalarOp.MUL, x, xi, s, o, oi, len);
                case DIV -> ElementwiseRows.divideBy(x, xi, s, o, oi, len);
                case MAX -> ElementwiseRows.scalar(ScalarOp.MAX, x, xi, s, o, oi, len);
            }
        } else if (xs == 0 && ys == 1) {
            float s = x[xi];
            ScalarOp swapped = switch (op) {
                case ADD -> ScalarOp.ADD;
                case SUB -> ScalarOp.RSUB;
                case MUL -> ScalarOp.MUL;
                case DIV -> ScalarOp.RDIV;
                case MAX -> ScalarOp.MAX;
            };
            ElementwiseRows.scalar(swapped, y, yi, s, o, oi, len);
        } else {
            java.util.Arrays.fill(o, oi, oi + len, apply(op, x[xi], y[yi]));
        }
    }

    static void scalar(ScalarOp op, Tensor a, float s, Tensor out) {
        float[] x = data(a), o = data(out);
        int xb = (int) a.offset(), ob = (int) out.offset();
        Parallel.range(Math.toIntExact(out.numel()), GRAIN, (f, t) -> ElementwiseRows.scalar(op, x, xb + f, s, o, ob + f, t - f));
    }

    static void unary(UnaryOp op, Tensor a, float param, Tensor out) {
        float[] x = data(a), o = data(out);
        int xb = (int) a.offset(), ob = (int) out.offset();
        Parallel.range(Math.toIntExact(out.numel()), GRAIN, (f, t) -> ElementwiseRows.unary(op, x, xb + f, param, o, ob + f, t - f));
    }

    static void unaryBackward(UnaryOp op, Tensor xT, Tensor yT, Tensor gyT, float param, Tensor gxT) {
        float[] x = data(xT), y = data(yT), gy = data(gyT), gx = data(gxT);
        int xb = (int) xT.offset(), yb = (int) yT.offset(), gb = (int) gyT.offset(), ob = (int) gxT.offset();
        Parallel.range(Math.toIntExact(gxT.numel()), GRAIN, (f, t) ->
                ElementwiseRows.unaryBackward(op, x, xb + f, y, yb + f, gy, gb + f, param, gx, ob + f, t - f));
    }

    // ------------------------------------------------------------------ the scalar definitions

    // One definition of each function; ElementwiseRows computes the same in vector lanes.

    static float apply(BinaryOp op, float a, float b) {
        return switch (op) {
            case ADD -> a + b;
            case SUB -> a - b;
            case MUL -> a * b;
            case DIV -> a / b;
            case MAX -> Math.max(a, b);
        };
    }

    static float apply(ScalarOp op, float x, float s) {
        return switch (op) {
            case ADD -> x + s;
            case MUL -> x * s;
            case RSUB -> s - x;
            case RDIV -> s / x;
            case POW -> pow(x, s);
            case MAX -> Math.max(x, s);
            case MIN -> Math.min(x, s);
        };
    }

    private static float pow(float x, float s) {
        if (s == 2f) return x * x;
        if (s == 1f) return x;
        if (s == 0.5f) return (float) Math.sqrt(x);
        return (float) Math.pow(x, s);
    }

    static float apply(UnaryOp op, float v, float param) {
        return switch (op) {
            case NEG -> -v;
            case EXP -> (float) Math.exp(v);
            case LOG -> (float) Math.log(v);
            case SQRT -> (float) Math.sqrt(v);
            case ABS -> Math.abs(v);
            case SQUARE -> v * v;
            case SIGN -> Math.signum(v);
            case TANH -> (float) Math.tanh(v);
            case SIGMOID -> (float) (1.0 / (1.0 + Math.exp(-v)));
            case RELU -> v > 0 ? v : 0f;
            case LEAKY_RELU -> v >= 0 ? v : v * param;
            case GELU -> MathF.gelu(v);
        };
    }

    /** g * f'(x), given x, y = f(x) and the upstream gradient g. */
    static float grad(UnaryOp op, float xv, float yv, float g, float param) {
        float d = switch (op) {
            case NEG -> -1f;
            case EXP -> yv;
            case LOG -> 1f / xv;
            case SQRT -> 0.5f / yv;
            case ABS -> Math.signum(xv);
            case SQUARE -> 2f * xv;
            case SIGN -> 0f;
            case TANH -> 1f - yv * yv;
            case SIGMOID -> yv * (1f - yv);
            case RELU -> xv > 0 ? 1f : 0f;
            case LEAKY_RELU -> xv > 0 ? 1f : param;
            case GELU -> MathF.geluGrad(xv);
        };
        return g * d;
    }

    /** Sums a over the axes where out has size 1; accumulates in double. */
    static void sum(Tensor a, Tensor out) {
        int[] as = a.shape(), os = out.shape();
        if (as.length != os.length) throw new IllegalArgumentException("sum: ranks differ " + Shapes.str(as) + " -> " + Shapes.str(os));
        for (int i = 0; i < as.length; i++)
            if (os[i] != as[i] && os[i] != 1) throw new IllegalArgumentException("sum: " + Shapes.str(as) + " -> " + Shapes.str(os));
        float[] x = data(a), o = data(out);
        int r = as.length;
        long[] ast = Shapes.strides(as);
        // Split axes into kept (iterate per output) and reduced (iterate per input).
        int[] keptShape = new int[r], redShape = new int[r];
        long[] keptStr = new long[r], redStr = new long[r];
        for (int i = 0; i < r; i++) {
            boolean red = os[i] == 1 && as[i] != 1;
            keptShape[i] = red ? 1 : as[i];
            keptStr[i] = red ? 0 : ast[i];
            redShape[i] = red ? as[i] : 1;
            redStr[i] = red ? ast[i] : 0;
        }
        int outN = Math.toIntExact(out.numel());
        long redN = Shapes.numel(redShape);
        long abase = a.offset();
        int obase = (int) out.offset();
        if (outN == 0) return;
        if (redN == 0) {
            java.util.Arrays.fill(o, obase, obase + outN, 0f);
            return;
        }
        Strided.Plan red = Strided.plan(redShape, redStr);
        if (outN == 1) {
            // One output: split the reduction over the cores.
            int len = red.shape[red.shape.length - 1];
            int rows = Math.toIntExact(redN / len);
            double[] partial = new double[Parallel.THREADS + 1];
            int chunks = Math.min(Parallel.THREADS, Math.max(1, rows));
            Parallel.range(chunks, 1, (f, t) -> {
                for (int c = f; c < t; c++) {
                    int from = (int) ((long) rows * c / chunks), to = (int) ((long) rows * (c + 1) / chunks);
                    partial[c] = sumRows(x, red, abase, from, to);
                }
            });
            double s = 0;
            for (double p : partial) s += p;
            o[obase] = (float) s;
            return;
        }
        Strided.Plan kept = Strided.plan(keptShape, keptStr);
        int[] keptIdxShape = kept.shape;
        long[] keptStrides = kept.strides[0];
        int len = red.shape[red.shape.length - 1];
        int redRows = Math.toIntExact(redN / len);
        Parallel.range(outN, Math.max(1, (int) (GRAIN / redN)), (f, t) -> {
            for (int oi = f; oi < t; oi++) {
                long rem = oi, start = abase;
                for (int i = keptIdxShape.length - 1; i >= 0; i--) {
                    start += (rem % keptIdxShape[i]) * keptStrides[i];
                    rem /= keptIdxShape[i];
                }
                o[obase + oi] = (float) sumRows(x, red, start, 0, redRows);
            }
        });
    }

    /** Sum of rows [from, to) of a collapsed reduction plan starting at base. */
    private static double sumRows(float[] x, Strided.Plan red, long base, int from, int to) {
        int r = red.shape.length;
        int len = red.shape[r - 1];
        long step = red.strides[0][r - 1];
        double s = 0;
        for (int row = from; row < to; row++) {
            long rem = row, off = base;
            for (int i = r - 2; i >= 0; i--) {
                off += (rem % red.shape[i]) * red.strides[0][i];
                rem /= red.shape[i];
            }
            int p = (int) off;
            if (step == 1) {
                // Float partial sums over short blocks, double across blocks: fast and accurate.
                for (int b = 0; b < len; b += 256) {
                    int e = Math.min(len, b + 256);
                    float acc0 = 0, acc1 = 0;
                    int i = b;
                    for (; i + 1 < e; i += 2) {
                        acc0 += x[p + i];
                        acc1 += x[p + i + 1];
                    }
                    if (i < e) acc0 += x[p + i];
                    s += (double) acc0 + acc1;
                }
            } else {
                for (int i = 0; i < len; i++) s += x[p + (int) (i * step)];
            }
        }
        return s;
    }
}
