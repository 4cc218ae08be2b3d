package diffir.cli;

import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/** Turns any failure into the one line after "error: " that a user reads. */
final class Errors {
    private Errors() {}

    static String describe(Throwable e) {
        if (e instanceof UncheckedIOException u && u.getCause() != null) e = u.getCause();
        String msg = e.getMessage();
        String text = switch (e) {
            case NoSuchFileException n when n.getReason() == null -> n.getFile() + ": no such file or folder";
            case AccessDeniedException a -> a.getFile() + ": permission denied";
            case FileAlreadyExistsException f -> f.getFile() + ": already exists";
            case NotDirectoryException d -> d.getFile() + ": not a folder";
            case OutOfMemoryError o -> "out of memory: restore with a smaller --tile, or give Java more memory"
                    + " (DIFFIR_JAVA_OPTS=-Xmx16g)";
            default -> msg == null || msg.isBlank() ? e.getClass().getSimpleName() : msg;
        };
        return oneLine(text);
    }

    /** Newlines and runs of spaces folded, so the message stays on one line. */
    static String oneLine(String s) {
        return s.strip().replaceAll("\\s*[\\r\\n]+\\s*", "; ").replaceAll("[ \\t]{2,}", " ");
    }
}
