package diffir.model;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.nn.Conv2d;
import diffir.engine.nn.Init;
import diffir.engine.nn.LeakyReLU;
import diffir.engine.nn.Linear;
import diffir.engine.nn.Module;
import diffir.engine.nn.Sequential;
import diffir.engine.ops.Ops;

/**
 * The compact IR prior extraction network: biased 3x3 convs with LeakyReLU(0.1), res-blocks, global
 * average pool and a 2-layer MLP, mapping an image to the IPR (N, 4*n_feats). CPEN_S1 ({@code with GT})
 * sees the unshuffled LQ image concatenated with PixelUnshuffle(4) of the ground truth; CPEN_S2 the LQ
 * part only. The LQ part is unshuffled by 4, or for SR by 4/scale.
 */
public final class Cpen extends Module {
    static final float SLOPE = 0.1f;

    private final ArchConfig cfg;
    private final Stage stage;
    private final Sequential e, mlp;

    public Cpen(Init init, ArchConfig cfg, Stage stage) {
        this.cfg = cfg;
        this.stage = stage;
        int n = cfg.cpenFeats();
        Sequential body = new Sequential(new Conv2d(init, cfg.cpenInChannels(stage), n, 3, 1, 1, 1, true), new LeakyReLU(SLOPE));
        for (int i = 0; i < cfg.encoderRes(); i++) body.add(new ResBlock(init, n));
        body.add(new Conv2d(init, n, 2 * n, 3, 1, 1, 1, true)).add(new LeakyReLU(SLOPE))
                .add(new Conv2d(init, 2 * n, 2 * n, 3, 1, 1, 1, true)).add(new LeakyReLU(SLOPE))
                .add(new Conv2d(init, 2 * n, 4 * n, 3, 1, 1, 1, true)).add(new LeakyReLU(SLOPE));
        // The reference's AdaptiveAvgPool2d(1) closes E; it has no parameters, so it is applied in forward.
        e = child("E", body);
        mlp = child("mlp", new Sequential(new Linear(init, 4 * n, 4 * n, true), new LeakyReLU(SLOPE),
                new Linear(init, 4 * n, 4 * n, true), new LeakyReLU(SLOPE)));
    }

    /** CPEN_S2: the IPR estimate's condition from the LQ image alone. */
    public Tensor forward(Tensor lq) {
        if (stage != Stage.S2) throw new IllegalStateException("CPEN_S1 needs both the LQ and the GT image");
        return extract(lqPart(lq));
    }

    /** CPEN_S1: the IPR from the LQ and ground-truth images. */
    public Tensor forward(Tensor lq, Tensor gt) {
        if (stage != Stage.S1) throw new IllegalStateException("CPEN_S2 takes the LQ image only");
        Tensor x = lqPart(lq);
        int[] s = lq.shape(), g = gt.shape();
        int sc = cfg.outputScale();
        if (g.length != 4 || g[0] != s[0] || g[1] != cfg.outChannels() || g[2] != s[2] * sc || g[3] != s[3] * sc)
            throw new IllegalArgumentException("CPEN_S1 needs a ground truth (" + s[0] + ", " + cfg.outChannels() + ", " + s[2] * sc
                    + ", " + s[3] * sc + ") for LQ " + Shapes.str(s) + ", got " + Shapes.str(g));
        return extract(Ops.concat(1, x, Ops.pixelUnshuffle(gt, 4)));
    }

    private Tensor lqPart(Tensor lq) {
        int[] s = lq.shape();
        int u = cfg.cpenLqUnshuffle();
        // GT is unshuffled by 4 and must land on the LQ part's grid: for SR the HR size is LR * scale.
        int m = Math.max(u, 4 / cfg.outputScale());
        if (s.length != 4 || s[1] != cfg.inChannels())
            throw new IllegalArgumentException("CPEN needs an LQ image (N, " + cfg.inChannels() + ", H, W), got " + Shapes.str(s));
        if (s[2] % m != 0 || s[3] % m != 0 || s[2] == 0 || s[3] == 0)
            throw new IllegalArgumentException("CPEN input " + s[2] + "x" + s[3] + " must have height and width multiples of " + m);
        return u > 1 ? Ops.pixelUnshuffle(lq, u) : lq;
    }

    private Tensor extract(Tensor x) {
        Tensor f = Ops.globalAvgPool(e.forward(x));
        return mlp.forward(Ops.reshape(f, f.dim(0), f.dim(1)));
    }

    public Stage stage() {
        return stage;
    }
}
