package diffir.kernels.bench;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.backend.Backend;

import java.util.SplittableRandom;

/**
 * Runs each fused op twice at DIRformer level-1 sizes (batch 4, C 48, 256 x 256, GDFN hidden 127, one
 * attention head) on CUDA and synchronises: a driver for a kernel profiler (ncu), which then sees
 * every fused kernel of each op once warm. Inputs are random (never zeros).
 */
public final class FusedOnce {
    private FusedOnce() {}

    public static void main(String[] args) {
        Device d = Device.cuda();
        Backend b = d.backend();
        SplittableRandom rng = new SplittableRandom(11);
        int n = 4, c = 48, h = 256, w = 256, hid = (int) (48 * 2.66);
        Tensor x = rand(d, rng, n, c, h, w), lw = rand(d, rng, c), lb = rand(d, rng, c), mod = rand(d, rng, n, 2 * c);
        Tensor out = Tensor.empty(d, n, c, h, w), mean = Tensor.empty(d, n, h, w), rstd = Tensor.empty(d, n, h, w);
        Tensor gy = rand(d, rng, n, c, h, w), gx = Tensor.empty(d, n, c, h, w);
        Tensor g = rand(d, rng, n, 2 * hid, h, w), dw = rand(d, rng, 2 * hid, 1, 3, 3), gout = Tensor.empty(d, n, hid, h, w);
        Tensor ggy = rand(d, rng, n, hid, h, w), ggx = Tensor.empty(d, n, 2 * hid, h, w), ggw = Tensor.empty(d, 2 * hid, 1, 3, 3);
        Tensor qkv = rand(d, rng, n, 3 * c, h, w), t = rand(d, rng, 1);
        Tensor attn = Tensor.empty(d, n, 1, c, c), norms = Tensor.empty(d, n, 2 * c), gram = Tensor.empty(d, n, 1, c, c);
        Tensor gqkv = Tensor.empty(d, n, 3 * c, h, w), gt = Tensor.empty(d, 1);
        for (int run = 0; run < 2; run++) {
            b.layerNorm(x, lw, lb, mod, 1e-5f, out, mean, rstd);
            b.layerNormBackward(x, lw, lb, mod, mean, rstd, gy, gx, Tensor.empty(d, c), Tensor.empty(d, c), Tensor.empty(d, n, 2 * c));
            b.gatedDwConv(g, dw, null, gout);
            b.gatedDwConvBackward(g, dw, null, ggy, ggx, ggw, null);
            b.channelAttention(qkv, t, 1, out, attn, norms, gram);
            b.channelAttentionBackward(qkv, t, 1, attn, norms, gram, gy, gqkv, gt);
            b.synchronize();
        }
        System.out.println("fused ops ran twice at level-1 sizes");
    }

    private static Tensor rand(Device d, SplittableRandom rng, int... shape) {
        return Tensor.rand(d, rng, -1f, 1f, shape);
    }
}
