package diffir.image;

import diffir.engine.io.AtomicFiles;

import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import javax.imageio.stream.MemoryCacheImageOutputStream;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import java.util.zip.CRC32;

/**
 * Reading image files (PNG, JPEG, BMP, GIF first frame, and whatever else ImageIO decodes) and
 * writing PNG, 8 or 16 bits, atomically.
 *
 * <p>ImageIO can hand back a partly decoded picture without complaint (a JPEG cut short, a PNG
 * without its end, a BMP missing rows), so files are checked for completeness first (PNG chunk
 * structure and CRCs, GIF trailer, BMP pixel-array size) and decoder warnings are errors. Every
 * failure is an {@link InvalidImageException} naming the file.
 */
public final class ImageFiles {
    private ImageFiles() {}

    private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};

    /** Decodes a file: colour, separate alpha, bit depth. */
    public static LoadedImage read(Path file) throws IOException {
        if (Files.isDirectory(file)) throw new InvalidImageException(file, "is a directory, not an image file");
        if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString(), null, "no such image file");
        return decode(Files.readAllBytes(file), file);
    }

    /** Decodes the bytes of an image file; file names it in messages (it need not exist). */
    public static LoadedImage decode(byte[] bytes, Path file) throws IOException {
        if (bytes.length == 0) throw new InvalidImageException(file, "empty file, not an image");
        String format = sniff(bytes);
        checkComplete(file, format, bytes);
        // In-memory streams: ImageIO's default stream factories would spill to temporary files.
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) throw new InvalidImageException(file, "not an image (unrecognised file format)");
            ImageReader reader = readers.next();
            if (format == null) format = reader.getFormatName().toLowerCase(Locale.ROOT);
            String fmt = format.toUpperCase(Locale.ROOT);
            StringBuilder warning = new StringBuilder();
            reader.addIIOReadWarningListener((src, msg) -> {
                if (warning.isEmpty()) warning.append(msg);
            });
            BufferedImage bi;
            try {
                reader.setInput(in, true, true);
                bi = reader.read(0);
            } catch (EOFException e) {
                throw new InvalidImageException(file, "truncated " + fmt + " (file ends early)", e);
            } catch (IIOException | IndexOutOfBoundsException | IllegalArgumentException | IllegalStateException e) {
                throw new InvalidImageException(file, "corrupt or unsupported " + fmt + " (" + e.getMessage() + ")", e);
            } finally {
                reader.dispose();
            }
            if (!warning.isEmpty()) throw new InvalidImageException(file, "truncated or corrupt " + fmt + " (" + warning + ")");
            try {
                return Rasters.decode(bi, format);
            } catch (IllegalArgumentException e) {
                throw new InvalidImageException(file, e.getMessage(), e);
            }
        }
    }

    /** {height, width} from the file's header, without decoding the pixels. */
    public static int[] dimensions(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString(), null, "no such image file");
        try (ImageInputStream in = new MemoryCacheImageInputStream(Files.newInputStream(file))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) throw new InvalidImageException(file, "not an image (unrecognised file format)");
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                return new int[]{reader.getHeight(0), reader.getWidth(0)};
            } catch (IIOException | EOFException | IndexOutOfBoundsException e) {
                throw new InvalidImageException(file, "corrupt image header (" + e.getMessage() + ")", e);
            } finally {
                reader.dispose();
            }
        }
    }

    /** The colour as RGB (gray repeated, alpha dropped). */
    public static Image readRgb(Path file) throws IOException {
        return read(file).rgb();
    }

    /** Writes an 8-bit PNG of a 1- or 3-channel image. */
    public static void writePng(Path file, Image image) throws IOException {
        writePng(file, image, null, 8);
    }

    /** Writes a PNG, 8 or 16 bits per sample, with alpha when given (null for none), atomically. */
    public static void writePng(Path file, Image image, Image alpha, int bitDepth) throws IOException {
        BufferedImage bi = Rasters.encode(image, alpha, bitDepth);
        AtomicFiles.write(file, os -> {
            ImageWriter writer = ImageIO.getImageWritersByFormatName("png").next();
            try (ImageOutputStream ios = new MemoryCacheImageOutputStream(os)) {
                writer.setOutput(ios);
                writer.write(bi);
            } finally {
                writer.dispose();
            }
        });
    }

    /** "png", "jpeg", "gif", "bmp" from the leading bytes, or null. */
    static String sniff(byte[] b) {
        if (startsWith(b, PNG_MAGIC)) return "png";
        if (b.length >= 3 && (b[0] & 255) == 0xFF && (b[1] & 255) == 0xD8 && (b[2] & 255) == 0xFF) return "jpeg";
        if (startsWith(b, "GIF87a".getBytes()) || startsWith(b, "GIF89a".getBytes())) return "gif";
        if (b.length >= 2 && b[0] == 'B' && b[1] == 'M') return "bmp";
        return null;
    }

    private static boolean startsWith(byte[] b, byte[] prefix) {
        if (b.length < prefix.length) return false;
        for (int i = 0; i < prefix.length; i++) if (b[i] != prefix[i]) return false;
        return true;
    }

    private static void checkComplete(Path file, String format, byte[] b) throws InvalidImageException {
        if (format == null) return;
        switch (format) {
            case "png" -> checkPng(file, b);
            case "gif" -> {
                if (b[b.length - 1] != 0x3B) throw new InvalidImageException(file, "truncated GIF (no trailer byte)");
            }
            case "bmp" -> checkBmp(file, b);
            default -> { } // JPEG: the decoder warns about a missing end or premature data end
        }
    }

    /** Walks the chunks: each must be whole with a matching CRC, and IEND must come. */
    private static void checkPng(Path file, byte[] b) throws InvalidImageException {
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.BIG_ENDIAN);
        int at = PNG_MAGIC.length;
        CRC32 crc = new CRC32();
        while (true) {
            if (at + 8 > b.length) throw new InvalidImageException(file, "truncated PNG (ends before the IEND chunk)");
            long len = buf.getInt(at) & 0xFFFFFFFFL;
            String type = new String(b, at + 4, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
            if (at + 12 + len > b.length) throw new InvalidImageException(file, "truncated PNG (ends inside chunk " + type + ")");
            crc.reset();
            crc.update(b, at + 4, (int) (4 + len));
            if ((int) crc.getValue() != buf.getInt((int) (at + 8 + len)))
                throw new InvalidImageException(file, "corrupt PNG (CRC mismatch in chunk " + type + ")");
            if (type.equals("IEND")) return;
            at += (int) (12 + len);
        }
    }

    /** Uncompressed bitmaps must hold every row their header promises. */
    private static void checkBmp(Path file, byte[] b) throws InvalidImageException {
        if (b.length < 30) throw new InvalidImageException(file, "truncated BMP (header incomplete)");
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        long pixelsAt = buf.getInt(10) & 0xFFFFFFFFL;
        int headerSize = buf.getInt(14);
        if (headerSize < 40) return; // old OS/2 headers: leave to the decoder
        if (b.length < 14 + 40) throw new InvalidImageException(file, "truncated BMP (header incomplete)");
        long width = buf.getInt(18), height = Math.abs((long) buf.getInt(22));
        int bits = buf.getShort(28) & 0xFFFF, compression = buf.getInt(30);
        if (compression != 0 && compression != 3 && compression != 6) return; // RLE and embedded JPEG/PNG: decoder checks
        long rowBytes = (bits * width + 31) / 32 * 4;
        long need = pixelsAt + rowBytes * height;
        if (b.length < need)
            throw new InvalidImageException(file, "truncated BMP (" + b.length + " bytes, the header needs " + need + ")");
    }
}
