package diffir.data;

import diffir.image.Image;

/** A training or validation pair: the degraded input and its ground truth. */
public record LqGt(Image lq, Image gt) {
    public LqGt {
        if (lq == null || gt == null) throw new IllegalArgumentException("LQ and GT images are required");
    }
}
