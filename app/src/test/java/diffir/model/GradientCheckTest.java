package diffir.model;

import diffir.engine.Tensor;
import diffir.engine.nn.Init;
import diffir.engine.ops.Ops;
import diffir.engine.testing.GradCheck;
import org.junit.jupiter.api.Test;

/**
 * Finite differences through the whole networks (the PyTorch fixtures check the values; these check
 * that autograd follows every path, on configs the fixtures do not cover).
 */
class GradientCheckTest {
    @Test
    void diffusionChainToItsInputsCpenAndDenoise() {
        DiffIRS2 m = new DiffIRS2(Init.cpu(11), Configs.inpaint());
        Tensor lq = GradCheck.param(1, 2, 4, 8, 8).detach();
        Tensor ipr = GradCheck.param(2, 2, 16), eps = GradCheck.param(3, 2, 16);
        var sd = m.stateDict();
        Tensor[] inputs = {ipr, eps, sd.get("denoise.resmlp.0.weight"), sd.get("condition.mlp.0.weight"),
                sd.get("condition.mlp.2.bias")};
        // A small step: LeakyReLU kinks sit close to the denoise MLP's pre-activations.
        GradCheck.check(in -> m.encoderForward(lq, in[0], in[1]), inputs, 1e-3f, 2e-2, 64);
    }

    @Test
    void jointStageThroughTheGenerator() {
        // Inpainting (biased attention and GDFN convs, no refinement) at 16x16: at 8x8 the latent is one pixel,
        // where L2-normalising q and k over pixels is a sign function.
        DiffIRS2 m = new DiffIRS2(Init.cpu(12), Configs.inpaint());
        Tensor lq = Ops.abs(GradCheck.param(4, 1, 4, 16, 16)).detach();
        Tensor ipr = GradCheck.param(5, 1, 16).detach(), eps = GradCheck.param(6, 1, 16).detach();
        var sd = m.stateDict();
        // (The output hardly depends on IPR_S1 itself: it enters scaled by sqrt(ac[T-1]) ~ 0.05.)
        // Tolerance 5%: float32 round-off through ~20 layers; the error shrinks as 1/step, so it is not truncation.
        // CPEN and denoise move the output too little for float32 differences; the test above covers them.
        Tensor[] params = {sd.get("G.encoder_level1.0.attn.temperature"), sd.get("G.encoder_level2.0.attn.qkv.bias"),
                sd.get("G.encoder_level1.0.ffn.kernel.0.weight"), sd.get("G.decoder_level1.0.norm2.body.bias"), sd.get("G.output.weight")};
        GradCheck.check(in -> m.trainForward(lq, ipr, eps).out(), params, 1e-2f, 5e-2, 48);
    }
}
