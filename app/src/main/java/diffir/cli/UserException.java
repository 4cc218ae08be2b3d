package diffir.cli;

/** A mistake in what the user asked for (a flag, a file): its message is printed as "error: ..." alone. */
public final class UserException extends RuntimeException {
    public UserException(String message) {
        super(message);
    }
}
