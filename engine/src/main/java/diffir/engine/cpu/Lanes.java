package diffir.engine.cpu;

import jdk.incubator.vector.FloatVector;

/**
 * A lane sum in one fixed order (lane 0 first). {@code reduceLanes(ADD)} may add lanes in any order, and
 * its JIT-compiled and interpreted forms do differ in the last bit, so results would depend on what the
 * JIT had compiled so far: a resumed training run would then not repeat an uninterrupted one exactly.
 */
final class Lanes {
    private Lanes() {}

    static float sum(FloatVector v) {
        float s = 0f;
        for (int i = 0; i < v.length(); i++) s += v.lane(i);
        return s;
    }
}
