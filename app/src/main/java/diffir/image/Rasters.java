package diffir.image;

import java.awt.Transparency;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.ComponentColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;

/**
 * Conversions between AWT images and {@link Image}. Decoding reads the stored samples as they are
 * (no colour management, as OpenCV and PIL do): component images by their own bit depth, palette
 * images through their palette, anything else (packed RGB) through its sRGB pixels.
 */
public final class Rasters {
    private Rasters() {}

    /** The decoded colour and alpha; format is recorded as given. */
    public static LoadedImage decode(BufferedImage bi, String format) {
        ColorModel cm = bi.getColorModel();
        if (cm.isAlphaPremultiplied()) {
            bi.coerceData(false);
            cm = bi.getColorModel();
        }
        if (cm instanceof IndexColorModel icm) return palette(bi.getRaster(), icm, format);
        if (cm instanceof ComponentColorModel ccm) return components(bi.getRaster(), ccm, format);
        return packed(bi, format);
    }

    private static LoadedImage components(Raster r, ComponentColorModel cm, String format) {
        int colors = cm.getNumColorComponents();
        if (colors != 1 && colors != 3)
            throw new IllegalArgumentException("unsupported colour model with " + colors + " colour components (only gray and RGB)");
        int w = r.getWidth(), h = r.getHeight(), n = w * h;
        int type = r.getTransferType();
        boolean floating = type == DataBuffer.TYPE_FLOAT || type == DataBuffer.TYPE_DOUBLE;
        int bits = 0;
        for (int b = 0; b < cm.getNumComponents(); b++) bits = Math.max(bits, cm.getComponentSize(b));
        float[] color = new float[colors * n];
        float[] alpha = cm.hasAlpha() ? new float[n] : null;
        float[] fbuf = new float[n];
        int[] ibuf = new int[n];
        for (int band = 0; band < cm.getNumComponents(); band++) {
            float[] dst = band < colors ? color : alpha;
            int off = band < colors ? band * n : 0;
            if (floating) {
                r.getSamples(0, 0, w, h, band, fbuf);
                for (int i = 0; i < n; i++) dst[off + i] = fbuf[i];
            } else {
                r.getSamples(0, 0, w, h, band, ibuf);
                float max = (float) ((1L << cm.getComponentSize(band)) - 1);
                for (int i = 0; i < n; i++) dst[off + i] = ibuf[i] / max;
            }
        }
        return new LoadedImage(new Image(colors, h, w, color), alpha == null ? null : new Image(1, h, w, alpha),
                floating ? 32 : bits <= 8 ? 8 : 16, format);
    }

    private static LoadedImage palette(Raster r, IndexColorModel cm, String format) {
        int w = r.getWidth(), h = r.getHeight(), n = w * h, size = cm.getMapSize();
        int[] idx = r.getSamples(0, 0, w, h, 0, new int[n]);
        boolean gray = true;
        for (int i = 0; i < size && gray; i++) gray = cm.getRed(i) == cm.getGreen(i) && cm.getGreen(i) == cm.getBlue(i);
        int colors = gray ? 1 : 3;
        float[] color = new float[colors * n];
        float[] alpha = cm.hasAlpha() ? new float[n] : null;
        for (int i = 0; i < n; i++) {
            int p = idx[i];
            if (p >= size) p = 0; // out-of-palette index: decoders show the first entry
            color[i] = cm.getRed(p) / 255f;
            if (!gray) {
                color[n + i] = cm.getGreen(p) / 255f;
                color[2 * n + i] = cm.getBlue(p) / 255f;
            }
            if (alpha != null) alpha[i] = cm.getAlpha(p) / 255f;
        }
        return new LoadedImage(new Image(colors, h, w, color), alpha == null ? null : new Image(1, h, w, alpha), 8, format);
    }

    private static LoadedImage packed(BufferedImage bi, String format) {
        int w = bi.getWidth(), h = bi.getHeight(), n = w * h;
        int[] argb = bi.getRGB(0, 0, w, h, null, 0, w);
        boolean hasAlpha = bi.getColorModel().hasAlpha();
        float[] color = new float[3 * n];
        float[] alpha = hasAlpha ? new float[n] : null;
        for (int i = 0; i < n; i++) {
            int p = argb[i];
            color[i] = ((p >> 16) & 255) / 255f;
            color[n + i] = ((p >> 8) & 255) / 255f;
            color[2 * n + i] = (p & 255) / 255f;
            if (alpha != null) alpha[i] = (p >>> 24) / 255f;
        }
        return new LoadedImage(new Image(3, h, w, color), alpha == null ? null : new Image(1, h, w, alpha), 8, format);
    }

    /**
     * An AWT image of the colour (1 or 3 channels) and optional alpha, quantised to 8 or 16 bits by
     * {@link Quantize}: gray or sRGB component samples, interleaved, as PNG and JPEG writers take them.
     */
    public static BufferedImage encode(Image color, Image alpha, int bitDepth) {
        if (color.channels() != 1 && color.channels() != 3)
            throw new IllegalArgumentException("can only encode 1 (gray) or 3 (RGB) channels, got " + color.channels());
        if (bitDepth != 8 && bitDepth != 16) throw new IllegalArgumentException("bit depth must be 8 or 16, got " + bitDepth);
        if (alpha != null && (alpha.channels() != 1 || alpha.height() != color.height() || alpha.width() != color.width()))
            throw new IllegalArgumentException("alpha " + alpha.shapeString() + " does not fit image " + color.shapeString());
        int c = color.channels(), bands = c + (alpha == null ? 0 : 1), w = color.width(), h = color.height(), n = w * h;
        int type = bitDepth == 8 ? DataBuffer.TYPE_BYTE : DataBuffer.TYPE_USHORT;
        ColorSpace cs = ColorSpace.getInstance(c == 1 ? ColorSpace.CS_GRAY : ColorSpace.CS_sRGB);
        int[] sizes = new int[bands];
        java.util.Arrays.fill(sizes, bitDepth);
        ColorModel cm = new ComponentColorModel(cs, sizes, alpha != null, false,
                alpha != null ? Transparency.TRANSLUCENT : Transparency.OPAQUE, type);
        WritableRaster r = cm.createCompatibleWritableRaster(w, h);
        int[] buf = new int[n];
        for (int band = 0; band < bands; band++) {
            float[] src = band < c ? color.data() : alpha.data();
            int off = band < c ? band * n : 0;
            for (int i = 0; i < n; i++) buf[i] = bitDepth == 8 ? Quantize.code8(src[off + i]) : Quantize.code16(src[off + i]);
            r.setSamples(0, 0, w, h, band, buf);
        }
        return new BufferedImage(cm, r, false, null);
    }
}
