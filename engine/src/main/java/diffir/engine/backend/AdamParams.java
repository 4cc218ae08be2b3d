package diffir.engine.backend;

/**
 * One Adam/AdamW update, PyTorch semantics. With {@code decoupled} (AdamW) the parameter is first
 * scaled by (1 - lr*weightDecay); otherwise (Adam) weightDecay*p is added to the gradient.
 * {@code step} is the 1-based step count after this update, for the bias corrections.
 */
public record AdamParams(float lr, float beta1, float beta2, float eps, float weightDecay,
                         boolean decoupled, long step) {
    public float biasCorrection1() {
        return (float) (1 - Math.pow(beta1, step));
    }

    public float biasCorrection2() {
        return (float) (1 - Math.pow(beta2, step));
    }
}
