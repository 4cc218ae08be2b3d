package diffir.model;

import diffir.engine.Tensor;
import diffir.engine.nn.Init;
import diffir.engine.nn.Module;

import java.util.ArrayList;
import java.util.List;

/** A run of transformer blocks at one width, keyed {@code 0, 1, ...} as the reference's nn.Sequential. */
final class Blocks extends Module {
    private final List<TransformerBlock> blocks = new ArrayList<>();

    Blocks(Init init, int count, int dim, int heads, int hidden, ArchConfig cfg, ModulationBank bank) {
        for (int i = 0; i < count; i++)
            blocks.add(child(Integer.toString(i), new TransformerBlock(init, dim, heads, hidden, cfg, bank)));
    }

    Tensor forward(Tensor x, ModulationBank.Modulations mods) {
        for (TransformerBlock b : blocks) x = b.forward(x, mods);
        return x;
    }

    int size() {
        return blocks.size();
    }
}
