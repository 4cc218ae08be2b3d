package diffir.engine.backend;

/** Elementwise kernels of a tensor and a float scalar s. */
public enum ScalarOp {
    /** a + s */
    ADD,
    /** a * s */
    MUL,
    /** s - a */
    RSUB,
    /** s / a */
    RDIV,
    /** a ^ s */
    POW,
    /** max(a, s) */
    MAX,
    /** min(a, s) */
    MIN
}
