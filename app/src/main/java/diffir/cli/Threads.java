package diffir.cli;

/**
 * --threads sets the CPU worker count. The engine's pool is sized once, when it is first used, from
 * the system property diffir.threads, so main() reads the flag before any command runs. Commands run
 * in an already-started JVM (tests) keep the pool they have.
 */
final class Threads {
    private Threads() {}

    static void configureFrom(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String v = null;
            if (args[i].equals("--threads") && i + 1 < args.length) v = args[i + 1];
            else if (args[i].startsWith("--threads=")) v = args[i].substring("--threads=".length());
            if (v != null && v.matches("[1-9][0-9]{0,3}")) System.setProperty("diffir.threads", v);
        }
    }

    /** Validates a --threads value (the pool itself was configured by main). */
    static void check(Integer threads) {
        if (threads != null && (threads < 1 || threads > 4096))
            throw new UserException("--threads must be between 1 and 4096, got " + threads);
    }
}
