package diffir.train;

/** Training hit a NaN or infinite loss or gradient; the message names the iteration, the value and the last good checkpoint. */
public final class TrainingStopped extends RuntimeException {
    private final long step;

    public TrainingStopped(long step, String message) {
        super(message);
        this.step = step;
    }

    /** The iteration that went wrong. */
    public long step() {
        return step;
    }
}
