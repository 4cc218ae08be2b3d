package diffir.engine.backend;

/**
 * A flat float32 buffer owned by one backend. Tensors view a contiguous range of it.
 * The engine never reads a storage's values directly: it asks the backend to copy them.
 */
public interface Storage {
    Backend backend();

    /** Capacity in float elements. */
    long size();
}
