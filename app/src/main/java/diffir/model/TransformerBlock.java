package diffir.model;

import diffir.engine.Tensor;
import diffir.engine.nn.Init;
import diffir.engine.nn.LayerNorm;
import diffir.engine.nn.Module;
import diffir.engine.ops.Ops;

/**
 * One DIRformer block: {@code x + Attn(LN1(x) * k1 + k2)}, then {@code x + FFN(LN2(x) * k1' + k2')}, where
 * each [k1 | k2] is its sub-layer's Linear of the IPR, taken from the DIRformer's one product of all
 * of them ({@link ModulationBank}). LayerNorm and modulation run as one fused op.
 */
final class TransformerBlock extends Module {
    private final LayerNorm norm1, norm2;
    private final Attention attn;
    private final FeedForward ffn;

    TransformerBlock(Init init, int dim, int heads, int hidden, ArchConfig cfg, ModulationBank bank) {
        this.norm1 = child("norm1", new LayerNorm(init, dim, cfg.layerNorm()));
        this.attn = child("attn", new Attention(init, dim, heads, bank, cfg.bias()));
        this.norm2 = child("norm2", new LayerNorm(init, dim, cfg.layerNorm()));
        this.ffn = child("ffn", new FeedForward(init, dim, hidden, bank, cfg.bias()));
    }

    Tensor forward(Tensor x, ModulationBank.Modulations mods) {
        Tensor n1 = norm1.forward(x, attn.modulation(mods));
        Tensor a = attn.forward(n1);
        Temporaries.free(n1);
        Tensor x1 = Ops.add(x, a);
        Temporaries.free(a);
        Tensor n2 = norm2.forward(x1, ffn.modulation(mods));
        Tensor f = ffn.forward(n2);
        Temporaries.free(n2);
        Tensor out = Ops.add(x1, f);
        Temporaries.free(f, x1);
        return out;
    }
}
