package diffir.image;

import java.util.function.UnaryOperator;

/**
 * Runs an image-to-image function on overlapping tiles so memory stays bounded, and blends the
 * tile outputs back. Tiles are tile x tile input pixels (smaller where the image is), stepping by
 * tile - overlap, the last one flush with the border. For super-resolution (scale > 1) the function
 * returns tiles scale times larger and the whole geometry scales with them.
 *
 * <p>Blending is a weighted mean in double precision: AVERAGE weighs every pixel 1, LINEAR_RAMP
 * weighs a tile's pixels up linearly across its overlap with a neighbour, which hides seams. Where
 * all tiles agree (a pointwise function) the result is exactly the full-image result.
 */
public final class Tiler {
    public enum Blend { AVERAGE, LINEAR_RAMP }

    private final int tile, overlap, scale;
    private final Blend blend;

    public Tiler(int tile, int overlap, int scale, Blend blend) {
        if (tile <= 0) throw new IllegalArgumentException("tile size must be positive, got " + tile);
        if (overlap < 0 || overlap >= tile) throw new IllegalArgumentException("overlap must be in [0, tile), got " + overlap + " for tile " + tile);
        if (scale <= 0) throw new IllegalArgumentException("scale must be positive, got " + scale);
        this.tile = tile;
        this.overlap = overlap;
        this.scale = scale;
        this.blend = blend;
    }

    /** Start offsets of tiles along a side of the given length: step tile - overlap, last flush with the end. */
    public static int[] starts(int length, int tile, int overlap) {
        if (length <= tile) return new int[]{0};
        int step = tile - overlap;
        int n = (length - tile + step - 1) / step + 1;
        int[] s = new int[n];
        for (int i = 0; i < n; i++) s[i] = Math.min(i * step, length - tile);
        return s;
    }

    public Image apply(Image input, UnaryOperator<Image> fn) {
        int h = input.height(), w = input.width();
        int th = Math.min(tile, h), tw = Math.min(tile, w);
        int[] ys = starts(h, th, overlap), xs = starts(w, tw, overlap);
        int oh = h * scale, ow = w * scale, oth = th * scale, otw = tw * scale;
        double[] sum = null, weight = new double[oh * ow];
        int channels = 0;
        for (int ty = 0; ty < ys.length; ty++) {
            double[] wy = ramp(oth, ty > 0, ty < ys.length - 1);
            for (int tx = 0; tx < xs.length; tx++) {
                double[] wx = ramp(otw, tx > 0, tx < xs.length - 1);
                Image out = fn.apply(input.crop(ys[ty], xs[tx], th, tw));
                if (out.height() != oth || out.width() != otw)
                    throw new IllegalArgumentException("tile function returned " + out.shapeString() + " for a " + th + "x" + tw
                            + " tile; expected " + oth + "x" + otw + " (scale " + scale + ")");
                if (sum == null) {
                    channels = out.channels();
                    sum = new double[channels * oh * ow];
                } else if (out.channels() != channels) {
                    throw new IllegalArgumentException("tile function returned " + out.channels() + " channels, earlier " + channels);
                }
                accumulate(out, ys[ty] * scale, xs[tx] * scale, wy, wx, sum, weight, oh, ow);
            }
        }
        float[] result = new float[channels * oh * ow];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < oh * ow; i++) result[c * oh * ow + i] = (float) (sum[c * oh * ow + i] / weight[i]);
        return new Image(channels, oh, ow, result);
    }

    private static void accumulate(Image out, int y0, int x0, double[] wy, double[] wx, double[] sum, double[] weight, int oh, int ow) {
        int th = out.height(), tw = out.width();
        float[] d = out.data();
        for (int y = 0; y < th; y++)
            for (int x = 0; x < tw; x++) weight[(y0 + y) * ow + x0 + x] += wy[y] * wx[x];
        for (int c = 0; c < out.channels(); c++)
            for (int y = 0; y < th; y++) {
                int dst = (c * oh + y0 + y) * ow + x0, src = (c * th + y) * tw;
                for (int x = 0; x < tw; x++) sum[dst + x] += wy[y] * wx[x] * d[src + x];
            }
    }

    /** Per-position weights along one tile side: ramps over the overlap at sides shared with a neighbour. */
    private double[] ramp(int length, boolean neighbourBefore, boolean neighbourAfter) {
        double[] r = new double[length];
        java.util.Arrays.fill(r, 1.0);
        int o = overlap * scale;
        if (blend == Blend.AVERAGE || o == 0) return r;
        for (int i = 0; i < Math.min(o, length); i++) {
            double v = (i + 1.0) / (o + 1.0);
            if (neighbourBefore) r[i] = Math.min(r[i], v);
            if (neighbourAfter) r[length - 1 - i] = Math.min(r[length - 1 - i], v);
        }
        return r;
    }
}
