package diffir.image;

/**
 * A decoded image file: its colour (1 gray or 3 RGB channels, [0, 1]), its alpha channel or null when
 * the file has none (kept apart so a restored image can get it back), the bits per sample of the file
 * (8 or 16; palette images count as 8) and the format name ("png", "jpeg", ...).
 */
public record LoadedImage(Image image, Image alpha, int bitDepth, String format) {

    public LoadedImage {
        if (image == null) throw new IllegalArgumentException("image is null");
        if (alpha != null && (alpha.channels() != 1 || alpha.height() != image.height() || alpha.width() != image.width()))
            throw new IllegalArgumentException("alpha " + alpha.shapeString() + " does not match image " + image.shapeString());
    }

    public boolean hasAlpha() {
        return alpha != null;
    }

    /** The colour as RGB (gray repeated), alpha dropped: what models take. */
    public Image rgb() {
        return image.toRgb();
    }
}
