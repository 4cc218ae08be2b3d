package diffir.data;

import diffir.image.Geometry;
import diffir.image.Image;

import java.util.SplittableRandom;

/**
 * basicsr's {@code augment}: a horizontal flip, a vertical flip and a transposition, each with
 * probability 1/2, applied identically to LQ and GT. Together they give all eight flips and quarter
 * turns; whole-image operations keep an SR pair aligned at any scale.
 */
public final class Augment {
    private Augment() {}

    public static LqGt apply(LqGt pair, SplittableRandom rng) {
        boolean h = rng.nextBoolean(), v = rng.nextBoolean(), t = rng.nextBoolean();
        return new LqGt(transform(pair.lq(), h, v, t), transform(pair.gt(), h, v, t));
    }

    static Image transform(Image img, boolean hflip, boolean vflip, boolean transpose) {
        if (hflip) img = Geometry.flipHorizontal(img);
        if (vflip) img = Geometry.flipVertical(img);
        if (transpose) img = Geometry.transpose(img);
        return img;
    }
}
