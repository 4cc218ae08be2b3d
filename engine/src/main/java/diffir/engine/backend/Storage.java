package diffir.engine.backend;

/**
 * A flat float32 buffer owned by one backend. Tensors view a contiguous range of it.
 * The engine never reads a storage's values directly: it asks the backend to copy them.
 */
public interface Storage {
    Backend backend();

    /** Capacity in float elements. */
    long size();

    /**
     * Frees the memory now (see {@link diffir.engine.MemoryScope}); any later use of a tensor on this
     * storage fails. Idempotent. Without a call, the memory is freed once the storage is unreachable.
     */
    void release();

    /** True once {@link #release} has run. */
    boolean released();

    /** The message every backend uses when a released storage is touched. */
    static IllegalStateException usedAfterRelease() {
        return new IllegalStateException("a tensor was used after its memory was released (it was made inside a MemoryScope "
                + "that has closed, or it was a gradient cleared by zeroGrad): keep() it or copy it out before the scope closes");
    }
}
