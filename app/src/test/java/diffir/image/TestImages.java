package diffir.image;

/** Deterministic test images. */
final class TestImages {
    private TestImages() {}

    /** Values spread over [0, 1] in a fixed pseudo-random order. */
    static Image ramp(int c, int h, int w) {
        Image img = Image.zeros(c, h, w);
        for (int i = 0; i < img.data().length; i++) img.data()[i] = (i * 37 % 251) / 250f;
        return img;
    }
}
