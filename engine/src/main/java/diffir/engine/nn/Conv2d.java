package diffir.engine.nn;

import diffir.engine.Tensor;
import diffir.engine.ops.Ops;

/**
 * PyTorch's {@code nn.Conv2d} (square kernel, same stride and padding on both axes): parameters
 * {@code weight} (out, in/groups, k, k) and optional {@code bias} (out), with PyTorch's default
 * initialisation, kaiming_uniform_(a=sqrt(5)) for the weight and U(+-1/sqrt(fan_in)) for the bias.
 */
public final class Conv2d extends Module implements Layer {
    private final int inChannels, outChannels, kernelSize, stride, padding, groups;
    private final Tensor weight;
    private final Tensor bias;

    public Conv2d(Init init, int inChannels, int outChannels, int kernelSize, int stride, int padding, int groups, boolean bias) {
        if (inChannels <= 0 || outChannels <= 0 || kernelSize <= 0 || stride <= 0 || padding < 0 || groups <= 0)
            throw new IllegalArgumentException("Conv2d(in " + inChannels + ", out " + outChannels + ", k " + kernelSize
                    + ", stride " + stride + ", padding " + padding + ", groups " + groups + "): sizes must be positive, padding >= 0");
        if (inChannels % groups != 0 || outChannels % groups != 0)
            throw new IllegalArgumentException("Conv2d: in " + inChannels + " and out " + outChannels
                    + " channels must both be divisible by groups " + groups);
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernelSize = kernelSize;
        this.stride = stride;
        this.padding = padding;
        this.groups = groups;
        int fanIn = inChannels / groups * kernelSize * kernelSize;
        this.weight = param("weight", init.kaimingUniform(fanIn, Math.sqrt(5), outChannels, inChannels / groups, kernelSize, kernelSize));
        this.bias = bias ? param("bias", init.fanInUniform(fanIn, outChannels)) : null;
    }

    /** A convolution with stride 1 and no groups. */
    public Conv2d(Init init, int inChannels, int outChannels, int kernelSize, int padding, boolean bias) {
        this(init, inChannels, outChannels, kernelSize, 1, padding, 1, bias);
    }

    @Override
    public Tensor forward(Tensor x) {
        if (x.rank() != 4 || x.dim(1) != inChannels)
            throw new IllegalArgumentException("Conv2d(" + inChannels + " -> " + outChannels + ") needs input (N, "
                    + inChannels + ", H, W), got " + diffir.engine.Shapes.str(x.shape()));
        return Ops.conv2d(x, weight, bias, stride, padding, groups);
    }

    public Tensor weight() { return weight; }

    /** Null when built without bias. */
    public Tensor bias() { return bias; }

    public int inChannels() { return inChannels; }
    public int outChannels() { return outChannels; }
    public int kernelSize() { return kernelSize; }
    public int stride() { return stride; }
    public int padding() { return padding; }
    public int groups() { return groups; }
}
