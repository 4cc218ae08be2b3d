package diffir.model;

import diffir.engine.Tensor;
import diffir.engine.nn.Conv2d;
import diffir.engine.nn.Init;
import diffir.engine.nn.Layer;
import diffir.engine.nn.LeakyReLU;
import diffir.engine.nn.Module;
import diffir.engine.nn.Sequential;
import diffir.engine.ops.Ops;

/** CPEN's residual block (the reference's common.ResBlock): x + conv(lrelu(conv(x))), biased 3x3 convs. */
final class ResBlock extends Module implements Layer {
    private final Sequential body;

    ResBlock(Init init, int channels) {
        body = child("body", new Sequential(new Conv2d(init, channels, channels, 3, 1, 1, 1, true),
                new LeakyReLU(Cpen.SLOPE), new Conv2d(init, channels, channels, 3, 1, 1, 1, true)));
    }

    @Override
    public Tensor forward(Tensor x) {
        return Ops.add(body.forward(x), x);
    }
}
