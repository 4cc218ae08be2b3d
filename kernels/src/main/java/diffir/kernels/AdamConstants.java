package diffir.kernels;

import diffir.engine.backend.AdamParams;

/**
 * The scalars of one Adam/AdamW step as PyTorch computes them: in double from the decimal
 * hyper-parameters (1 - 0.999f is 1.3e-5 away from 0.001 relatively, which moves exp_avg_sq), then
 * rounded to float once. weightDecay is the coupled (Adam) term, decay the AdamW parameter scale.
 */
record AdamConstants(float oneMinusBeta1, float oneMinusBeta2, float weightDecay, float decay,
                     float biasCorrection2Sqrt, float stepSize) {
    static AdamConstants of(AdamParams p) {
        double b1 = decimal(p.beta1()), b2 = decimal(p.beta2()), lr = decimal(p.lr()), wd = decimal(p.weightDecay());
        return new AdamConstants(
                (float) (1 - b1),
                (float) (1 - b2),
                p.decoupled() ? 0f : p.weightDecay(),
                p.decoupled() ? (float) (1 - lr * wd) : 1f,
                (float) Math.sqrt(1 - Math.pow(b2, p.step())),
                (float) (lr / (1 - Math.pow(b1, p.step()))));
    }

    /** The decimal a float was written as (0.999f -> 0.999). */
    private static double decimal(float f) {
        return Double.parseDouble(Float.toString(f));
    }
}
