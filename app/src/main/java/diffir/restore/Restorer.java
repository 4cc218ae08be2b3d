package diffir.restore;

import diffir.engine.MemoryScope;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.image.Image;
import diffir.image.ImageTensors;
import diffir.image.Padding;
import diffir.image.Tiler;
import diffir.model.ArchConfig;
import diffir.model.DiffIRModel;
import diffir.model.DiffIRS1;
import diffir.model.DiffIRS2;

/**
 * Runs a trained network on whole images of any size: reflect-pads bottom and right to the model's
 * multiple and crops the output back (as the reference's tests do), and above a tile size runs
 * overlapping tiles blended with linear ramps, so memory stays bounded. S2 starts its reverse chain
 * from seeded Gaussian noise; every tile gets the same start noise (one IPR vector per image).
 * S1 needs the ground truth (its CPEN reads it), so it restores only with {@link #restoreWithGt}.
 */
public final class Restorer {
    private final DiffIRModel model;
    private final long seed;
    private final int tile, overlap;

    /**
     * @param tile    largest input side run at once (0: never tile)
     * @param overlap input pixels shared by neighbouring tiles
     */
    public Restorer(DiffIRModel model, long seed, int tile, int overlap) {
        if (tile < 0) throw new IllegalArgumentException("tile size must be >= 0, got " + tile);
        if (tile > 0 && (overlap < 0 || overlap >= tile))
            throw new IllegalArgumentException("tile overlap must be in [0, " + tile + "), got " + overlap);
        if (tile > 0 && tile < model.config().window())
            throw new IllegalArgumentException("tile size " + tile + " is smaller than the model's multiple " + model.config().window());
        this.model = model;
        this.seed = seed;
        this.tile = tile;
        this.overlap = overlap;
    }

    public DiffIRModel model() {
        return model;
    }

    /** The S2 restoration of a model input (C x H x W, C the model's input channels). */
    public Image restore(Image lq) {
        if (!(model instanceof DiffIRS2 s2))
            throw new IllegalArgumentException("this is an S1 (pretraining) network: it needs the ground truth; restore with an S2 network");
        checkInput(lq);
        return tiled(lq, t -> padded(t, x -> s2.infer(x, s2.startNoise(1, seed)).out()));
    }

    /** S1's output with the IPR taken from the ground truth (an upper bound for S2), whole image at once. */
    public Image restoreWithGt(Image lq, Image gt) {
        if (!(model instanceof DiffIRS1 s1)) throw new IllegalArgumentException("only S1 networks take the ground truth");
        checkInput(lq);
        int s = model.config().outputScale(), w = model.config().window();
        if (gt.height() != lq.height() * s || gt.width() != lq.width() * s || gt.channels() != model.config().outChannels())
            throw new IllegalArgumentException("ground truth " + gt.shapeString() + " does not match input " + lq.shapeString() + " at scale " + s);
        Padding.Padded p = Padding.reflectToMultiple(lq, w);
        Image g = Padding.reflectToMultiple(gt, w * s).image();
        Image out = run(() -> s1.forward(ImageTensors.toBatch(p.image(), model.device()), ImageTensors.toBatch(g, model.device())).out());
        return p.cropBack(out, s);
    }

    private void checkInput(Image lq) {
        ArchConfig cfg = model.config();
        if (lq.channels() != cfg.inChannels())
            throw new IllegalArgumentException("the network takes " + cfg.inChannels() + "-channel inputs, got " + lq.shapeString());
    }

    private interface Net {
        Tensor apply(Tensor batch);
    }

    private Image tiled(Image lq, java.util.function.UnaryOperator<Image> fn) {
        if (tile == 0 || (lq.height() <= tile && lq.width() <= tile)) return fn.apply(lq);
        return new Tiler(tile, overlap, model.config().outputScale(), Tiler.Blend.LINEAR_RAMP).apply(lq, fn);
    }

    private Image padded(Image lq, Net net) {
        Padding.Padded p = Padding.reflectToMultiple(lq, model.config().window());
        Image out = run(() -> net.apply(ImageTensors.toBatch(p.image(), model.device())));
        return p.cropBack(out, model.config().outputScale());
    }

    private Image run(java.util.function.Supplier<Tensor> f) {
        boolean wasTraining = model.isTraining();
        model.eval();
        // One scope per run (per tile when tiling): its device memory is back in the cache at the end.
        try (var s = Autograd.noGrad(); MemoryScope scope = MemoryScope.open()) {
            return ImageTensors.fromBatch(f.get(), 0);
        } finally {
            model.train(wasTraining);
        }
    }
}
