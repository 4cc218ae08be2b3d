package diffir.model;

import diffir.engine.Tensor;
import diffir.engine.nn.Conv2d;
import diffir.engine.nn.Init;
import diffir.engine.nn.Linear;
import diffir.engine.nn.Module;
import diffir.engine.nn.Sequential;
import diffir.engine.ops.Ops;

/**
 * GDFN, the DIRformer's gated depthwise feed-forward, as the reference's {@code FeedForward}: 1x1 conv
 * to 2*hidden, then the fused {@link Ops#gatedDwConv} (3x3 depthwise conv, gelu(first half) * second
 * half) whose parameters live in the child {@code dwconv} so the keys match, then a 1x1 conv back. Its
 * modulation {@code kernel} is applied by the block's fused LayerNorm.
 */
final class FeedForward extends Module {
    private final Conv2d projectIn, dwconv, projectOut;
    private final Sequential kernel;

    FeedForward(Init init, int dim, int hidden, int iprDim, boolean bias) {
        // Registration order gives the reference's key order: kernel comes last.
        this.projectIn = child("project_in", new Conv2d(init, dim, 2 * hidden, 1, 1, 0, 1, bias));
        this.dwconv = child("dwconv", new Conv2d(init, 2 * hidden, 2 * hidden, 3, 1, 1, 2 * hidden, bias));
        this.projectOut = child("project_out", new Conv2d(init, hidden, dim, 1, 1, 0, 1, bias));
        this.kernel = child("kernel", new Sequential(new Linear(init, iprDim, 2 * dim, false)));
    }

    /** The modulation [k1 | k2] (N, 2C) for the fused LayerNorm before this feed-forward. */
    Tensor modulation(Tensor ipr) {
        return kernel.forward(ipr);
    }

    /** The feed-forward of an input that is already normalised and modulated. */
    Tensor forward(Tensor x) {
        return projectOut.forward(Ops.gatedDwConv(projectIn.forward(x), dwconv.weight(), dwconv.bias()));
    }
}
