package diffir.kernels.fused;

/**
 * The tests' handle on {@link FusedPaths}: runs code with the pipelined kernels switched on or off
 * whatever {@code -Ddiffir.cuda.pipelined} says, then restores the previous setting.
 */
public final class PipelinedSwitch {
    private PipelinedSwitch() {}

    public static void with(boolean pipelined, Runnable body) {
        Boolean previous = FusedPaths.override(pipelined);
        try {
            body.run();
        } finally {
            FusedPaths.override(previous);
        }
    }
}
