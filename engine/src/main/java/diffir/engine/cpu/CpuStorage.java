package diffir.engine.cpu;

import diffir.engine.backend.Backend;
import diffir.engine.backend.Storage;

/**
 * CPU storage is a plain {@code float[]}: the JIT eliminates bounds checks in simple loops, the
 * Vector API loads from arrays at full speed, and the garbage collector frees buffers as soon as the
 * autograd graph drops them. The cost is a 2^31-element limit per tensor, far above what DiffIR needs.
 */
public final class CpuStorage implements Storage {
    private float[] data;
    private final long size;

    public CpuStorage(float[] data) {
        this.data = data;
        this.size = data.length;
    }

    /** The array; fails clearly once released. */
    public float[] data() {
        float[] d = data;
        if (d == null) throw Storage.usedAfterRelease();
        return d;
    }

    /** Drops the array so the collector can take it at once, even while views of it are still reachable. */
    @Override
    public void release() {
        data = null;
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
