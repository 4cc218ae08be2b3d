package diffir.engine.testing;

/**
 * Seeds for the randomized comparison tests. Fixed by default, so that CI gives the same verdict on
 * every run of the same commit; {@code -Ddiffir.test.seed=random} draws a fresh base seed (to hunt for
 * inputs that break a kernel) and {@code -Ddiffir.test.seed=N} replays one printed in a failure.
 */
public final class TestSeeds {
    private TestSeeds() {}

    static final long DEFAULT = 0x5EED_D1FF_1A7EL;

    /** The base seed of this test run. */
    public static long base() {
        String s = System.getProperty("diffir.test.seed", "");
        if (s.isBlank()) return DEFAULT;
        if (s.equals("random")) return System.nanoTime();
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("-Ddiffir.test.seed must be a number or 'random', not '" + s + "'");
        }
    }
}
