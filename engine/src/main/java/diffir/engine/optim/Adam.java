package diffir.engine.optim;

import diffir.engine.Tensor;
import diffir.engine.backend.AdamParams;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * PyTorch's {@code torch.optim.Adam} (no amsgrad): L2 weight decay added to the gradient, bias-corrected
 * moments {@code exp_avg} and {@code exp_avg_sq}, fused update kernels: all parameters of a step at
 * once through {@link diffir.engine.backend.Backend#adamMany} (one launch on CUDA for up to 20).
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
        p.backend().adam(p, g, moment(p, st, "exp_avg"), moment(p, st, "exp_avg_sq"), params(st.step()));
    }

    /** One {@link diffir.engine.backend.Backend#adamMany} per backend and step count (usually one in all). */
    @Override
    protected void updateAll(List<Tensor> ps, List<Tensor> gs, List<ParamState> sts) {
        Map<List<Object>, List<Integer>> groups = new LinkedHashMap<>();
        for (int i = 0; i < ps.size(); i++)
            groups.computeIfAbsent(List.of(ps.get(i).backend(), sts.get(i).step()), k -> new ArrayList<>()).add(i);
        for (List<Integer> group : groups.values()) {
            int n = group.size();
            Tensor[] p = new Tensor[n], g = new Tensor[n], m = new Tensor[n], v = new Tensor[n];
            for (int k = 0; k < n; k++) {
                int i = group.get(k);
                p[k] = ps.get(i);
                g[k] = gs.get(i);
                m[k] = moment(p[k], sts.get(i), "exp_avg");
                v[k] = moment(p[k], sts.get(i), "exp_avg_sq");
            }
            p[0].backend().adamMany(p, g, m, v, params(sts.get(group.get(0)).step()));
        }
    }

    /** The state tensor {@code name} of parameter p, zeros when new. */
    private static Tensor moment(Tensor p, ParamState st, String name) {
        Tensor t = st.get(name);
        if (t == null) {
            t = Tensor.zeros(p.device(), p.shape());
            st.put(name, t);
        }
        return t;
    }

    private AdamParams params(long step) {
        return new AdamParams((float) lr(), beta1, beta2, eps, weightDecay, decoupled, step);
    }

    @Override
    protected List<String> stateNames() {
        return List.of("exp_avg", "exp_avg_sq");
    }
}
