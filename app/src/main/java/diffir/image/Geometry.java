package diffir.image;

/** Lossless rearrangements: flips, transposition and quarter turns (the dihedral augmentations). */
public final class Geometry {
    private Geometry() {}

    /** Mirror left-right. */
    public static Image flipHorizontal(Image img) {
        int c = img.channels(), h = img.height(), w = img.width();
        float[] in = img.data(), out = new float[in.length];
        for (int row = 0; row < c * h; row++) {
            int b = row * w;
            for (int x = 0; x < w; x++) out[b + x] = in[b + w - 1 - x];
        }
        return new Image(c, h, w, out);
    }

    /** Mirror top-bottom. */
    public static Image flipVertical(Image img) {
        int c = img.channels(), h = img.height(), w = img.width();
        float[] in = img.data(), out = new float[in.length];
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++) System.arraycopy(in, (ch * h + y) * w, out, (ch * h + h - 1 - y) * w, w);
        return new Image(c, h, w, out);
    }

    /** Swap rows and columns: out(y, x) = in(x, y); the result is w x h. */
    public static Image transpose(Image img) {
        int c = img.channels(), h = img.height(), w = img.width();
        float[] in = img.data(), out = new float[in.length];
        for (int ch = 0; ch < c; ch++) {
            int p = ch * h * w;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) out[p + x * h + y] = in[p + y * w + x];
        }
        return new Image(c, w, h, out);
    }

    /** Rotates counter-clockwise by quarterTurns * 90 degrees (any integer, negative turns clockwise). */
    public static Image rotate90(Image img, int quarterTurns) {
        return switch (Math.floorMod(quarterTurns, 4)) {
            case 0 -> img;
            case 1 -> flipVertical(transpose(img));
            case 2 -> flipVertical(flipHorizontal(img));
            default -> transpose(flipVertical(img));
        };
    }
}
