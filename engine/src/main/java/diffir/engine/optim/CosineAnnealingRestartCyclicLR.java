package diffir.engine.optim;

import java.util.Arrays;

/**
 * basicsr's cosine annealing with restarts, each period with its own minimum (Restormer's and
 * DiffIR's {@code CosineAnnealingRestartCyclicLR}). Period i spans epochs (c[i-1], c[i]] of the
 * cumulative periods c (the first also holds epoch 0) and gives
 * {@code eta_min[i] + w[i] * (base - eta_min[i]) * (1 + cos(pi * (epoch - c[i-1]) / periods[i])) / 2}.
 * Epochs past the last period are an error, as in basicsr (which fails there).
 */
public class CosineAnnealingRestartCyclicLR implements LrSchedule {
    private final long[] periods;
    private final double[] restartWeights;
    private final double[] etaMins;
    private final long[] cumulative;

    public CosineAnnealingRestartCyclicLR(long[] periods, double[] restartWeights, double[] etaMins) {
        if (periods.length == 0 || periods.length != restartWeights.length || periods.length != etaMins.length)
            throw new IllegalArgumentException("periods " + Arrays.toString(periods) + ", restart weights " + Arrays.toString(restartWeights)
                    + " and eta_mins " + Arrays.toString(etaMins) + " must be non-empty and of one length");
        for (long p : periods) if (p <= 0) throw new IllegalArgumentException("periods must be positive, got " + Arrays.toString(periods));
        this.periods = periods.clone();
        this.restartWeights = restartWeights.clone();
        this.etaMins = etaMins.clone();
        this.cumulative = new long[periods.length];
        long sum = 0;
        for (int i = 0; i < periods.length; i++) cumulative[i] = sum += periods[i];
    }

    @Override
    public double lrAtEpoch(double baseLr, long epoch) {
        LrSchedule.checkEpoch(epoch);
        int idx = 0;
        while (idx < cumulative.length && epoch > cumulative[idx]) idx++;
        if (idx == cumulative.length)
            throw new IllegalArgumentException("epoch " + epoch + " is past the schedule's last period (periods "
                    + Arrays.toString(periods) + " end at " + cumulative[cumulative.length - 1] + ")");
        long restart = idx == 0 ? 0 : cumulative[idx - 1];
        double etaMin = etaMins[idx];
        return etaMin + restartWeights[idx] * 0.5 * (baseLr - etaMin)
                * (1 + Math.cos(Math.PI * ((double) (epoch - restart) / periods[idx])));
    }

    /** The last epoch this schedule defines (the sum of the periods). */
    public long lastEpoch() {
        return cumulative[cumulative.length - 1];
    }
}
