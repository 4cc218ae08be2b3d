package diffir.image;

/**
 * An image as planar float32 values, nominally in [0, 1]: channel-major (CHW), so channel c, row y,
 * column x is {@code data[(c * height + y) * width + x]}. One channel is gray, three are RGB; other
 * counts appear as model inputs (the 4-channel masked image + mask of inpainting).
 *
 * <p>The array is shared, not copied: methods that return a new image never modify this one, and
 * callers that keep an image should not modify its array afterwards. Being a record over an array,
 * {@code equals} compares array identity; compare {@link #data()} for values.
 */
public record Image(int channels, int height, int width, float[] data) {

    public Image {
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new IllegalArgumentException("image dimensions must be positive, got " + shapeString(channels, height, width));
        if (data == null || data.length != (long) channels * height * width)
            throw new IllegalArgumentException("image " + shapeString(channels, height, width) + " needs " + (long) channels * height * width
                    + " values, got " + (data == null ? "null" : data.length));
    }

    public static Image zeros(int channels, int height, int width) {
        return new Image(channels, height, width, new float[Math.multiplyExact(Math.multiplyExact(channels, height), width)]);
    }

    public int planeSize() {
        return height * width;
    }

    public float get(int c, int y, int x) {
        return data[(c * height + y) * width + x];
    }

    public void set(int c, int y, int x, float v) {
        data[(c * height + y) * width + x] = v;
    }

    public Image copy() {
        return new Image(channels, height, width, data.clone());
    }

    public boolean sameShape(Image o) {
        return channels == o.channels && height == o.height && width == o.width;
    }

    /** "CxHxW", for messages. */
    public String shapeString() {
        return shapeString(channels, height, width);
    }

    static String shapeString(int c, int h, int w) {
        return c + "x" + h + "x" + w;
    }

    /** The rectangle of rows [y, y+h) and columns [x, x+w), all channels. */
    public Image crop(int y, int x, int h, int w) {
        if (y < 0 || x < 0 || h <= 0 || w <= 0 || y + h > height || x + w > width)
            throw new IllegalArgumentException("crop rows [" + y + ", " + (y + h) + ") columns [" + x + ", " + (x + w) + ") lies outside image "
                    + shapeString());
        float[] out = new float[channels * h * w];
        for (int c = 0; c < channels; c++)
            for (int r = 0; r < h; r++)
                System.arraycopy(data, (c * height + y + r) * width + x, out, (c * h + r) * w, w);
        return new Image(channels, h, w, out);
    }

    /** Crops bottom and right so height and width are multiples of m (basicsr's mod_crop). */
    public Image modCrop(int m) {
        if (m <= 0) throw new IllegalArgumentException("mod-crop multiple must be positive, got " + m);
        int h = height - height % m, w = width - width % m;
        if (h == 0 || w == 0) throw new IllegalArgumentException("image " + shapeString() + " is smaller than the multiple " + m);
        return h == height && w == width ? this : crop(0, 0, h, w);
    }

    /** Channels [from, from+count). */
    public Image channels(int from, int count) {
        if (from < 0 || count <= 0 || from + count > channels)
            throw new IllegalArgumentException("channels [" + from + ", " + (from + count) + ") of an image with " + channels);
        float[] out = new float[count * planeSize()];
        System.arraycopy(data, from * planeSize(), out, 0, out.length);
        return new Image(count, height, width, out);
    }

    /** The channels of a followed by those of b (same height and width). */
    public static Image concat(Image a, Image b) {
        if (a.height != b.height || a.width != b.width)
            throw new IllegalArgumentException("cannot stack channels of " + a.shapeString() + " and " + b.shapeString());
        float[] out = new float[a.data.length + b.data.length];
        System.arraycopy(a.data, 0, out, 0, a.data.length);
        System.arraycopy(b.data, 0, out, a.data.length, b.data.length);
        return new Image(a.channels + b.channels, a.height, a.width, out);
    }

    /** Three channels: gray is repeated, RGB is returned as is. */
    public Image toRgb() {
        if (channels == 3) return this;
        if (channels != 1) throw new IllegalArgumentException("cannot make RGB from " + channels + " channels");
        float[] out = new float[3 * planeSize()];
        for (int c = 0; c < 3; c++) System.arraycopy(data, 0, out, c * planeSize(), planeSize());
        return new Image(3, height, width, out);
    }

    /** Values clamped to [0, 1]. */
    public Image clamp01() {
        float[] out = new float[data.length];
        for (int i = 0; i < out.length; i++) out[i] = Math.min(1f, Math.max(0f, data[i]));
        return new Image(channels, height, width, out);
    }
}
