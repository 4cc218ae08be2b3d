package diffir.engine;

import diffir.engine.autograd.Autograd;
import diffir.engine.autograd.Node;
import diffir.engine.backend.Backend;
import diffir.engine.backend.Storage;
import diffir.engine.ops.Ops;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * An N-d float32 tensor: a contiguous row-major view (shape, offset) of a backend {@link Storage}.
 *
 * <p>Every tensor is contiguous, which keeps every kernel simple and fast; views are only made where
 * they cost nothing (reshape, and slices along the leading axes). Permutes and other slices copy.
 * Values are read only through explicit copies ({@link #toFloatArray()}), so the same code runs on a
 * device backend that keeps data on the GPU.
 *
 * <p>Math lives in {@link Ops}; the instance methods here are shorthands for it.
 */
public final class Tensor {
    private final int[] shape;
    private final Storage storage;
    private final long offset;
    private final Device device;

    private boolean requiresGrad;
    private Tensor grad;
    private boolean gradOwned;
    private Node gradFn;
    private Node leafNode;

    public Tensor(int[] shape, Storage storage, long offset, Device device) {
        this.shape = shape.clone();
        this.storage = storage;
        this.offset = offset;
        this.device = device;
        long n = Shapes.numel(shape);
        if (offset < 0 || offset + n > storage.size())
            throw new IllegalArgumentException("view " + Shapes.str(shape) + " at " + offset + " exceeds storage of " + storage.size());
    }

    // ------------------------------------------------------------------ creation

    /** Uninitialised tensor on a device. */
    public static Tensor empty(Device device, int... shape) {
        long n = Shapes.numel(shape);
        Storage s = device.backend().allocate(n);
        MemoryScope.track(s);
        return new Tensor(shape, s, 0, device);
    }

    public static Tensor zeros(Device device, int... shape) {
        return full(device, 0f, shape);
    }

    public static Tensor ones(Device device, int... shape) {
        return full(device, 1f, shape);
    }

    public static Tensor full(Device device, float value, int... shape) {
        Tensor t = empty(device, shape);
        device.backend().fill(t, value);
        return t;
    }

    /** A CPU tensor holding a copy of data. */
    public static Tensor of(float[] data, int... shape) {
        return of(Device.CPU, data, shape);
    }

    public static Tensor of(Device device, float[] data, int... shape) {
        if (Shapes.numel(shape) != data.length)
            throw new IllegalArgumentException(data.length + " values do not fill shape " + Shapes.str(shape));
        Tensor t = empty(device, shape);
        device.backend().upload(data, 0, t);
        return t;
    }

    public static Tensor scalar(Device device, float value) {
        return full(device, value, new int[0]);
    }

    /** Standard normal samples from a seeded generator (drawn on the host, so every device sees the same values). */
    public static Tensor randn(Device device, SplittableRandom rng, int... shape) {
        float[] v = new float[Math.toIntExact(Shapes.numel(shape))];
        for (int i = 0; i < v.length; i += 2) {
            // Box-Muller: two normals per pair of uniforms.
            double u1 = rng.nextDouble(), u2 = rng.nextDouble();
            double r = Math.sqrt(-2 * Math.log(1 - u1));
            v[i] = (float) (r * Math.cos(2 * Math.PI * u2));
            if (i + 1 < v.length) v[i + 1] = (float) (r * Math.sin(2 * Math.PI * u2));
        }
        return of(device, v, shape);
    }

    /** Uniform samples in [lo, hi). */
    public static Tensor rand(Device device, SplittableRandom rng, float lo, float hi, int... shape) {
        float[] v = new float[Math.toIntExact(Shapes.numel(shape))];
        for (int i = 0; i < v.length; i++) v[i] = (float) (lo + (hi - lo) * rng.nextDouble());
        return of(device, v, shape);
    }

    // ------------------------------------------------------------------ metadata

    public int[] shape() {
        return shape.clone();
    }

    public int dim(int axis) {
        return shape[Shapes.axis(axis, shape.length)];
    }

    public int rank() {
        return shape.length;
    }

    public long numel() {
        return Shapes.numel(shape);
    }

    public Storage storage() {
        return storage;
    }

    /** Offset of this view in its storage, in elements. */
    public long offset() {
        return offset;
    }

    public Device device() {
        return device;
    }

    public Backend backend() {
        return device.backend();
    }

    // ------------------------------------------------------------------ values

    /** A host copy of the values (waits for pending device work). */
    public float[] toFloatArray() {
        float[] out = new float[Math.toIntExact(numel())];
        backend().download(this, out, 0);
        return out;
    }

    /** The single value of a one-element tensor. */
    public float item() {
        if (numel() != 1) throw new IllegalStateException("item() needs one element, shape is " + Shapes.str(shape));
        return toFloatArray()[0];
    }

    /** A copy on another device (this tensor when already there). Not differentiable. */
    public Tensor to(Device target) {
        if (target == device) return this;
        Tensor out = empty(target, shape);
        target.backend().upload(toFloatArray(), 0, out);
        return out;
    }

    /** Overwrites this tensor's values (same numel) with src's, without recording autograd. */
    public void copyFrom(Tensor src) {
        if (src.numel() != numel())
            throw new IllegalArgumentException("copyFrom: " + Shapes.str(src.shape) + " into " + Shapes.str(shape));
        if (src.device != device) {
            backend().upload(src.toFloatArray(), 0, this);
        } else {
            long[] st = Shapes.strides(shape);
            backend().copyStrided(src.reshapeView(shape), 0, st, this, 0, st, shape);
        }
    }

    // ------------------------------------------------------------------ views (no copy)

    /** A view with a new shape over the same storage; no autograd (see {@link Ops#reshape}). */
    public Tensor reshapeView(int... newShape) {
        return new Tensor(Shapes.inferReshape(newShape, numel()), storage, offset, device);
    }

    /** A view of rows [start, start+length) of the first axis; no autograd (see {@link Ops#narrow}). */
    public Tensor narrowView(int start, int length) {
        if (shape.length == 0 || start < 0 || length < 0 || start + length > shape[0])
            throw new IllegalArgumentException("narrow [" + start + ", " + (start + length) + ") of " + Shapes.str(shape));
        int[] s = shape.clone();
        s[0] = length;
        long row = shape[0] == 0 ? 0 : numel() / shape[0];
        return new Tensor(s, storage, offset + start * row, device);
    }

    // ------------------------------------------------------------------ autograd

    public boolean requiresGrad() {
        return requiresGrad || gradFn != null;
    }

    /** Marks a leaf tensor as a parameter-like input whose gradient is accumulated in {@link #grad()}. */
    public Tensor requiresGrad(boolean value) {
        if (gradFn != null) throw new IllegalStateException("requiresGrad can only be set on leaf tensors");
        this.requiresGrad = value;
        return this;
    }

    public Tensor grad() {
        return grad;
    }

    public void setGrad(Tensor g) {
        if (g != null && !Arrays.equals(g.shape, shape))
            throw new IllegalArgumentException("grad shape " + Shapes.str(g.shape) + " differs from " + Shapes.str(shape));
        this.grad = g;
        this.gradOwned = false;
    }

    /** Used by autograd: a gradient it allocated itself, freed by {@link #zeroGrad()}. */
    public void setOwnedGrad(Tensor g) {
        setGrad(g);
        this.gradOwned = true;
    }

    /**
     * Drops the gradient. One that backward allocated is freed at once (reading it afterwards fails);
     * one set with {@link #setGrad} is only dropped.
     */
    public void zeroGrad() {
        if (grad != null && gradOwned) grad.storage().release();
        this.grad = null;
        this.gradOwned = false;
    }

    public Node gradFn() {
        return gradFn;
    }

    /** Used by {@link Autograd} to attach the node that produced this tensor. */
    public void setGradFn(Node node) {
        this.gradFn = node;
    }

    /** The node gradients flow into: the producing op, or for a leaf its accumulator; null if no gradient is needed. */
    public Node gradNode() {
        if (gradFn != null) return gradFn;
        if (!requiresGrad) return null;
        if (leafNode == null) leafNode = Node.leaf(this);
        return leafNode;
    }

    public boolean isLeaf() {
        return gradFn == null;
    }

    /** The same values, cut from the graph. Shares storage. */
    public Tensor detach() {
        return new Tensor(shape, storage, offset, device);
    }

    /** Back-propagates from this scalar (gradient 1). */
    public void backward() {
        Autograd.backward(this, null);
    }

    /** Back-propagates with the given gradient of this tensor. */
    public void backward(Tensor gradient) {
        Autograd.backward(this, gradient);
    }

    // ------------------------------------------------------------------ shorthands for Ops

    public Tensor add(Tensor o) { return Ops.add(this, o); }
    public Tensor sub(Tensor o) { return Ops.sub(this, o); }
    public Tensor mul(Tensor o) { return Ops.mul(this, o); }
    public Tensor div(Tensor o) { return Ops.div(this, o); }
    public Tensor add(float s) { return Ops.addScalar(this, s); }
    public Tensor mul(float s) { return Ops.mulScalar(this, s); }
    public Tensor neg() { return Ops.neg(this); }
    public Tensor exp() { return Ops.exp(this); }
    public Tensor log() { return Ops.log(this); }
    public Tensor sqrt() { return Ops.sqrt(this); }
    public Tensor abs() { return Ops.abs(this); }
    public Tensor matmul(Tensor o) { return Ops.matmul(this, o); }
    public Tensor sum() { return Ops.sum(this); }
    public Tensor mean() { return Ops.mean(this); }
    public Tensor sum(boolean keepDim, int... axes) { return Ops.sum(this, keepDim, axes); }
    public Tensor mean(boolean keepDim, int... axes) { return Ops.mean(this, keepDim, axes); }
    public Tensor reshape(int... s) { return Ops.reshape(this, s); }
    public Tensor permute(int... order) { return Ops.permute(this, order); }
    public Tensor transpose(int a, int b) { return Ops.transpose(this, a, b); }

    @Override
    public String toString() {
        return "Tensor" + Shapes.str(shape) + "@" + device + (requiresGrad() ? " (grad)" : "");
    }
}
