package diffir.engine.nn;

import diffir.engine.Tensor;
import diffir.engine.ops.Ops;

/** Stateless {@code nn.PixelShuffle(factor)}: (N, C*r*r, H, W) -> (N, C, H*r, W*r). */
public final class PixelShuffle extends Module implements Layer {
    private final int factor;

    public PixelShuffle(int factor) {
        if (factor <= 0) throw new IllegalArgumentException("PixelShuffle factor must be positive, got " + factor);
        this.factor = factor;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Ops.pixelShuffle(x, factor);
    }

    public int factor() { return factor; }
}
