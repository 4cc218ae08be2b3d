package diffir.engine.nn;

import diffir.engine.Tensor;
import diffir.engine.ops.Ops;

/** Stateless {@code nn.PixelUnshuffle(factor)}: (N, C, H*r, W*r) -> (N, C*r*r, H, W). */
public final class PixelUnshuffle extends Module implements Layer {
    private final int factor;

    public PixelUnshuffle(int factor) {
        if (factor <= 0) throw new IllegalArgumentException("PixelUnshuffle factor must be positive, got " + factor);
        this.factor = factor;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Ops.pixelUnshuffle(x, factor);
    }

    public int factor() { return factor; }
}
