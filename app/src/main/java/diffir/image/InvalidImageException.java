package diffir.image;

import java.io.IOException;
import java.nio.file.Path;

/** A file that cannot be read as an image: the message names the file and says what is wrong. */
public final class InvalidImageException extends IOException {
    private final transient Path file;

    public InvalidImageException(Path file, String problem) {
        super(file + ": " + problem);
        this.file = file;
    }

    public InvalidImageException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
        this.file = file;
    }

    public Path file() {
        return file;
    }
}
