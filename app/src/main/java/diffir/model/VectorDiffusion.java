package diffir.model;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.nn.Init;
import diffir.engine.nn.Module;
import diffir.engine.ops.Ops;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The DDPM on the IPR vector (the reference's ldm DDPM as DiffIR uses it): x0-prediction, and every
 * reverse step returns the posterior mean, {@code x_{t-1} = coef1[t] x0 + coef2[t] x_t}, with no noise and
 * no clamp. Holds the reference's 12 schedule buffers (computed in double, stored float32; values loaded
 * from a checkpoint replace them) and, as children {@code model} and {@code condition}, the same denoise
 * and CPEN_S2 instances as the enclosing {@link DiffIRS2}, so the checkpoint keys appear twice as in the
 * reference while the parameters exist once.
 */
public final class VectorDiffusion extends Module {
    /** The buffer names, in the reference's registration order. */
    public static final List<String> BUFFERS = List.of("betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod",
            "sqrt_one_minus_alphas_cumprod", "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod",
            "sqrt_recipm1_alphas_cumprod", "posterior_variance", "posterior_log_variance_clipped",
            "posterior_mean_coef1", "posterior_mean_coef2");

    private final int timesteps;
    private final Tensor sqrtAc, sqrtOneMinusAc, coef1, coef2;
    private final Denoise model;
    private final Cpen condition;

    /** What the chain produced: the IPR (the last step), the condition c and every step's x_{t-1} (t = T-1..0). */
    public record Trace(Tensor ipr, Tensor c, List<Tensor> steps) {}

    public VectorDiffusion(Init init, ArchConfig cfg, Denoise model, Cpen condition) {
        timesteps = cfg.timesteps();
        Map<String, Tensor> bufs = new LinkedHashMap<>();
        schedule(cfg).forEach((k, v) -> bufs.put(k, buffer(k, Tensor.of(init.device(), v, v.length))));
        sqrtAc = bufs.get("sqrt_alphas_cumprod");
        sqrtOneMinusAc = bufs.get("sqrt_one_minus_alphas_cumprod");
        coef1 = bufs.get("posterior_mean_coef1");
        coef2 = bufs.get("posterior_mean_coef2");
        this.model = child("model", model);
        this.condition = child("condition", condition);
    }

    /**
     * The schedule as ldm/ddpm.py's register_schedule computes it for the "linear" schedule: betas =
     * linspace(sqrt(start), sqrt(end), T)^2 in double, then every buffer in double, rounded to float32.
     */
    public static Map<String, float[]> schedule(ArchConfig cfg) {
        int n = cfg.timesteps();
        double[] betas = new double[n], alphas = new double[n], ac = new double[n], acPrev = new double[n];
        double a = Math.sqrt(cfg.linearStart()), b = Math.sqrt(cfg.linearEnd());
        double step = n > 1 ? (b - a) / (n - 1) : 0;
        for (int i = 0; i < n; i++) {
            // torch.linspace fills the first half from the start and the second half from the end.
            double v = i < n / 2 ? a + step * i : b - step * (n - 1 - i);
            betas[i] = v * v;
            alphas[i] = 1 - betas[i];
            ac[i] = (i == 0 ? 1 : ac[i - 1]) * alphas[i];
            acPrev[i] = i == 0 ? 1 : ac[i - 1];
        }
        Map<String, float[]> out = new LinkedHashMap<>();
        for (String name : BUFFERS) {
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                double postVar = betas[i] * (1 - acPrev[i]) / (1 - ac[i]);
                v[i] = (float) switch (name) {
                    case "betas" -> betas[i];
                    case "alphas_cumprod" -> ac[i];
                    case "alphas_cumprod_prev" -> acPrev[i];
                    case "sqrt_alphas_cumprod" -> Math.sqrt(ac[i]);
                    case "sqrt_one_minus_alphas_cumprod" -> Math.sqrt(1 - ac[i]);
                    case "log_one_minus_alphas_cumprod" -> Math.log(1 - ac[i]);
                    case "sqrt_recip_alphas_cumprod" -> Math.sqrt(1 / ac[i]);
                    case "sqrt_recipm1_alphas_cumprod" -> Math.sqrt(1 / ac[i] - 1);
                    case "posterior_variance" -> postVar;
                    case "posterior_log_variance_clipped" -> Math.log(Math.max(postVar, 1e-20));
                    case "posterior_mean_coef1" -> betas[i] * Math.sqrt(acPrev[i]) / (1 - ac[i]);
                    case "posterior_mean_coef2" -> (1 - acPrev[i]) * Math.sqrt(alphas[i]) / (1 - ac[i]);
                    default -> throw new IllegalStateException(name);
                };
            }
            out.put(name, v);
        }
        return out;
    }

    /** Inference: c = CPEN_S2(lq), then the reverse chain from the given x_{T-1} (N, ipr). */
    public Trace infer(Tensor lq, Tensor noise) {
        Tensor c = condition.forward(lq);
        checkVector(noise, c, "start noise");
        return reverse(noise, c);
    }

    /**
     * Training: x_{T-1} = sqrt(ac[T-1]) IPR_S1 + sqrt(1 - ac[T-1]) eps, then the same reverse chain, with
     * gradients through every step.
     */
    public Trace trainForward(Tensor lq, Tensor iprS1, Tensor eps) {
        Tensor c = condition.forward(lq);
        checkVector(iprS1, c, "IPR_S1");
        checkVector(eps, c, "eps");
        int last = timesteps - 1;
        Tensor x = Ops.add(Ops.mul(iprS1, at(sqrtAc, last)), Ops.mul(eps, at(sqrtOneMinusAc, last)));
        return reverse(x, c);
    }

    private Trace reverse(Tensor x, Tensor c) {
        List<Tensor> steps = new ArrayList<>(timesteps);
        for (int t = timesteps - 1; t >= 0; t--) {
            Tensor x0 = model.forward(x, t, c);
            x = Ops.add(Ops.mul(x0, at(coef1, t)), Ops.mul(x, at(coef2, t)));
            steps.add(x);
        }
        return new Trace(x, c, steps);
    }

    /** Element t of a schedule buffer as a one-element view: read on the device, always the loaded value. */
    private static Tensor at(Tensor buffer, int t) {
        return buffer.narrowView(t, 1);
    }

    private static void checkVector(Tensor v, Tensor c, String what) {
        if (!Shapes.same(v.shape(), c.shape()))
            throw new IllegalArgumentException(what + " must have shape " + Shapes.str(c.shape()) + " (batch, IPR length), got " + Shapes.str(v.shape()));
    }

    public int timesteps() {
        return timesteps;
    }
}
