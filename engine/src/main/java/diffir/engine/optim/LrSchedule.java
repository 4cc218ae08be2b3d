package diffir.engine.optim;

/**
 * A learning-rate schedule in closed form, as a function of a PyTorch scheduler's {@code last_epoch}
 * (the number of {@code scheduler.step()} calls so far).
 *
 * <p>basicsr's training loop steps its schedulers at the start of every iteration but the first, so
 * the rate used at 1-based iteration i is {@code lrAtEpoch(base, i - 1)}: {@link #lrAtIteration}.
 */
public interface LrSchedule {
    /** The learning rate after {@code epoch} scheduler steps, for initial rate baseLr. */
    double lrAtEpoch(double baseLr, long epoch);

    /** The learning rate basicsr uses at 1-based training iteration {@code iteration}. */
    default double lrAtIteration(double baseLr, long iteration) {
        if (iteration < 1) throw new IllegalArgumentException("iterations count from 1, got " + iteration);
        return lrAtEpoch(baseLr, iteration - 1);
    }

    /** Sets the optimizer's rate for 1-based iteration {@code iteration}. */
    default void apply(Optimizer optimizer, double baseLr, long iteration) {
        optimizer.setLr(lrAtIteration(baseLr, iteration));
    }

    static void checkEpoch(long epoch) {
        if (epoch < 0) throw new IllegalArgumentException("scheduler epoch must be >= 0, got " + epoch);
    }
}
