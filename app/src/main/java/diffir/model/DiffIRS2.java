package diffir.model;

import diffir.engine.Tensor;
import diffir.engine.nn.Init;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The S2 network: CPEN_S2 ({@code condition}) gives c from the LQ image, the vector diffusion
 * ({@code denoise}, {@code diffusion}) estimates the IPR in T reverse steps, and G restores the image
 * with it. The diffusion holds the same condition and denoise instances, so the state dict lists their
 * keys twice ({@code diffusion.condition.*}, {@code diffusion.model.*}) as the reference's does, while
 * {@link #namedParameters()} lists each parameter once under {@code condition.*} / {@code denoise.*}.
 */
public final class DiffIRS2 extends DiffIRModel {
    private final DIRformer g;
    private final Cpen condition;
    private final Denoise denoise;
    private final VectorDiffusion diffusion;

    /** The restored image and the IPR estimate it was modulated with. */
    public record Output(Tensor out, Tensor ipr) {}

    public DiffIRS2(Init init, ArchConfig cfg) {
        super(cfg, init);
        g = child("G", new DIRformer(init, cfg));
        condition = child("condition", new Cpen(init, cfg, Stage.S2));
        denoise = child("denoise", new Denoise(init, cfg));
        diffusion = child("diffusion", new VectorDiffusion(init, cfg, denoise, condition));
    }

    /** Inference from a given start noise x_{T-1} (N, ipr). */
    public Output infer(Tensor lq, Tensor noise) {
        Tensor ipr = diffusion.infer(lq, noise).ipr();
        return new Output(g.forward(lq, ipr), ipr);
    }

    /** Inference with the start noise drawn from a seeded standard normal generator. */
    public Output infer(Tensor lq, long seed) {
        return infer(lq, startNoise(lq.dim(0), seed));
    }

    /** Standard normal start noise (n, ipr) from a seed, drawn on the host so every device sees the same values. */
    public Tensor startNoise(int n, long seed) {
        return Tensor.randn(device(), new SplittableRandom(seed), n, config().iprDim());
    }

    /**
     * The joint training stage's forward: the diffusion starts from sqrt(ac[T-1]) IPR_S1 + sqrt(1-ac[T-1]) eps
     * and G consumes its estimate; gradients flow through every step. Loss (the reference's):
     * L1(out, GT) + L1(ipr, IPR_S1).
     */
    public Output trainForward(Tensor lq, Tensor iprS1, Tensor eps) {
        Tensor ipr = diffusion.trainForward(lq, iprS1, eps).ipr();
        return new Output(g.forward(lq, ipr), ipr);
    }

    /** The encoder-only training stage (CPEN_S2 + denoise): IPR_S2 without running G. Loss L1(IPR_S2, IPR_S1). */
    public Tensor encoderForward(Tensor lq, Tensor iprS1, Tensor eps) {
        return diffusion.trainForward(lq, iprS1, eps).ipr();
    }

    /**
     * The parameters the encoder stage trains (CPEN_S2 and denoise; the reference's optimizer_e takes the
     * names containing "condition" or "denoise"), by name.
     */
    public Map<String, Tensor> encoderParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        namedParameters().forEach((k, v) -> {
            if (k.startsWith("condition.") || k.startsWith("denoise.")) out.put(k, v);
        });
        return out;
    }

    @Override
    public DIRformer generator() {
        return g;
    }

    public Cpen condition() {
        return condition;
    }

    public Denoise denoise() {
        return denoise;
    }

    public VectorDiffusion diffusion() {
        return diffusion;
    }

    @Override
    public Stage stage() {
        return Stage.S2;
    }
}
