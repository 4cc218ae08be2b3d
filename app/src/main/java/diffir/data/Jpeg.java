package diffir.data;

import diffir.image.Image;
import diffir.image.Rasters;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.MemoryCacheImageInputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/** JPEG compression artefacts: encode in memory with ImageIO at a quality, decode back. */
public final class Jpeg {
    private Jpeg() {}

    /**
     * The image after a JPEG round trip at quality 1..100 (ImageIO's quality q/100 scales the standard
     * IJG tables as libjpeg's quality q does). Gray stays gray; RGB is coded as YCbCr 4:2:0.
     */
    public static Image compress(Image img, int quality) {
        if (quality < 1 || quality > 100) throw new IllegalArgumentException("JPEG quality must be in 1..100, got " + quality);
        if (img.channels() != 1 && img.channels() != 3)
            throw new IllegalArgumentException("JPEG needs 1 or 3 channels, got " + img.channels());
        BufferedImage bi = Rasters.encode(img, null, 8);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        try {
            try (MemoryCacheImageOutputStream out = new MemoryCacheImageOutputStream(bytes)) {
                writer.setOutput(out);
                ImageWriteParam p = writer.getDefaultWriteParam();
                p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
                p.setCompressionQuality(quality / 100f);
                writer.write(null, new IIOImage(bi, null, null), p);
            }
            ImageReader reader = ImageIO.getImageReadersByFormatName("jpeg").next();
            try (MemoryCacheImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
                reader.setInput(in, true, true);
                return Rasters.decode(reader.read(0), "jpeg").image();
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("in-memory JPEG round trip failed", e);
        } finally {
            writer.dispose();
        }
    }
}
