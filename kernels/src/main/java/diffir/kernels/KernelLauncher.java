package diffir.kernels;

import diffir.engine.Tensor;

/**
 * What the kernel glue of each op needs from the CUDA runtime: launching a named {@code extern "C"}
 * kernel of the compiled module on the backend's stream (asynchronously), and stream-ordered scratch
 * memory. Keeps op glue (which kernels, what grid) apart from driver plumbing (contexts, modules,
 * allocation).
 */
public interface KernelLauncher {
    /**
     * Launches {@code kernel}. Arguments map to kernel parameters in order: a {@link Tensor} becomes
     * its device pointer (its offset applied), {@code null} a null pointer, Integer an int, Long a
     * long long, Float a float; also a {@link Ptr} a raw device address and an int[] a struct of ints
     * passed by value.
     */
    void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, Object... args);

    /** Device scratch of the given shape; valid for kernels queued before the op returns. */
    Tensor scratch(int... shape);

    /** Streaming multiprocessors on the device (for sizing split reductions). */
    int multiprocessors();

    /**
     * Blocks of {@code kernel} with {@code blockThreads} threads that one multiprocessor runs at once (its
     * occupancy), for grids sized to fill the device in exactly one wave. The default guesses from
     * the thread count.
     */
    default int residentBlocks(String kernel, int blockThreads) {
        return Math.max(1, 2048 / Math.max(1, blockThreads));
    }
}
