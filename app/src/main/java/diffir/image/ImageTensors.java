package diffir.image;

import diffir.engine.Device;
import diffir.engine.Shapes;
import diffir.engine.Tensor;

import java.util.ArrayList;
import java.util.List;

/** Images to and from engine tensors: a batch is NCHW float32, image n at rows [n*C*H*W, ...). */
public final class ImageTensors {
    private ImageTensors() {}

    /** A 1xCxHxW tensor of one image. */
    public static Tensor toBatch(Image image, Device device) {
        return Tensor.of(device, image.data(), 1, image.channels(), image.height(), image.width());
    }

    /** An NxCxHxW tensor of images that all have the same shape. */
    public static Tensor toBatch(List<Image> images, Device device) {
        if (images.isEmpty()) throw new IllegalArgumentException("cannot batch zero images");
        Image first = images.getFirst();
        int per = first.data().length;
        float[] all = new float[Math.multiplyExact(per, images.size())];
        for (int i = 0; i < images.size(); i++) {
            Image im = images.get(i);
            if (!im.sameShape(first))
                throw new IllegalArgumentException("image " + i + " is " + im.shapeString() + ", image 0 is " + first.shapeString() + "; a batch needs one shape");
            System.arraycopy(im.data(), 0, all, i * per, per);
        }
        return Tensor.of(device, all, images.size(), first.channels(), first.height(), first.width());
    }

    /** Every image of an NxCxHxW tensor (copied to the host). */
    public static List<Image> fromBatch(Tensor batch) {
        int[] s = requireNchw(batch);
        float[] all = batch.toFloatArray();
        int per = s[1] * s[2] * s[3];
        List<Image> out = new ArrayList<>(s[0]);
        for (int n = 0; n < s[0]; n++) {
            float[] d = new float[per];
            System.arraycopy(all, n * per, d, 0, per);
            out.add(new Image(s[1], s[2], s[3], d));
        }
        return out;
    }

    /** Image n of an NxCxHxW tensor. */
    public static Image fromBatch(Tensor batch, int n) {
        int[] s = requireNchw(batch);
        if (n < 0 || n >= s[0]) throw new IllegalArgumentException("image " + n + " of a batch of " + s[0]);
        Tensor one = batch.narrowView(n, 1);
        return new Image(s[1], s[2], s[3], one.toFloatArray());
    }

    private static int[] requireNchw(Tensor t) {
        int[] s = t.shape();
        if (s.length != 4) throw new IllegalArgumentException("expected an NxCxHxW tensor, got " + Shapes.str(s));
        return s;
    }
}
