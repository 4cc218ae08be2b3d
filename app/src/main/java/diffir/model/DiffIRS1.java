package diffir.model;

import diffir.engine.Tensor;
import diffir.engine.nn.Init;

/** The S1 (pretraining) network: {@code IPR = E(LQ, GT)} (CPEN_S1), {@code out = G(LQ, IPR)}. Keys {@code G.*}, {@code E.*}. */
public final class DiffIRS1 extends DiffIRModel {
    private final DIRformer g;
    private final Cpen e;

    /** The restored image and the IPR it was modulated with. */
    public record Output(Tensor out, Tensor ipr) {}

    public DiffIRS1(Init init, ArchConfig cfg) {
        super(cfg, init);
        g = child("G", new DIRformer(init, cfg));
        e = child("E", new Cpen(init, cfg, Stage.S1));
    }

    public Output forward(Tensor lq, Tensor gt) {
        Tensor ipr = e.forward(lq, gt);
        return new Output(g.forward(lq, ipr), ipr);
    }

    /** IPR_S1 alone: the target the S2 diffusion learns (run it frozen, under no-grad). */
    public Tensor prior(Tensor lq, Tensor gt) {
        return e.forward(lq, gt);
    }

    public Cpen encoder() {
        return e;
    }

    @Override
    public DIRformer generator() {
        return g;
    }

    @Override
    public Stage stage() {
        return Stage.S1;
    }
}
