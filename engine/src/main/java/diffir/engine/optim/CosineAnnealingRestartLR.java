package diffir.engine.optim;

import java.util.Arrays;

/** basicsr's {@code CosineAnnealingRestartLR}: {@link CosineAnnealingRestartCyclicLR} with one eta_min for every period. */
public final class CosineAnnealingRestartLR extends CosineAnnealingRestartCyclicLR {
    public CosineAnnealingRestartLR(long[] periods, double[] restartWeights, double etaMin) {
        super(periods, restartWeights, filled(periods.length, etaMin));
    }

    private static double[] filled(int n, double v) {
        double[] a = new double[n];
        Arrays.fill(a, v);
        return a;
    }
}
