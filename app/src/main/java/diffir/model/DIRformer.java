package diffir.model;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.nn.Conv2d;
import diffir.engine.nn.Init;
import diffir.engine.nn.Module;
import diffir.engine.nn.PixelShuffle;
import diffir.engine.nn.Sequential;
import diffir.engine.ops.Ops;

/**
 * The dynamic IR transformer G: a 4-level U-shaped transformer whose every block is modulated by the
 * IPR. Keys and math follow the reference's {@code DIRformer} of each task:
 * deblurring {@code output(x) + input}; SR {@code tail(x) + nearest(input, scale)} with the LQ image
 * unshuffled by 4/scale first; inpainting {@code output(x)} alone and no refinement stage.
 */
public final class DIRformer extends Module {
    private final ArchConfig cfg;
    private final Conv2d patchEmbed;
    private final Blocks encoder1, encoder2, encoder3, latent, decoder3, decoder2, decoder1, refinement;
    private final Resample down12, down23, down34, up43, up32, up21;
    private final Sequential tail;
    private final Conv2d reduce3, reduce2, output;
    private final ModulationBank bank;

    public DIRformer(Init init, ArchConfig cfg) {
        this.cfg = cfg;
        // Every block's modulation weight lives in one packed tensor (one GEMM per forward for all of them).
        this.bank = new ModulationBank(init, ModulationBank.rowsFor(cfg), cfg.iprDim());
        int d = cfg.dim();
        boolean bias = cfg.bias();
        Module patch = child("patch_embed", new Holder());
        // The reference's OverlapPatchEmbed is built without its bias argument: never biased.
        patchEmbed = ((Holder) patch).hold("proj", new Conv2d(init, cfg.patchEmbedChannels(), d, 3, 1, 1, 1, false));
        int[][] runs = blockRuns(cfg);
        encoder1 = child("encoder_level1", blocks(init, runs[0], 0));
        down12 = child("down1_2", Resample.down(init, d));
        encoder2 = child("encoder_level2", blocks(init, runs[1], 1));
        down23 = child("down2_3", Resample.down(init, 2 * d));
        encoder3 = child("encoder_level3", blocks(init, runs[2], 2));
        down34 = child("down3_4", Resample.down(init, 4 * d));
        latent = child("latent", blocks(init, runs[3], 3));
        up43 = child("up4_3", Resample.up(init, 8 * d));
        reduce3 = child("reduce_chan_level3", new Conv2d(init, 8 * d, 4 * d, 1, 1, 0, 1, bias));
        decoder3 = child("decoder_level3", blocks(init, runs[4], 2));
        up32 = child("up3_2", Resample.up(init, 4 * d));
        reduce2 = child("reduce_chan_level2", new Conv2d(init, 4 * d, 2 * d, 1, 1, 0, 1, bias));
        decoder2 = child("decoder_level2", blocks(init, runs[5], 1));
        up21 = child("up2_1", Resample.up(init, 2 * d));
        // Level 1 of the decoder keeps the concatenated 2d channels (no reduction) with level 1's heads.
        decoder1 = child("decoder_level1", blocks(init, runs[6], 0));
        // The inpainting tree has no refinement module at all (no keys either way when it is empty).
        refinement = runs.length < 8 ? null : child("refinement", blocks(init, runs[7], 0));
        if (cfg.task() == ArchTask.SR) {
            // Always a x4 upsampler (x2 and x1 unshuffle the input first): twice conv(2d -> 8d) + shuffle, then conv.
            Sequential up = new Sequential(new Conv2d(init, 2 * d, 8 * d, 3, 1, 1, 1, true), new PixelShuffle(2),
                    new Conv2d(init, 2 * d, 8 * d, 3, 1, 1, 1, true), new PixelShuffle(2));
            tail = child("tail", new Sequential(up, new Conv2d(init, 2 * d, cfg.outChannels(), 3, 1, 1, 1, true)));
            output = null;
        } else {
            tail = null;
            output = child("output", new Conv2d(init, 2 * d, cfg.outChannels(), 3, 1, 1, 1, bias));
        }
    }

    /**
     * The runs of transformer blocks in construction order, each {count, width level}: encoder levels
     * 1-3, latent, decoder levels 3-1 (decoder level 1 keeps the concatenated 2d channels), then the
     * refinement unless inpainting.
     */
    static int[][] blockRuns(ArchConfig cfg) {
        var b = cfg.blocks();
        int[][] runs = {{b.get(0), 0}, {b.get(1), 1}, {b.get(2), 2}, {b.get(3), 3}, {b.get(2), 2}, {b.get(1), 1}, {b.get(0), 1},
                {cfg.refinement(), 1}};
        return cfg.task() == ArchTask.INPAINT ? java.util.Arrays.copyOf(runs, 7) : runs;
    }

