package diffir.data;

import diffir.image.InvalidImageException;

import java.nio.file.Path;

/** Checks shared by the pair sources. */
final class Patches {
    private Patches() {}

    static void requirePatch(int patch, int scale) {
        if (patch <= 0 || patch % scale != 0)
            throw new IllegalArgumentException("patch size " + patch + " must be a positive multiple of the scale " + scale);
    }

    static InvalidImageException tooSmall(Path file, int h, int w, int patch, String what) {
        return new InvalidImageException(file, "is " + h + "x" + w + ", smaller than the " + patch + "x" + patch + " " + what);
    }

    /**
     * The validation crop side for an image: the asked crop, or for a smaller image the largest square
     * that fits (a multiple of the scale), so small validation pictures are used whole rather than refused.
     */
    static int fitCrop(int crop, int height, int width, int scale) {
        return Math.min(crop, Math.min(height, width) / scale * scale);
    }
}
