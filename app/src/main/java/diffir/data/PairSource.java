package diffir.data;

import java.io.IOException;
import java.util.SplittableRandom;

/** Where LQ/GT pairs come from: GT images with synthetic degradation, or stored LQ/GT pairs. */
public interface PairSource {
    /** Number of images. */
    int size();

    /** The file name of image index, for messages and reports. */
    String name(int index);

    /** GT size / LQ size. */
    int scale();

    /**
     * Fails, naming the first image, unless every image is at least patch x patch (read from the file
     * headers) and patch is a multiple of the scale.
     */
    void checkPatch(int patch) throws IOException;

    /**
     * An aligned pair at a random position of image index: GT patch x patch (patch a multiple of the
     * scale), LQ patch/scale square. An image smaller than the patch is an error naming it.
     */
    LqGt randomPatch(int index, int patch, SplittableRandom rng) throws IOException;

    /**
     * A fixed pair of image index for validation: the centred crop x crop GT square, or with crop <= 0
     * the whole image (cropped to a multiple of the scale). Any synthesis draws from rng.
     */
    LqGt fixed(int index, int crop, SplittableRandom rng) throws IOException;
}
