package diffir.kernels;

import diffir.engine.backend.Backend;
import diffir.engine.backend.Storage;

import java.lang.ref.Cleaner;

/**
 * Device memory behind CUDA tensors: a block of the backend's caching allocator. When the storage
 * becomes unreachable a {@link Cleaner} gives the block back to the cache (never to the driver
 * directly, so the Cleaner thread makes no CUDA calls).
 */
public final class CudaStorage implements Storage {
    private final CudaBackend backend;
    private final long address;
    private final long numel;

    CudaStorage(CudaBackend backend, long address, long numel, long blockBytes, DeviceAllocator allocator, Cleaner cleaner) {
        this.backend = backend;
        this.address = address;
        this.numel = numel;
        cleaner.register(this, new Release(allocator, address, blockBytes));
    }

    /** Returns the block; must not reference the storage, or it would never become unreachable. */
    private record Release(DeviceAllocator allocator, long address, long bytes) implements Runnable {
        @Override
        public void run() {
            allocator.release(address, bytes);
        }
    }

    /** Device address of element 0. */
    public long address() {
        return address;
    }

    @Override
    public Backend backend() {
        return backend;
    }

    @Override
    public long size() {
        return numel;
    }
}
