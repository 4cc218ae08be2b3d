package diffir.engine.backend;

/**
 * Geometry of a 2-D convolution, NCHW input (N, C, H, W), weight (O, C/groups, KH, KW),
 * output (N, O, OH, OW). Symmetric zero padding; dilation 1.
 */
public record ConvSpec(int n, int c, int h, int w, int o, int kh, int kw,
                       int strideH, int strideW, int padH, int padW, int groups) {
    public ConvSpec {
        if (groups < 1 || c % groups != 0 || o % groups != 0)
            throw new IllegalArgumentException("conv2d: channels " + c + " -> " + o + " not divisible by groups " + groups);
        if (strideH < 1 || strideW < 1 || padH < 0 || padW < 0)
            throw new IllegalArgumentException("conv2d: bad stride or padding");
        // Fields are assigned only after this body, so the sizes are computed from the parameters.
        if (h + 2 * padH < kh || w + 2 * padW < kw)
            throw new IllegalArgumentException("conv2d: input " + h + "x" + w + " too small for kernel " + kh + "x" + kw);
    }

    public int outH() {
        return (h + 2 * padH - kh) / strideH + 1;
    }

    public int outW() {
        return (w + 2 * padW - kw) / strideW + 1;
    }

    public int cPerGroup() {
        return c / groups;
    }

    public int oPerGroup() {
        return o / groups;
    }

    public boolean depthwise() {
        return groups == c && groups == o;
    }

    public double flops() {
        return 2.0 * n * o * outH() * outW() * cPerGroup() * kh * kw;
    }
}
