package diffir.engine.cpu;

import diffir.engine.backend.BinaryOp;
import diffir.engine.backend.ScalarOp;
import diffir.engine.backend.UnaryOp;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vector API loops for the elementwise kernels over one contiguous run ({@code x[xi .. xi+len)} and
 * so on). Each op has one scalar definition in {@link CpuElementwise}; the lanes here compute the same
 * function: simple ops with the same float operations in the same order (bit-identical results), and
 * the transcendental ones (exp, log, tanh, sigmoid, pow, GELU) in double lanes like their scalar
 * definitions, so they differ from them at most by the last bit of the double exp/log. Tails shorter
 * than a vector use the scalar definitions.
 *
 * <p>Each op has its own loop with a constant vector operator: that is what lets the JIT compile the
 * lanes to plain SIMD instructions.
 */
final class ElementwiseRows {
    private ElementwiseRows() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    /** Double lanes, and float lanes of the same count for loading and storing them. */
    static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    static final int DL = D.length();
    private static final VectorSpecies<Float> DF = VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2));

    private static FloatVector v(float[] a, int i) {
        return FloatVector.fromArray(S, a, i);
    }

    private static DoubleVector wide(float[] a, int i) {
        return (DoubleVector) FloatVector.fromArray(DF, a, i).convertShape(VectorOperators.F2D, D, 0);
    }

    private static void narrow(DoubleVector d, float[] o, int i) {
        ((FloatVector) d.convertShape(VectorOperators.D2F, DF, 0)).intoArray(o, i);
    }

    // ------------------------------------------------------------------ binary

    /** o[i] = x[i] (op) y[i]. */
    static void binary(BinaryOp op, float[] x, int xi, float[] y, int yi, float[] o, int oi, int len) {
        int i = 0, n = S.loopBound(len);
        switch (op) {
            case ADD -> { for (; i < n; i += L) v(x, xi + i).add(v(y, yi + i)).intoArray(o, oi + i); }
            case SUB -> { for (; i < n; i += L) v(x, xi + i).sub(v(y, yi + i)).intoArray(o, oi + i); }
            case MUL -> { for (; i < n; i += L) v(x, xi + i).mul(v(y, yi + i)).intoArray(o, oi + i); }
            case DIV -> { for (; i < n; i += L) v(x, xi + i).div(v(y, yi + i)).intoArray(o, oi + i); }
            case MAX -> { for (; i < n; i += L) v(x, xi + i).max(v(y, yi + i)).intoArray(o, oi + i); }
        }
        for (; i < len; i++) o[oi + i] = CpuElementwise.apply(op, x[xi + i], y[yi + i]);
    }

    /** o[i] = x[i] / s: the one binary case a ScalarOp lacks (x * (1/s) would round differently). */
    static void divideBy(float[] x, int xi, float s, float[] o, int oi, int len) {
        int i = 0, n = S.loopBound(len);
        for (; i < n; i += L) v(x, xi + i).div(s).intoArray(o, oi + i);
        for (; i < len; i++) o[oi + i] = x[xi + i] / s;
    }

    // ------------------------------------------------------------------ tensor-scalar

    /** o[i] = x[i] (op) s. */
    static void scalar(ScalarOp op, float[] x, int xi, float s, float[] o, int oi, int len) {
        int i = 0, n = S.loopBound(len);
        switch (op) {
            case ADD -> { for (; i < n; i += L) v(x, xi + i).add(s).intoArray(o, oi + i); }
            case MUL -> { for (; i < n; i += L) v(x, xi + i).mul(s).intoArray(o, oi + i); }
            case RSUB -> {
                FloatVector vs = FloatVector.broadcast(S, s);
                for (; i < n; i += L) vs.sub(v(x, xi + i)).intoArray(o, oi + i);
            }
            case RDIV -> {
                FloatVector vs = FloatVector.broadcast(S, s);
                for (; i < n; i += L) vs.div(v(x, xi + i)).intoArray(o, oi + i);
            }
            case MAX -> { for (; i < n; i += L) v(x, xi + i).max(s).intoArray(o, oi + i); }
            case MIN -> { for (; i < n; i += L) v(x, xi + i).min(s).intoArray(o, oi + i); }
            case POW -> {
                if (s == 2f) {
                    for (; i < n; i += L) { FloatVector a = v(x, xi + i); a.mul(a).intoArray(o, oi + i); }
                } else if (s == 1f) {
                    System.arraycopy(x, xi, o, oi, n);
                    i = n;
                } else if (s == 0.5f) {
                    for (; i < n; i += L) v(x, xi + i).sqrt().intoArray(o, oi + i);
                } else if (Float.isFinite(s)) { // a NaN or infinite exponent takes the scalar path: C's pow and Java's disagree there
                    int m = D.loopBound(len);
                    for (; i < m; i += DL) narrow(wide(x, xi + i).pow(s), o, oi + i);
                }
            }
        }
        for (; i < len; i++) o[oi + i] = CpuElementwise.apply(op, x[xi + i], s);
    }

    // ------------------------------------------------------------------ unary

    /** o[i] = f(x[i]). */
    static void unary(UnaryOp op, float[] x, int xi, float param, float[] o, int oi, int len) {
        int i = 0, n = S.loopBound(len), m = D.loopBound(len);
        FloatVector zero = FloatVector.zero(S), one = FloatVector.broadcast(S, 1f);
        switch (op) {
            case NEG -> { for (; i < n; i += L) v(x, xi + i).neg().intoArray(o, oi + i); }
            case ABS -> { for (; i < n; i += L) v(x, xi + i).abs().intoArray(o, oi + i); }
            case SQUARE -> { for (; i < n; i += L) { FloatVector a = v(x, xi + i); a.mul(a).intoArray(o, oi + i); } }
            case SQRT -> { for (; i < n; i += L) v(x, xi + i).sqrt().intoArray(o, oi + i); }
            case SIGN -> {
                // +1 above zero, -1 below, x itself otherwise (keeps signed zeros and NaN, like Math.signum).
                for (; i < n; i += L) {
                    FloatVector a = v(x, xi + i);
                    a.blend(one, a.compare(VectorOperators.GT, 0f)).blend(one.neg(), a.compare(VectorOperators.LT, 0f)).intoArray(o, oi + i);
                }
            }
            case RELU -> { for (; i < n; i += L) { FloatVector a = v(x, xi + i); zero.blend(a, a.compare(VectorOperators.GT, 0f)).intoArray(o, oi + i); } }
            case LEAKY_RELU -> {
                for (; i < n; i += L) { FloatVector a = v(x, xi + i); a.mul(param).blend(a, a.compare(VectorOperators.GE, 0f)).intoArray(o, oi + i); }
            }
            case EXP -> { for (; i < m; i += DL) narrow(wide(x, xi + i).lanewise(VectorOperators.EXP), o, oi + i); }
            case LOG -> { for (; i < m; i += DL) narrow(wide(x, xi + i).lanewise(VectorOperators.LOG), o, oi + i); }
            case TANH -> { for (; i < m; i += DL) narrow(wide(x, xi + i).lanewise(VectorOperators.TANH), o, oi + i); }
            case SIGMOID -> {
                DoubleVector d1 = DoubleVector.broadcast(D, 1.0);
                for (; i < m; i += DL) narrow(d1.div(d1.add(wide(x, xi + i).neg().lanewise(VectorOperators.EXP))), o, oi + i);
            }
            case GELU -> { for (; i < m; i += DL) narrow(gelu(wide(x, xi + i)), o, oi + i); }
        }
        for (; i < len; i++) o[oi + i] = CpuElementwise.apply(op, x[xi + i], param);
    }

    /** gx[i] = gy[i] * f'(x[i]) given y = f(x); the derivative is formed as in the scalar definition. */
    static void unaryBackward(UnaryOp op, float[] x, int xi, float[] y, int yi, float[] gy, int gi, float param,
                              float[] gx, int oi, int len) {
        int i = 0, n = S.loopBound(len), m = D.loopBound(len);
        FloatVector zero = FloatVector.zero(S), one = FloatVector.broadcast(S, 1f);
        switch (op) {
            case NEG -> { for (; i < n; i += L) v(gy, gi + i).mul(-1f).intoArray(gx, oi + i); }
            case EXP -> { for (; i < n; i += L) v(gy, gi + i).mul(v(y, yi + i)).intoArray(gx, oi + i); }
            case LOG -> { for (; i < n; i += L) v(gy, gi + i).mul(one.div(v(x, xi + i))).intoArray(gx, oi + i); }
            case SQRT -> {
                FloatVector half = FloatVector.broadcast(S, 0.5f);
                for (; i < n; i += L) v(gy, gi + i).mul(half.div(v(y, yi + i))).intoArray(gx, oi + i);
            }
            case ABS -> {
                for (; i < n; i += L) {
                    FloatVector a = v(x, xi + i);
                    FloatVector sign = a.blend(one, a.compare(VectorOperators.GT, 0f)).blend(one.neg(), a.compare(VectorOperators.LT, 0f));
                    v(gy, gi + i).mul(sign).intoArray(gx, oi + i);
                }
            }
            case SQUARE -> { for (; i < n; i += L) v(gy, gi + i).mul(v(x, xi + i).mul(2f)).intoArray(gx, oi + i); }
            case SIGN -> { for (; i < n; i += L) v(gy, gi + i).mul(0f).intoArray(gx, oi + i); }
            case TANH -> { for (; i < n; i += L) { FloatVector b = v(y, yi + i); v(gy, gi + i).mul(one.sub(b.mul(b))).intoArray(gx, oi + i); } }
            case SIGMOID -> { for (; i < n; i += L) { FloatVector b = v(y, yi + i); v(gy, gi + i).mul(b.mul(one.sub(b))).intoArray(gx, oi + i); } }
            case RELU -> {
                for (; i < n; i += L) v(gy, gi + i).mul(zero.blend(one, v(x, xi + i).compare(VectorOperators.GT, 0f))).intoArray(gx, oi + i);
            }
            case LEAKY_RELU -> {
                FloatVector slope = FloatVector.broadcast(S, param);
                for (; i < n; i += L) v(gy, gi + i).mul(slope.blend(one, v(x, xi + i).compare(VectorOperators.GT, 0f))).intoArray(gx, oi + i);
            }
            case GELU -> {
                for (; i < m; i += DL) {
                    FloatVector d = (FloatVector) geluGrad(wide(x, xi + i)).convertShape(VectorOperators.D2F, DF, 0);
                    FloatVector.fromArray(DF, gy, gi + i).mul(d).intoArray(gx, oi + i);
                }
            }
        }
        for (; i < len; i++) gx[oi + i] = CpuElementwise.grad(op, x[xi + i], y[yi + i], gy[gi + i], param);
    }

    // ------------------------------------------------------------------ GELU in double lanes, as MathF

    /** erfc(x) as {@link MathF#erfc}: t exp(-z^2 + P(t)) with z = |x|, reflected for x < 0. */
    private static DoubleVector erfc(DoubleVector x) {
        DoubleVector z = x.abs();
        DoubleVector t = DoubleVector.broadcast(D, 1.0).div(z.mul(0.5).add(1.0));
        double[] c = MathF.ERFC_POLY;
        DoubleVector p = DoubleVector.broadcast(D, c[c.length - 1]);
        for (int k = c.length - 2; k >= 0; k--) p = t.mul(p).add(c[k]);
        DoubleVector r = t.mul(z.neg().mul(z).add(p).lanewise(VectorOperators.EXP));
        VectorMask<Double> negative = x.compare(VectorOperators.LT, 0.0);
        return r.blend(r.neg().add(2.0), negative);
    }

    /** 0.5 x erfc(-x / sqrt 2), as {@link MathF#gelu}. */
    private static DoubleVector gelu(DoubleVector x) {
        return x.mul(0.5).mul(erfc(x.neg().mul(MathF.INV_SQRT2)));
    }

    /** Phi(x) + x phi(x), as {@link MathF#geluGrad}. */
    private static DoubleVector geluGrad(DoubleVector x) {
        DoubleVector cdf = erfc(x.neg().mul(MathF.INV_SQRT2)).mul(0.5);
        DoubleVector pdf = x.mul(-0.5).mul(x).lanewise(VectorOperators.EXP).mul(MathF.INV_SQRT_2PI);
        return cdf.add(x.mul(pdf));
    }
}
