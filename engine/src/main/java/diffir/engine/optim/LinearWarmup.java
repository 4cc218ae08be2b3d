package diffir.engine.optim;

/**
 * basicsr's linear warm-up ({@code warmup_iter}): for 1-based iterations i below warmupIters the rate
 * is {@code base * i / warmupIters}, in place of the wrapped schedule; from then on it is the wrapped
 * schedule's. warmupIters <= 0 (basicsr's -1) disables it. (With basicsr's chained MultiStepRestartLR
 * the rate after warm-up would stay at the last warm-up value until a milestone; here it is the
 * schedule's closed form, which is what the cosine schedules give there too.)
 */
public final class LinearWarmup implements LrSchedule {
    private final LrSchedule schedule;
    private final long warmupIters;

    public LinearWarmup(LrSchedule schedule, long warmupIters) {
        if (schedule == null) throw new IllegalArgumentException("LinearWarmup needs a schedule to wrap");
        this.schedule = schedule;
        this.warmupIters = warmupIters;
    }

    @Override
    public double lrAtEpoch(double baseLr, long epoch) {
        LrSchedule.checkEpoch(epoch);
        long iteration = epoch + 1;
        if (iteration < warmupIters) return baseLr / warmupIters * iteration;
        return schedule.lrAtEpoch(baseLr, epoch);
    }
}
