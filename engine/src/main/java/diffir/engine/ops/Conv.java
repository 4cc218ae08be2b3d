package diffir.engine.ops;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.engine.backend.ConvSpec;

/** 2-D convolution (NCHW, any kernel, stride, padding, groups), and the fused gated depthwise conv of GDFN. */
final class Conv {
    private Conv() {}

    static Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding, int groups) {
        int[] xs = x.shape(), ws = w.shape();
        if (xs.length != 4 || ws.length != 4)
            throw new IllegalArgumentException("conv2d needs x (N,C,H,W) and w (O,C/g,KH,KW), got " + Shapes.str(xs) + " and " + Shapes.str(ws));
        if (ws[1] * groups != xs[1])
            throw new IllegalArgumentException("conv2d: weight " + Shapes.str(ws) + " with groups " + groups + " does not fit input channels " + xs[1]);
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != ws[0]))
            throw new IllegalArgumentException("conv2d: bias " + Shapes.str(bias.shape()) + " for " + ws[0] + " outputs");
        ConvSpec spec = new ConvSpec(xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], stride, stride, padding, padding, groups);
        Tensor out = Tensor.empty(x.device(), spec.n(), spec.o(), spec.outH(), spec.outW());
        x.backend().conv2d(x, w, bias, spec, out);
        return Autograd.record("conv2d", out, new Tensor[]{x, w, bias}, g -> {
            Tensor gx = null, gw = null, gb = null;
            if (Autograd.wants(x)) {
                gx = Tensor.empty(x.device(), xs);
                x.backend().conv2dBackwardInput(g, w, spec, gx);
            }
            if (Autograd.wants(w)) {
                gw = Tensor.empty(w.device(), ws);
                x.backend().conv2dBackwardWeight(x, g, spec, gw);
            }
            if (Autograd.wants(bias)) gb = Reduce.sum(g.reshapeView(spec.n(), spec.o(), -1), false, 0, 2);
            return new Tensor[]{gx, gw, gb};
        });
    }

    static Tensor gatedDwConv(Tensor x, Tensor w, Tensor bias) {
        int[] xs = x.shape(), ws = w.shape();
        if (xs.length != 4 || xs[1] % 2 != 0)
            throw new IllegalArgumentException("gatedDwConv needs x (N, 2*Hd, H, W), got " + Shapes.str(xs));
        if (ws.length != 4 || ws[0] != xs[1] || ws[1] != 1 || ws[2] != ws[3] || ws[2] % 2 == 0)
            throw new IllegalArgumentException("gatedDwConv needs w (" + xs[1] + ", 1, K, K) with odd K, got " + Shapes.str(ws));
        if (bias != null && (bias.rank() != 1 || bias.dim(0) != xs[1]))
            throw new IllegalArgumentException("gatedDwConv: bias " + Shapes.str(bias.shape()) + " for " + xs[1] + " channels");
        Tensor out = Tensor.empty(x.device(), xs[0], xs[1] / 2, xs[2], xs[3]);
        x.backend().gatedDwConv(x, w, bias, out);
        return Autograd.record("gated_dwconv", out, new Tensor[]{x, w, bias}, g -> {
            Tensor gx = Autograd.wants(x) ? Tensor.empty(x.device(), xs) : null;
            Tensor gw = Autograd.wants(w) ? Tensor.empty(w.device(), ws) : null;
            Tensor gb = Autograd.wants(bias) ? Tensor.empty(bias.device(), bias.shape()) : null;
            x.backend().gatedDwConvBackward(x, w, bias, g, gx, gw, gb);
            return new Tensor[]{gx, gw, gb};
        });
    }
}
