package diffir.engine.ops;

import diffir.engine.Tensor;
import diffir.engine.backend.BinaryOp;
import diffir.engine.backend.ScalarOp;
import diffir.engine.backend.UnaryOp;

import java.util.List;

/**
 * The registry of differentiable ops: every op the engine has is listed here, once. Each delegates
 * to the one class that holds its forward and backward ({@link Elementwise}, {@link Reduce},
 * {@link ShapeOps}, {@link MatMul}, {@link Conv}, {@link Norm}, {@link Losses}); the kernels behind
 * them are the {@link diffir.engine.backend.Backend} methods of each device.
 */
public final class Ops {
    private Ops() {}

    // ---------------------------------------------------------------- elementwise, broadcasting

    public static Tensor add(Tensor a, Tensor b) { return Elementwise.binary(BinaryOp.ADD, a, b); }
    public static Tensor sub(Tensor a, Tensor b) { return Elementwise.binary(BinaryOp.SUB, a, b); }
    public static Tensor mul(Tensor a, Tensor b) { return Elementwise.binary(BinaryOp.MUL, a, b); }
    public static Tensor div(Tensor a, Tensor b) { return Elementwise.binary(BinaryOp.DIV, a, b); }
    public static Tensor maximum(Tensor a, Tensor b) { return Elementwise.binary(BinaryOp.MAX, a, b); }

    public static Tensor addScalar(Tensor a, float s) { return Elementwise.scalar(ScalarOp.ADD, a, s); }
    public static Tensor mulScalar(Tensor a, float s) { return Elementwise.scalar(ScalarOp.MUL, a, s); }
    /** s - a */
    public static Tensor rsubScalar(Tensor a, float s) { return Elementwise.scalar(ScalarOp.RSUB, a, s); }
    /** s / a */
    public static Tensor rdivScalar(Tensor a, float s) { return Elementwise.scalar(ScalarOp.RDIV, a, s); }
    public static Tensor pow(Tensor a, float exponent) { return Elementwise.scalar(ScalarOp.POW, a, exponent); }
    public static Tensor clampMin(Tensor a, float lo) { return Elementwise.scalar(ScalarOp.MAX, a, lo); }
    public static Tensor clampMax(Tensor a, float hi) { return Elementwise.scalar(ScalarOp.MIN, a, hi); }

    public static Tensor neg(Tensor a) { return Elementwise.unary(UnaryOp.NEG, a, 0); }
    public static Tensor exp(Tensor a) { return Elementwise.unary(UnaryOp.EXP, a, 0); }
    public static Tensor log(Tensor a) { return Elementwise.unary(UnaryOp.LOG, a, 0); }
    public static Tensor sqrt(Tensor a) { return Elementwise.unary(UnaryOp.SQRT, a, 0); }
    public static Tensor abs(Tensor a) { return Elementwise.unary(UnaryOp.ABS, a, 0); }
    public static Tensor square(Tensor a) { return Elementwise.unary(UnaryOp.SQUARE, a, 0); }
    public static Tensor tanh(Tensor a) { return Elementwise.unary(UnaryOp.TANH, a, 0); }
    public static Tensor sigmoid(Tensor a) { return Elementwise.unary(UnaryOp.SIGMOID, a, 0); }
    public static Tensor relu(Tensor a) { return Elementwise.unary(UnaryOp.RELU, a, 0); }
    public static Tensor leakyRelu(Tensor a, float slope) { return Elementwise.unary(UnaryOp.LEAKY_RELU, a, slope); }
    /** Exact (erf) GELU. */
    public static Tensor gelu(Tensor a) { return Elementwise.unary(UnaryOp.GELU, a, 0); }

    // ---------------------------------------------------------------- reductions

    public static Tensor sum(Tensor a) { return Reduce.sum(a, false); }
    public static Tensor sum(Tensor a, boolean keepDim, int... axes) { return Reduce.sum(a, keepDim, axes); }
    public static Tensor mean(Tensor a) { return Reduce.mean(a, false); }
    public static Tensor mean(Tensor a, boolean keepDim, int... axes) { return Reduce.mean(a, keepDim, axes); }
    /** (N, C, H, W) -> (N, C, 1, 1). */
    public static Tensor globalAvgPool(Tensor a) { return Reduce.mean(a, true, 2, 3); }

