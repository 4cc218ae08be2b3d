package diffir.data;

import diffir.image.ImageFiles;
import diffir.image.LoadedImage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;

/**
 * The free sample pictures bundled with the module (resources /samples, at most 256 pixels a side;
 * licences in samples/SOURCES.md), for demos and quick runs without a dataset.
 */
public final class Samples {
    private Samples() {}

    /** Colour photographs. */
    public static final List<String> PHOTOS = List.of("astronaut", "chelsea", "coffee", "rocket");
    /** Gray pictures and textures. */
    public static final List<String> GRAY = List.of("camera", "brick", "grass", "gravel");

    public static List<String> names() {
        return java.util.stream.Stream.concat(PHOTOS.stream(), GRAY.stream()).toList();
    }

    /** A sample by name (without ".png"). */
    public static LoadedImage load(String name) throws IOException {
        String resource = "/samples/" + name + ".png";
        try (InputStream in = Samples.class.getResourceAsStream(resource)) {
            if (in == null) throw new NoSuchFileException(resource, null, "no such sample; samples are " + names());
            return ImageFiles.decode(in.readAllBytes(), Path.of("samples", name + ".png"));
        }
    }
}
