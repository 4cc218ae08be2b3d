package diffir.engine.cpu;

import diffir.engine.backend.Backend;
import diffir.engine.backend.Storage;

/**
 * CPU storage is a plain {@code float[]}: the JIT eliminates bounds checks in simple loops, the
 * Vector API loads from arrays at full speed, and the garbage collector frees buffers as soon as the
 * autograd graph drops them. The cost is a 2^31-element limit per tensor, far above what DiffIR needs.
 * Storage the backend allocated goes back to its {@link ArrayPool} when released; arrays handed in
 * from outside (file readers) never do, as their owner may still hold them.
 */
public final class CpuStorage implements Storage {
    private float[] data;
    private final long size;
    private final boolean pooled;

    public CpuStorage(float[] data) {
        this(data, data.length, false);
    }

    /** size floats at the start of data (a pooled array may be longer). */
    CpuStorage(float[] data, long size, boolean pooled) {
        if (size > data.length) throw new IllegalArgumentException("storage of " + size + " floats in an array of " + data.length);
        this.data = data;
        this.size = size;
        this.pooled = pooled;
    }

    /** The array; fails clearly once released. */
    public float[] data() {
        float[] d = data;
        if (d == null) throw Storage.usedAfterRelease();
        return d;
    }

    /**
     * Drops the array, even while views of it are still reachable: back to the pool when the backend
     * allocated it, else to the collector.
     */
    @Override
    public void release() {
        float[] d = data;
        data = null;
        if (pooled && d != null) ArrayPool.give(d);
    }

    @Override
    public boolean released() {
        return data == null;
    }

    @Override
    public Backend backend() {
        return CpuBackend.INSTANCE;
    }

    @Override
    public long size() {
        return size;
    }
}
