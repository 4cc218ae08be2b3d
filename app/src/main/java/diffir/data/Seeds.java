package diffir.data;

import java.util.SplittableRandom;

/**
 * Deterministic random streams keyed by integers (seed, step, sample...), so any sample of any step
 * can be recomputed on its own: that is what makes a resumed run continue exactly.
 */
public final class Seeds {
    private Seeds() {}

    /** A generator for the given keys; equal keys give equal streams. */
    public static SplittableRandom rng(long seed, long... keys) {
        long h = mix(seed ^ 0x5DEECE66DL);
        for (long k : keys) h = mix(h ^ mix(k + 0x9E3779B97F4A7C15L));
        return new SplittableRandom(h);
    }

    /** SplitMix64's finaliser: a bijective scramble of 64 bits. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** A standard normal sample (Box-Muller; our own so streams do not depend on the JDK's algorithm). */
    public static double normal(SplittableRandom rng) {
        double u1 = rng.nextDouble(), u2 = rng.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
    }

    /** Uniform in [lo, hi). */
    public static double uniform(SplittableRandom rng, double lo, double hi) {
        return lo + (hi - lo) * rng.nextDouble();
    }
}
