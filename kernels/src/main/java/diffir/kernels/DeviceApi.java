package diffir.kernels;

/**
 * The device primitives the CUDA backend is built on: memory, transfers, kernel launches on one
 * stream. {@link CudaDriver} implements them with the CUDA driver API; tests also run the backend and
 * the very same kernels on a CPU emulation of this interface. Everything is stream-ordered: calls
 * return before the device work is done, except {@link #download} and {@link #synchronize}.
 */
public interface DeviceApi {
    /** One line: device name, memory, driver. */
    String describe();

    /** Streaming multiprocessors (sizes grids of split reductions and grid-stride loops). */
    int multiprocessors();

    /** Device memory of at least {@code bytes}, 256-byte aligned; 0 when the device is out of memory. */
    long tryAllocate(long bytes);

    /** Returns memory from {@link #tryAllocate}; waits for queued work first where the device needs it. */
    void free(long address);

    /** Bytes free and total on the device, for out-of-memory messages. */
    long[] memoryInfo();

    /** Copies {@code count} floats of src (from offset) to device address dst. src may be reused on return. */
    void upload(float[] src, int offset, long dst, int count);

    /** Waits for queued work, then copies {@code count} floats at device address src into dst (from offset). */
    void download(long src, float[] dst, int offset, int count);

    /** Device-to-device copy of {@code bytes}. */
    void copy(long dst, long src, long bytes);

    /** Sets {@code count} 32-bit words at dst to {@code bits}. */
    void fill32(long dst, int bits, long count);

    /** True when a kernel of this name was loaded. */
    boolean hasKernel(String name);

    /**
     * Queues kernel {@code name}. Arguments map to its parameters in order: {@link Ptr} a pointer,
     * Integer an int, Long a long long, Float a float, int[] a struct of ints passed by value.
     */
    void launch(String name, Dim3 grid, Dim3 block, int sharedBytes, Object... args);

    /** Waits until all queued work is done; reports asynchronous kernel faults. */
    void synchronize();

    /**
     * How many blocks of {@code kernel} with {@code blockThreads} threads and {@code sharedBytes} of dynamic
     * shared memory fit on one multiprocessor at once (grid-stride kernels size their grid to exactly
     * the resident capacity, so no block waits for a second wave). The default guesses from the
     * thread count alone.
     */
    default int residentBlocks(String kernel, int blockThreads, int sharedBytes) {
        return Math.max(1, 2048 / Math.max(1, blockThreads));
    }

    /** Host waits inside the device layer other than downloads and synchronize (e.g. for a staging buffer). */
    default long hostWaits() {
        return 0;
    }

    /** cuBLAS on this device's stream, or null when the library is absent. */
    Blas blas();

    /** cuDNN on this device's stream, or null when the library is absent. */
    Dnn dnn();
}
