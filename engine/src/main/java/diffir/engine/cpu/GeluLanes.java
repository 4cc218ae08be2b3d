package diffir.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

import static diffir.engine.cpu.RowKernels.S;
import static diffir.engine.cpu.RowKernels.VL;

/**
 * The lane-wise twin of {@link MathF#gelu} and {@link MathF#geluGrad}: the same erfc fit (Numerical
 * Recipes' erfcc) evaluated in float lanes with the vector exp, for the GDFN gate where scalar double
 * exp would dominate the cost. Tails shorter than a vector use the scalar definitions; a test keeps the
 * two within float rounding of each other. The exp is our own, from IEEE-exact lane operations only: the
 * Vector API's EXP gives different last bits when JIT-compiled and when interpreted, which made training
 * results depend on the JIT's history (a resumed run must repeat an uninterrupted one bit for bit).
 */
final class GeluLanes {
    private GeluLanes() {}

    private static final float INV_SQRT2 = (float) MathF.INV_SQRT2;
    private static final float INV_SQRT_2PI = (float) MathF.INV_SQRT_2PI;

    private static final float LOG2E = 1.44269504f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float ROUNDER = 12582912f; // 1.5 * 2^23: adding and subtracting it rounds to an integer

    /**
     * e^x to about 1 ulp: x = n ln2 + r with |r| <= ln2/2 (Cody-Waite, ln2 in two parts), e^r by its
     * degree-7 Taylor polynomial (truncation below 5e-9), times 2^n built from exponent bits in two
     * halves so results that underflow to subnormals or zero round once. Inputs are clamped to
     * [-104, 89], beyond which e^x is 0 or infinite in float anyway.
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(-104f).min(89f);
        FloatVector n = x.fma(LOG2E, ROUNDER).sub(ROUNDER);
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), x);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = r.fma(1f / 5040, 1f / 720);
        p = p.fma(r, FloatVector.broadcast(S, 1f / 120));
        p = p.fma(r, FloatVector.broadcast(S, 1f / 24));
        p = p.fma(r, FloatVector.broadcast(S, 1f / 6));
        p = p.fma(r, FloatVector.broadcast(S, 0.5f));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        p = p.fma(r, FloatVector.broadcast(S, 1f));
        IntVector k = (IntVector) n.convert(VectorOperators.F2I, 0);
        IntVector k1 = k.lanewise(VectorOperators.ASHR, 1), k2 = k.sub(k1);
        FloatVector s1 = k1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector s2 = k2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(s1).mul(s2);
    }

    /** Phi(x) = 0.5 erfc(-x / sqrt 2). */
    private static FloatVector cdf(FloatVector x) {
        FloatVector z = x.abs().mul(INV_SQRT2);
        FloatVector t = FloatVector.broadcast(S, 1f).div(z.fma(0.5f, 1f));
        FloatVector p = t.fma(0.17087277f, -0.82215223f); // Horner, innermost first
        p = p.fma(t, FloatVector.broadcast(S, 1.48851587f));
        p = p.fma(t, FloatVector.broadcast(S, -1.13520398f));
        p = p.fma(t, FloatVector.broadcast(S, 0.27886807f));
        p = p.fma(t, FloatVector.broadcast(S, -0.18628806f));
        p = p.fma(t, FloatVector.broadcast(S, 0.09678418f));
        p = p.fma(t, FloatVector.broadcast(S, 0.37409196f));
        p = p.fma(t, FloatVector.broadcast(S, 1.00002368f));
        p = p.fma(t, FloatVector.broadcast(S, -1.26551223f));
        // erfc(|x|/sqrt 2) = t * exp(-z^2 + p); Phi(x) is half of it for x <= 0 and one minus half otherwise.
        FloatVector half = t.mul(exp(z.neg().fma(z, p))).mul(0.5f);
        VectorMask<Float> positive = x.compare(VectorOperators.GT, 0f);
        return half.blend(half.neg().add(1f), positive);
    }

    /** out[i] = gelu(a[i]) * b[i]: the GDFN gate. */
    static void gate(float[] a, int ao, float[] b, int bo, float[] out, int oo, int len) {
        int i = 0;
        for (; i <= len - VL; i += VL) {
            FloatVector x = FloatVector.fromArray(S, a, ao + i);
            x.mul(cdf(x)).mul(FloatVector.fromArray(S, b, bo + i)).intoArray(out, oo + i);
        }
        for (; i < len; i++) out[oo + i] = MathF.gelu(a[ao + i]) * b[bo + i];
    }

    /** Backward of the gate, in place: a[i] <- g[i]*b[i]*gelu'(a[i]), b[i] <- g[i]*gelu(a[i]). */
    static void gateBackward(float[] a, int ao, float[] b, int bo, float[] g, int go, int len) {
        int i = 0;
        for (; i <= len - VL; i += VL) {
            FloatVector x = FloatVector.fromArray(S, a, ao + i), gv = FloatVector.fromArray(S, g, go + i);
            FloatVector phi = cdf(x);
            FloatVector pdf = exp(x.mul(x).mul(-0.5f)).mul(INV_SQRT_2PI);
            FloatVector grad = x.fma(pdf, phi);
            gv.mul(FloatVector.fromArray(S, b, bo + i)).mul(grad).intoArray(a, ao + i);
            gv.mul(x.mul(phi)).intoArray(b, bo + i);
        }
        for (; i < len; i++) {
            float x = a[ao + i], gv = g[go + i];
            a[ao + i] = gv * b[bo + i] * MathF.geluGrad(x);
            b[bo + i] = gv * MathF.gelu(x);
        }
    }
}
