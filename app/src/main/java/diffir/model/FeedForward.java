package diffir.model;

import diffir.engine.Tensor;
import diffir.engine.nn.Conv2d;
import diffir.engine.nn.Init;
import diffir.engine.nn.Module;
import diffir.engine.ops.Ops;

/**
 * GDFN, the DIRformer's gated depthwise feed-forward, as the reference's {@code FeedForward}: 1x1 conv
 * to 2*hidden, then the fused {@link Ops#gatedDwConv} (3x3 depthwise conv, gelu(first half) * second
 * half) whose parameters live in the child {@code dwconv} so the keys match, then a 1x1 conv back. Its
 * modulation {@code kernel} (a slot of the DIRformer's {@link ModulationBank}) is applied by the block's
 * fused LayerNorm.
 */
final class FeedForward extends Module {
    private final Conv2d projectIn, dwconv, projectOut;
    private final ModulationBank.Kernel kernel;

    FeedForward(Init init, int dim, int hidden, ModulationBank bank, boolean bias) {
        // Registration order gives the reference's key order: kernel comes last.
        this.projectIn = child("project_in", new Conv2d(init, dim, 2 * hidden, 1, 1, 0, 1, bias));
        this.dwconv = child("dwconv", new Conv2d(init, 2 * hidden, 2 * hidden, 3, 1, 1, 2 * hidden, bias));
        this.projectOut = child("project_out", new Conv2d(init, hidden, dim, 1, 1, 0, 1, bias));
        this.kernel = child("kernel", new ModulationBank.Kernel(bank.take(init, 2 * dim)));
    }

    /** The modulation [k1 | k2] (N, 2C) for the fused LayerNorm before this feed-forward. */
    Tensor modulation(ModulationBank.Modulations mods) {
        return mods.of(kernel.slot());
    }

    /** The feed-forward of an input that is already normalised and modulated. */
    Tensor forward(Tensor x) {
        Tensor h = projectIn.forward(x);
        Tensor g = Ops.gatedDwConv(h, dwconv.weight(), dwconv.bias());
        Temporaries.free(h);
        Tensor out = projectOut.forward(g);
        Temporaries.free(g);
        return out;
    }
}
