package diffir.data;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.image.Image;

import java.util.List;

/** A training batch as NCHW float arrays: LQ inputs and their GT targets. */
public record Batch(float[] lq, int[] lqShape, float[] gt, int[] gtShape) {

    /** Packs pairs that all have the same LQ shape and the same GT shape. */
    public static Batch of(List<LqGt> pairs) {
        if (pairs.isEmpty()) throw new IllegalArgumentException("a batch needs at least one pair");
        Image l0 = pairs.getFirst().lq(), g0 = pairs.getFirst().gt();
        int n = pairs.size(), lper = l0.data().length, gper = g0.data().length;
        float[] lq = new float[n * lper], gt = new float[n * gper];
        for (int i = 0; i < n; i++) {
            LqGt p = pairs.get(i);
            if (!p.lq().sameShape(l0) || !p.gt().sameShape(g0))
                throw new IllegalArgumentException("pair " + i + " is " + p.lq().shapeString() + " -> " + p.gt().shapeString()
                        + ", pair 0 is " + l0.shapeString() + " -> " + g0.shapeString());
            System.arraycopy(p.lq().data(), 0, lq, i * lper, lper);
            System.arraycopy(p.gt().data(), 0, gt, i * gper, gper);
        }
        return new Batch(lq, new int[]{n, l0.channels(), l0.height(), l0.width()}, gt, new int[]{n, g0.channels(), g0.height(), g0.width()});
    }

    public int size() {
        return lqShape[0];
    }

    public Tensor lqTensor(Device device) {
        return Tensor.of(device, lq, lqShape);
    }

    public Tensor gtTensor(Device device) {
        return Tensor.of(device, gt, gtShape);
    }

    /** Pair i as images (copies). */
    public LqGt pair(int i) {
        return new LqGt(slice(lq, lqShape, i), slice(gt, gtShape, i));
    }

    private static Image slice(float[] all, int[] s, int i) {
        int per = s[1] * s[2] * s[3];
        float[] d = new float[per];
        System.arraycopy(all, i * per, d, 0, per);
        return new Image(s[1], s[2], s[3], d);
    }
}
