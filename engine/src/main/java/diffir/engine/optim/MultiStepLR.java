package diffir.engine.optim;

import java.util.Arrays;

/**
 * PyTorch's {@code MultiStepLR} (and basicsr's {@code MultiStepRestartLR} without restarts, which
 * DiffIR's "MultiStepLR" option builds): the rate is multiplied by gamma at every milestone, a
 * milestone listed twice counting twice.
 */
public final class MultiStepLR implements LrSchedule {
    private final long[] milestones;
    private final double gamma;

    public MultiStepLR(long[] milestones, double gamma) {
        for (long m : milestones) if (m < 0) throw new IllegalArgumentException("milestones must be >= 0, got " + Arrays.toString(milestones));
        if (!(gamma >= 0) || Double.isInfinite(gamma)) throw new IllegalArgumentException("invalid gamma: " + gamma);
        this.milestones = milestones.clone();
        Arrays.sort(this.milestones);
        this.gamma = gamma;
    }

    @Override
    public double lrAtEpoch(double baseLr, long epoch) {
        LrSchedule.checkEpoch(epoch);
        int passed = 0;
        for (long m : milestones) if (m <= epoch) passed++;
        return baseLr * Math.pow(gamma, passed);
    }
}