    /** A run of blocks {count, width level} with the heads of level {@code headLevel}. */
    private Blocks blocks(Init init, int[] run, int headLevel) {
        int widthLevel = run[1];
        return new Blocks(init, run[0], cfg.levelChannels(widthLevel), cfg.heads().get(headLevel), cfg.ffnHidden().get(widthLevel), cfg,
                bank);
    }

    /** An empty module that only groups children under a name (the reference's wrapper modules). */
    static final class Holder extends Module {
        <M extends Module> M hold(String name, M m) {
            return child(name, m);
        }
    }

    /** The restored image from the LQ input (N, in, H, W) and the IPR (N, iprDim). */
    public Tensor forward(Tensor inp, Tensor ipr) {
        checkInputs(inp, ipr);
        int u = cfg.lqUnshuffle();
        Tensor feat = u > 1 ? Ops.pixelUnshuffle(inp, u) : inp;
        ModulationBank.Modulations mods = bank.compute(ipr);  // every block's [k1 | k2] in one product
        // Inference frees every intermediate after its last use (Temporaries: a no-op when recording a graph).
        Tensor pe = patchEmbed.forward(feat);
        if (feat != inp) Temporaries.free(feat);
        Tensor e1 = encoder1.forward(pe, mods);
        Temporaries.freeInput(pe, e1);
        Tensor e2 = level(encoder2, down12.forward(e1), mods);
        Tensor e3 = level(encoder3, down23.forward(e2), mods);
        Tensor lat = level(latent, down34.forward(e3), mods);
        Tensor d3 = level(decoder3, reduce3, up43, lat, e3, mods);
        Temporaries.free(lat, e3);
        Tensor d2 = level(decoder2, reduce2, up32, d3, e2, mods);
        Temporaries.free(d3, e2);
        Tensor u1 = up21.forward(d2);
        Temporaries.free(d2);
        Tensor cat1 = Ops.concat(1, u1, e1);
        Temporaries.free(u1, e1);
        Tensor d1 = decoder1.forward(cat1, mods);
        Temporaries.freeInput(cat1, d1);
        if (cfg.residual() == ArchConfig.Residual.NONE) return output.forward(d1);  // inpainting: no refinement
        Tensor r = refinement.forward(d1, mods);
        Temporaries.freeInput(d1, r);
        boolean sr = cfg.residual() == ArchConfig.Residual.NEAREST_UPSAMPLED_INPUT;
        Tensor head = sr ? tail.forward(r) : output.forward(r);
        Temporaries.free(r);
        Tensor skip = sr && cfg.scale() > 1 ? Ops.upsampleNearest(inp, cfg.scale()) : inp;
        return Ops.add(head, skip);
    }

    /** An encoder level (or the latent) after its downsampling: blocks(down), freeing down. */
    private static Tensor level(Blocks blocks, Tensor down, ModulationBank.Modulations mods) {
        Tensor out = blocks.forward(down, mods);
        Temporaries.freeInput(down, out);
        return out;
    }

    /** A decoder level: blocks(reduce(concat(up(below), skip))), freeing the intermediates (not below or skip). */
    private static Tensor level(Blocks blocks, Conv2d reduce, Resample up, Tensor below, Tensor skip, ModulationBank.Modulations mods) {
        Tensor u = up.forward(below);
        Tensor cat = Ops.concat(1, u, skip);
        Temporaries.free(u);
        Tensor red = reduce.forward(cat);
        Temporaries.free(cat);
        return level(blocks, red, mods);
    }

    private void checkInputs(Tensor inp, Tensor ipr) {
        int[] s = inp.shape();
        if (s.length != 4 || s[1] != cfg.inChannels())
            throw new IllegalArgumentException("DIRformer needs an input (N, " + cfg.inChannels() + ", H, W), got " + Shapes.str(s));
        int win = cfg.window();
        if (s[2] % win != 0 || s[3] % win != 0 || s[2] == 0 || s[3] == 0)
            throw new IllegalArgumentException("DIRformer input " + s[2] + "x" + s[3] + " must have height and width multiples of "
                    + win + " (pad it first)");
        if (ipr.rank() != 2 || ipr.dim(0) != s[0] || ipr.dim(1) != cfg.iprDim())
            throw new IllegalArgumentException("DIRformer needs an IPR (" + s[0] + ", " + cfg.iprDim() + "), got " + Shapes.str(ipr.shape()));
    }

    public ArchConfig config() {
        return cfg;
    }
}
