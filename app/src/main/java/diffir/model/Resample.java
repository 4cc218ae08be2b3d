package diffir.model;

import diffir.engine.Tensor;
import diffir.engine.nn.Conv2d;
import diffir.engine.nn.Init;
import diffir.engine.nn.Layer;
import diffir.engine.nn.Module;
import diffir.engine.nn.PixelShuffle;
import diffir.engine.nn.PixelUnshuffle;
import diffir.engine.nn.Sequential;

/**
 * The DIRformer's Downsample (3x3 conv C -> C/2, PixelUnshuffle(2)) and Upsample (3x3 conv C -> 2C,
 * PixelShuffle(2)); never biased. The layers sit in a child "body" as in the reference.
 */
final class Resample extends Module implements Layer {
    private final Sequential body;

    private Resample(Sequential body) {
        this.body = child("body", body);
    }

    static Resample down(Init init, int channels) {
        return new Resample(new Sequential(new Conv2d(init, channels, channels / 2, 3, 1, 1, 1, false), new PixelUnshuffle(2)));
    }

    static Resample up(Init init, int channels) {
        return new Resample(new Sequential(new Conv2d(init, channels, 2 * channels, 3, 1, 1, 1, false), new PixelShuffle(2)));
    }

    @Override
    public Tensor forward(Tensor x) {
        return body.forward(x);
    }
}
