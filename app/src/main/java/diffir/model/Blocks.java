package diffir.model;

import diffir.engine.Tensor;
import diffir.engine.nn.Init;
import diffir.engine.nn.Module;

import java.util.ArrayList;
import java.util.List;

/** A run of transformer blocks at one width, keyed {@code 0, 1, ...} as the reference's nn.Sequential. */
final class Blocks extends Module {
    private final List<TransformerBlock> blocks = new ArrayList<>();

    Blocks(Init init, int count, int dim, int heads, int hidden, ArchConfig cfg) {
        for (int i = 0; i < count; i++) blocks.add(child(Integer.toString(i), new TransformerBlock(init, dim, heads, hidden, cfg)));
    }

    Tensor forward(Tensor x, Tensor ipr) {
        for (TransformerBlock b : blocks) x = b.forward(x, ipr);
        return x;
    }

    int size() {
        return blocks.size();
    }
}
