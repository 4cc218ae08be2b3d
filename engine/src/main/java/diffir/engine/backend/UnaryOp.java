package diffir.engine.backend;

/**
 * Elementwise unary kernels. {@code param} is used by LEAKY_RELU (negative slope) and ignored by the
 * others. Backward kernels get x, y = f(x) and dy and write dx.
 */
public enum UnaryOp {
    NEG, EXP, LOG, SQRT, ABS, SQUARE, SIGN, TANH, SIGMOID, RELU,
    /** x >= 0 ? x : param * x */
    LEAKY_RELU,
    /** exact GELU: 0.5 x (1 + erf(x / sqrt 2)) */
    GELU
}
