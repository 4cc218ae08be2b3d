package diffir.engine.io;

import java.io.IOException;
import java.nio.file.Path;

/** A file that is not a valid checkpoint or array file; the message names the file and the problem. */
public class CheckpointFormatException extends IOException {
    public CheckpointFormatException(Path file, String problem) {
        super(file + ": " + problem);
    }

    public CheckpointFormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
