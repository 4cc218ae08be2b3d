package diffir.image;

/**
 * Reflect padding at the bottom and right to a multiple of m, and cropping back: the models need
 * sizes divisible by 8 (the reference pads with PyTorch "reflect" the same way and crops after).
 */
public final class Padding {
    private Padding() {}

    /** A padded image and the size it had before. */
    public record Padded(Image image, int height, int width) {
        /** The top-left height*scale by width*scale of a model output (scale > 1 for super-resolution). */
        public Image cropBack(Image output, int scale) {
            int h = height * scale, w = width * scale;
            if (output.height() < h || output.width() < w)
                throw new IllegalArgumentException("output " + output.shapeString() + " is smaller than the original " + h + "x" + w);
            return output.height() == h && output.width() == w ? output : output.crop(0, 0, h, w);
        }

        public Image cropBack(Image output) {
            return cropBack(output, 1);
        }
    }

    /**
     * Pads bottom and right by mirroring (edge not repeated) so both sides are multiples of m. A pad
     * wider than the image folds back again, so even tiny images pad.
     */
    public static Padded reflectToMultiple(Image img, int m) {
        if (m <= 0) throw new IllegalArgumentException("padding multiple must be positive, got " + m);
        int h = img.height(), w = img.width();
        int ph = (h + m - 1) / m * m, pw = (w + m - 1) / m * m;
        if (ph == h && pw == w) return new Padded(img, h, w);
        int c = img.channels();
        float[] in = img.data(), out = new float[c * ph * pw];
        int[] col = new int[pw];
        for (int x = 0; x < pw; x++) col[x] = Borders.reflect(x, w);
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < ph; y++) {
                int src = (ch * h + Borders.reflect(y, h)) * w, dst = (ch * ph + y) * pw;
                for (int x = 0; x < pw; x++) out[dst + x] = in[src + col[x]];
            }
        return new Padded(new Image(c, ph, pw, out), h, w);
    }
}
