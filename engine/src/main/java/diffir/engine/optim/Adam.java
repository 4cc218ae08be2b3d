package diffir.engine.optim;

import diffir.engine.Tensor;
import diffir.engine.backend.AdamParams;

import java.util.List;
import java.util.Map;

/**
 * PyTorch's {@code torch.optim.Adam} (no amsgrad): L2 weight decay added to the gradient, bias-corrected
 * moments {@code exp_avg} and {@code exp_avg_sq}, one fused {@link diffir.engine.backend.Backend#adam}
 * kernel per parameter.
 */
public class Adam extends Optimizer {
    private final float beta1, beta2, eps, weightDecay;
    private final boolean decoupled;

    /** PyTorch's defaults: betas (0.9, 0.999), eps 1e-8, no weight decay. */
    public Adam(Map<String, Tensor> params, double lr) {
        this(params, lr, 0.9, 0.999, 1e-8, 0);
    }

    public Adam(Map<String, Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay) {
        this(params, lr, beta1, beta2, eps, weightDecay, false);
    }

    Adam(Map<String, Tensor> params, double lr, double beta1, double beta2, double eps, double weightDecay, boolean decoupled) {
        super(params, lr);
        if (!(beta1 >= 0 && beta1 < 1)) throw new IllegalArgumentException("invalid beta1: " + beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw new IllegalArgumentException("invalid beta2: " + beta2);
        if (!(eps >= 0)) throw new IllegalArgumentException("invalid epsilon: " + eps);
        if (!(weightDecay >= 0)) throw new IllegalArgumentException("invalid weight decay: " + weightDecay);
        this.beta1 = (float) beta1;
        this.beta2 = (float) beta2;
        this.eps = (float) eps;
        this.weightDecay = (float) weightDecay;
        this.decoupled = decoupled;
    }

    @Override
    protected void update(Tensor p, Tensor g, ParamState st) {
        Tensor m = st.get("exp_avg"), v = st.get("exp_avg_sq");
        if (m == null) {
            m = Tensor.zeros(p.device(), p.shape());
            v = Tensor.zeros(p.device(), p.shape());
            st.put("exp_avg", m);
            st.put("exp_avg_sq", v);
        }
        p.backend().adam(p, g, m, v, new AdamParams((float) lr(), beta1, beta2, eps, weightDecay, decoupled, st.step()));
    }

    @Override
    protected List<String> stateNames() {
        return List.of("exp_avg", "exp_avg_sq");
    }
}
