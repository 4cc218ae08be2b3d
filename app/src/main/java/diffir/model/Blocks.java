package diffir.model;

import diffir.engine.MemoryScope;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
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
        if (Autograd.enabled()) {
            for (TransformerBlock b : blocks) x = b.forward(x, mods);
            return x;
        }
        // Without a graph nothing else refers to a block's intermediates: free them as the block ends,
        // and each block's output once the next block has read it, so inference holds about one block's
        // worth of activations at a time.
        try (MemoryScope run = MemoryScope.open()) {
            Tensor in = x;
            for (TransformerBlock b : blocks) {
                Tensor next;
                try (MemoryScope scope = MemoryScope.open()) {
                    next = scope.keep(b.forward(x, mods));
                }
                if (x != in) MemoryScope.free(x);
                x = next;
            }
            return run.keep(x);
        }
    }

    int size() {
        return blocks.size();
    }
}
