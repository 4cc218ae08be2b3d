package diffir.model;

import diffir.engine.Tensor;
import diffir.engine.nn.Conv2d;
import diffir.engine.nn.Init;
import diffir.engine.nn.Module;
import diffir.engine.ops.Ops;

/**
 * MDTA, the DIRformer's transposed (channel) attention, as the reference's {@code Attention}: its
 * modulation {@code kernel} (IPR -> [k1 | k2], its weight a slot of the DIRformer's {@link ModulationBank})
 * is applied inside the block's fused LayerNorm, so {@link #forward} takes the already normalised and
 * modulated input. qkv is a 1x1 conv then a 3x3
 * depthwise conv; the attention itself is the fused {@link Ops#channelAttention}.
 */
final class Attention extends Module {
    private final int heads;
    private final Tensor temperature;
    private final ModulationBank.Kernel kernel;
    private final Conv2d qkv, qkvDwconv, projectOut;

    Attention(Init init, int dim, int heads, ModulationBank bank, boolean bias) {
        this.heads = heads;
        // Registration order gives the reference's key order: temperature, kernel, qkv, qkv_dwconv, project_out.
        this.temperature = param("temperature", init.ones(heads, 1, 1));
        this.kernel = child("kernel", new ModulationBank.Kernel(bank.take(init, 2 * dim)));
        this.qkv = child("qkv", new Conv2d(init, dim, 3 * dim, 1, 1, 0, 1, bias));
        this.qkvDwconv = child("qkv_dwconv", new Conv2d(init, 3 * dim, 3 * dim, 3, 1, 1, 3 * dim, bias));
        this.projectOut = child("project_out", new Conv2d(init, dim, dim, 1, 1, 0, 1, bias));
    }

    /** The modulation [k1 | k2] (N, 2C) for the fused LayerNorm before this attention. */
    Tensor modulation(ModulationBank.Modulations mods) {
        return mods.of(kernel.slot());
    }

    /** Attention of an input that is already normalised and modulated. */
    Tensor forward(Tensor x) {
        Tensor q = qkv.forward(x);
        Tensor qd = qkvDwconv.forward(q);
        Temporaries.free(q);
        Tensor a = Ops.channelAttention(qd, temperature, heads);
        Temporaries.free(qd);
        Tensor out = projectOut.forward(a);
        Temporaries.free(a);
        return out;
    }
}
