package diffir.engine.backend;

/** Elementwise binary kernels with NumPy broadcasting. */
public enum BinaryOp {
    ADD, SUB, MUL, DIV,
    /** max(a, b); the gradient goes to a where a >= b. */
    MAX
}
