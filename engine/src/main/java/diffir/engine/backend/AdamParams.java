package diffir.engine.backend;

/**
 * One Adam/AdamW update, PyTorch semantics. With {@code decoupled} (AdamW) the parameter is first
 * scaled by (1 - lr*weightDecay); otherwise (Adam) weightDecay*p is added to the gradient.
 * {@code step} is the 1-based step count after this update, for the bias corrections.
 *
 * <p>Kernels take their constants from the methods below rather than computing them from the float
 * fields: PyTorch computes 1-beta, the bias corrections and the decay factor in double from the
 * decimal hyper-parameters, and 1 - 0.999f differs from 0.001 by 1.3e-5 relative, enough to move
 * exp_avg_sq and the early updates visibly.
 */
public record AdamParams(float lr, float beta1, float beta2, float eps, float weightDecay,
                         boolean decoupled, long step) {
    public AdamParams {
        if (step < 1) throw new IllegalArgumentException("Adam step count must be >= 1, got " + step);
    }

    /** 1 - beta1^step, the first-moment bias correction. */
    public float biasCorrection1() {
        return (float) (1 - Math.pow(decimal(beta1), step));
    }

    /** 1 - beta2^step, the second-moment bias correction. */
    public float biasCorrection2() {
        return (float) (1 - Math.pow(decimal(beta2), step));
    }

    /** sqrt(1 - beta2^step), as PyTorch takes it (in double). */
    public float biasCorrection2Sqrt() {
        return (float) Math.sqrt(1 - Math.pow(decimal(beta2), step));
    }

    /** lr / (1 - beta1^step). */
    public float stepSize() {
        return (float) (decimal(lr) / (1 - Math.pow(decimal(beta1), step)));
    }

    /** Weight of the new gradient in the first moment. */
    public float oneMinusBeta1() {
        return (float) (1 - decimal(beta1));
    }

    /** Weight of the new squared gradient in the second moment. */
    public float oneMinusBeta2() {
        return (float) (1 - decimal(beta2));
    }

    /** AdamW's parameter scale 1 - lr*weightDecay (1 when not decoupled). */
    public float decoupledDecay() {
        return decoupled ? (float) (1 - decimal(lr) * decimal(weightDecay)) : 1f;
    }

    /**
     * The decimal a float hyper-parameter was written as (0.999f -> 0.999): its shortest decimal
     * representation, which is what a config file or PyTorch default holds as a double.
     */
    static double decimal(float f) {
        return Double.parseDouble(Float.toString(f));
    }
}
