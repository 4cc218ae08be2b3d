package diffir.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/** The image files of a folder. */
public final class ImageFolders {
    private ImageFolders() {}

    private static final Set<String> EXTENSIONS = Set.of("png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff");

    /** Image files (by extension) directly in dir, sorted by name; an error if there are none. */
    public static List<Path> list(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new NoSuchFileException(dir.toString(), null, "not a folder of images");
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile).filter(ImageFolders::isImageName).sorted().toList();
        }
        if (files.isEmpty()) throw new IOException(dir + ": no image files (" + String.join(", ", EXTENSIONS.stream().sorted().toList()) + ")");
        return files;
    }

    public static boolean isImageName(Path p) {
        String n = p.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 && EXTENSIONS.contains(n.substring(dot + 1).toLowerCase(Locale.ROOT));
    }
}
