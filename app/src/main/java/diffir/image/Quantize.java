package diffir.image;

/**
 * The project's one rule for turning [0, 1] floats into integer codes, shared by PNG writing, JPEG
 * degradation and the metrics. It is basicsr's {@code tensor2img}: clamp to [0, 1], multiply by 255
 * in float32, round half to even (numpy's {@code round}). NaN becomes 0.
 */
public final class Quantize {
    private Quantize() {}

    /** The 8-bit code 0..255 of a value. */
    public static int code8(float v) {
        return code(v, 255f);
    }

    /** The 16-bit code 0..65535 of a value. */
    public static int code16(float v) {
        return code(v, 65535f);
    }

    private static int code(float v, float max) {
        if (!(v > 0f)) return 0; // also NaN
        if (v >= 1f) return (int) max;
        return (int) Math.rint(v * max);
    }

    /** The image with every value replaced by its 8-bit code / 255 (what saving and loading a PNG gives). */
    public static Image to8Bit(Image img) {
        float[] in = img.data(), out = new float[in.length];
        for (int i = 0; i < in.length; i++) out[i] = code8(in[i]) / 255f;
        return new Image(img.channels(), img.height(), img.width(), out);
    }
}
