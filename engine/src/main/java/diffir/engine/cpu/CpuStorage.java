package diffir.engine.cpu;

import diffir.engine.backend.Backend;
import diffir.engine.backend.Storage;

/**
 * CPU storage is a plain {@code float[]}: the JIT eliminates bounds checks in simple loops, the
 * Vector API loads from arrays at full speed, and the garbage collector frees buffers as soon as the
 * autograd graph drops them. The cost is a 2^31-element limit per tensor, far above what DiffIR needs.
 */
public final class CpuStorage implements Storage {
    final float[] data;

    public CpuStorage(float[] data) {
        this.data = data;
    }

    public float[] data() {
        return data;
    }

    @Override
    public Backend backend() {
        return CpuBackend.INSTANCE;
    }

    @Override
    public long size() {
        return data.length;
    }
}
