package diffir.model;

import diffir.engine.nn.LayerNorm;

/**
 * Size and cost of a DiffIR network, from its config alone (nothing is built): unique parameters, and
 * GFLOP of one forward pass for one image of H x W (S1: CPEN_S1 + G; S2 inference: CPEN_S2, T denoise
 * steps and G). FLOP = 2 x the multiply-accumulates of convolutions, Linears and the attention's two
 * matrix products; normalisation, activations and other elementwise work are not counted.
 *
 * @param parameters unique trainable parameters (shared S2 modules once)
 * @param gflop      10^9 FLOP of one forward pass at the given size
 */
public record ModelInfo(long parameters, double gflop) {

    /** Parameters and the forward cost at H x W (the LQ input's size). */
    public static ModelInfo of(ArchConfig cfg, Stage stage, int height, int width) {
        int win = cfg.window();
        if (height <= 0 || width <= 0 || height % win != 0 || width % win != 0)
            throw new IllegalArgumentException("size " + height + "x" + width + " must be positive multiples of " + win);
        Counter c = new Counter();
        generator(c, cfg, (double) height * width / (cfg.lqUnshuffle() * cfg.lqUnshuffle()));
        int cu = cfg.cpenLqUnshuffle();
        cpen(c, cfg, stage, (double) height * width / (cu * cu));
        if (stage == Stage.S2) {
            int p = cfg.iprDim();
            Counter step = new Counter();
            step.linear(2 * p + 1, p, true);
            for (int i = 0; i < cfg.denoiseRes(); i++) step.linear(p, p, true);
            c.params += step.params;
            c.macs += step.macs * cfg.timesteps();
        }
        return new ModelInfo(c.params, 2 * c.macs / 1e9);
    }

    /** Unique trainable parameters. */
    public static long parameterCount(ArchConfig cfg, Stage stage) {
        return of(cfg, stage, cfg.window(), cfg.window()).parameters();
    }

    /** Counts parameters and multiply-accumulates layer by layer. */
    private static final class Counter {
        long params;
        double macs;

        void conv(int in, int out, int k, int groups, boolean bias, double pixels) {
            long w = (long) out * (in / groups) * k * k;
            params += w + (bias ? out : 0);
            macs += w * pixels;
        }

        void linear(int in, int out, boolean bias) {
            params += (long) in * out + (bias ? out : 0);
            macs += (double) in * out;
        }
    }

    private static void generator(Counter c, ArchConfig cfg, double n1) {
        int d = cfg.dim();
        boolean b = cfg.bias();
        c.conv(cfg.patchEmbedChannels(), d, 3, 1, false, n1);
        double[] n = {n1, n1 / 4, n1 / 16, n1 / 64};
        for (int l = 0; l < ArchConfig.LEVELS; l++) {
            int ch = cfg.levelChannels(l);
            // Levels 2 and 3 have an encoder and a decoder at this width; level 1's decoder runs at 2d (below).
            int copies = l == 1 || l == 2 ? 2 : 1;
            for (int i = 0; i < copies * cfg.blocks().get(l); i++) block(c, cfg, ch, cfg.heads().get(l), cfg.ffnHidden().get(l), n[l]);
            if (l < 3) {
                c.conv(ch, ch / 2, 3, 1, false, n[l]);         // down
                c.conv(2 * ch, 4 * ch, 3, 1, false, n[l + 1]); // up from the level below
            }
        }
        c.conv(8 * d, 4 * d, 1, 1, b, n[2]); // reduce_chan_level3
        c.conv(4 * d, 2 * d, 1, 1, b, n[1]); // reduce_chan_level2
        int level1Blocks = cfg.blocks().get(0) + (cfg.task() == ArchTask.INPAINT ? 0 : cfg.refinement());
        for (int i = 0; i < level1Blocks; i++) block(c, cfg, 2 * d, cfg.heads().get(0), cfg.ffnHidden().get(1), n1);
        if (cfg.task() == ArchTask.SR) {
            c.conv(2 * d, 8 * d, 3, 1, true, n1);
            c.conv(2 * d, 8 * d, 3, 1, true, 4 * n1);
            c.conv(2 * d, cfg.outChannels(), 3, 1, true, 16 * n1);
        } else {
            c.conv(2 * d, cfg.outChannels(), 3, 1, b, n1);
        }
    }

    private static void block(Counter c, ArchConfig cfg, int ch, int heads, int hidden, double n) {
        boolean b = cfg.bias();
        int p = cfg.iprDim();
        c.params += 2L * ch * (cfg.layerNorm() == LayerNorm.Type.WITH_BIAS ? 2 : 1); // norm1, norm2
        c.params += heads;                                                            // temperature
        c.linear(p, 2 * ch, false);                                                   // attn.kernel
        c.conv(ch, 3 * ch, 1, 1, b, n);                                               // qkv
        c.conv(3 * ch, 3 * ch, 3, 3 * ch, b, n);                                      // qkv_dwconv
        c.macs += 2.0 * ch * ((double) ch / heads) * n;                               // q k^T and A v
        c.conv(ch, ch, 1, 1, b, n);                                                   // attn.project_out
        c.linear(p, 2 * ch, false);                                                   // ffn.kernel
        c.conv(ch, 2 * hidden, 1, 1, b, n);                                           // project_in
        c.conv(2 * hidden, 2 * hidden, 3, 2 * hidden, b, n);                          // dwconv
        c.conv(hidden, ch, 1, 1, b, n);                                               // ffn.project_out
    }

    private static void cpen(Counter c, ArchConfig cfg, Stage stage, double m) {
        int f = cfg.cpenFeats();
        c.conv(cfg.cpenInChannels(stage), f, 3, 1, true, m);
        for (int i = 0; i < 2 * cfg.encoderRes(); i++) c.conv(f, f, 3, 1, true, m);
        c.conv(f, 2 * f, 3, 1, true, m);
        c.conv(2 * f, 2 * f, 3, 1, true, m);
        c.conv(2 * f, 4 * f, 3, 1, true, m);
        c.linear(4 * f, 4 * f, true);
        c.linear(4 * f, 4 * f, true);
    }
}
