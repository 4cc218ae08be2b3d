package diffir.engine.optim;

import diffir.engine.Tensor;

import java.util.Map;

/** PyTorch's {@code torch.optim.AdamW}: Adam with decoupled weight decay, {@code p *= 1 - lr*wd} before the update. */
public final class AdamW extends Adam {
    /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
    public AdamW(Map<String, Tensor> params, double lr) {
        this(params, lr, 0.9, 0.999, 1e-8, 1e-2);
    }

    public AdamW(Map<String, Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay) {
        super(params, lr, beta1, beta2, eps, weightDecay, true);
    }
}