    // ---------------------------------------------------------------- linear algebra

    public static Tensor matmul(Tensor a, Tensor b) { return MatMul.matmul(a, b, false, false); }
    public static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) { return MatMul.matmul(a, b, transA, transB); }

    /** x [..., in] times weight (out, in) transposed, plus bias (out) when non-null. */
    public static Tensor linear(Tensor x, Tensor weight, Tensor bias) {
        int[] s = x.shape();
        Tensor x2 = reshape(x, -1, s[s.length - 1]);
        Tensor y = MatMul.matmul(x2, weight, false, true);
        if (bias != null) y = add(y, bias);
        s[s.length - 1] = weight.dim(0);
        return reshape(y, s);
    }

    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, int stride, int padding, int groups) {
        return Conv.conv2d(x, w, bias, stride, padding, groups);
    }

    // ---------------------------------------------------------------- shape

    public static Tensor reshape(Tensor a, int... shape) { return ShapeOps.reshape(a, shape); }
    public static Tensor permute(Tensor a, int... order) { return ShapeOps.permute(a, order); }
    public static Tensor transpose(Tensor a, int i, int j) { return ShapeOps.transpose(a, i, j); }
    public static Tensor narrow(Tensor a, int axis, int start, int length) { return ShapeOps.narrow(a, axis, start, length); }
    public static Tensor concat(int axis, Tensor... parts) { return ShapeOps.concat(axis, parts); }
    public static List<Tensor> split(Tensor a, int axis, int... sizes) { return ShapeOps.split(a, axis, sizes); }
    public static List<Tensor> chunk(Tensor a, int chunks, int axis) { return ShapeOps.chunk(a, chunks, axis); }
    public static Tensor expand(Tensor a, int... shape) { return ShapeOps.expand(a, shape); }
    public static Tensor pixelShuffle(Tensor a, int factor) { return ShapeOps.pixelShuffle(a, factor); }
    public static Tensor pixelUnshuffle(Tensor a, int factor) { return ShapeOps.pixelUnshuffle(a, factor); }
    public static Tensor upsampleNearest(Tensor a, int scale) { return ShapeOps.upsampleNearest(a, scale); }

    // ---------------------------------------------------------------- normalisation

    public static Tensor softmax(Tensor a) { return Norm.softmax(a, false); }
    public static Tensor logSoftmax(Tensor a) { return Norm.softmax(a, true); }
    /** x / max(||x||, eps) over the last axis (PyTorch's F.normalize, dim=-1). */
    public static Tensor l2Normalize(Tensor a, float eps) { return Norm.l2Normalize(a, eps); }
    /** Channel LayerNorm of NCHW; bias null means BiasFree. */
    public static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, float eps) { return Norm.layerNorm(x, weight, bias, null, eps); }

    // ---------------------------------------------------------------- fused DiffIR ops

    /** LayerNorm then the dynamic modulation x*k1 + k2, with mod = [k1 | k2] of shape (N, 2C). */
    public static Tensor modulatedLayerNorm(Tensor x, Tensor weight, Tensor bias, Tensor mod, float eps) {
        return Norm.layerNorm(x, weight, bias, mod, eps);
    }

    /** Depthwise KxK conv over (N, 2Hd, H, W), then gelu(first Hd) * last Hd. */
    public static Tensor gatedDwConv(Tensor x, Tensor w, Tensor bias) { return Conv.gatedDwConv(x, w, bias); }

    /** MDTA's transposed attention over qkv (N, 3C, H, W) -> (N, C, H, W). */
    public static Tensor channelAttention(Tensor qkv, Tensor temperature, int heads) {
        return Norm.channelAttention(qkv, temperature, heads);
    }

    // ---------------------------------------------------------------- losses

    /** Mean absolute error. */
    public static Tensor l1Loss(Tensor pred, Tensor target) { return Losses.l1(pred, target); }
    /** Mean squared error. */
    public static Tensor mseLoss(Tensor pred, Tensor target) { return Losses.mse(pred, target); }
    /**
     * PyTorch's {@code F.kl_div(logInput, target, reduction)}: pointwise target*(log target - logInput)
     * (0 where target is 0), reduced by "mean", "sum" or "batchmean".
     */
    public static Tensor klDiv(Tensor logInput, Tensor target, String reduction) { return Losses.klDiv(logInput, target, reduction); }
}
