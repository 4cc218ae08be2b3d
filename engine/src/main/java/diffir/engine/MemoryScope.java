package diffir.engine;

import diffir.engine.backend.Storage;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * Deterministic memory release for the tensors made inside a block:
 * <pre>{@code
 * try (MemoryScope scope = MemoryScope.open()) {
 *     Tensor out = model.infer(lq, noise);
 *     return scope.keep(out);          // survives; everything else made inside is freed at close
 * }
 * }</pre>
 * Java frees a tensor's memory only when the garbage collector sees it unreachable, which for device
 * memory is far too late (the Java heap barely grows, so the collector rarely runs). A scope owns the
 * storage of every tensor created while it is the innermost open scope on this thread and releases it
 * on close; the CUDA backend hands the block straight back to its cache. Scopes nest; {@link #keep}
 * moves a tensor to the enclosing scope (or out of scope management). Long-lived state is never owned:
 * module parameters and buffers, gradients of leaves and optimiser and EMA state call {@link #untrack}.
 * A released tensor that is used again fails with a clear message rather than reading freed memory.
 */
public final class MemoryScope implements AutoCloseable {
    private static final ThreadLocal<MemoryScope> CURRENT = new ThreadLocal<>();

    private final MemoryScope parent;
    private final Set<Storage> owned = Collections.newSetFromMap(new IdentityHashMap<>());
    private boolean closed;

    private MemoryScope(MemoryScope parent) {
        this.parent = parent;
    }

    /** Opens a scope nested in the current one. */
    public static MemoryScope open() {
        MemoryScope s = new MemoryScope(CURRENT.get());
        CURRENT.set(s);
        return s;
    }

    /** Called by {@link Tensor#empty}: the innermost open scope, if any, owns new storage. */
    static void track(Storage storage) {
        MemoryScope s = CURRENT.get();
        if (s != null) s.owned.add(storage);
    }

    /** Takes a tensor's storage out of every open scope: it lives until unreachable (long-lived state). */
    public static Tensor untrack(Tensor t) {
        for (MemoryScope s = CURRENT.get(); s != null; s = s.parent) s.owned.remove(t.storage());
        return t;
    }

    /** Lets t (its whole storage) outlive this scope: it moves to the enclosing scope, if any. */
    public Tensor keep(Tensor t) {
        if (closed) throw new IllegalStateException("keep() on a closed MemoryScope");
        if (owned.remove(t.storage()) && parent != null) parent.owned.add(t.storage());
        return t;
    }

    /**
     * Releases t's storage at once when the innermost open scope owns it (t was made there and not kept);
     * otherwise does nothing. For code that made a temporary it no longer needs, such as inference that
     * drops each layer's input once the next layer has read it, so that memory is reused before the scope
     * ends. Views of the same storage are released with it. Returns whether it released anything.
     */
    public static boolean free(Tensor t) {
        MemoryScope s = CURRENT.get();
        if (t == null || s == null || !s.owned.remove(t.storage())) return false;
        t.storage().release();
        return true;
    }

    /** Number of storages this scope would release now. */
    public int size() {
        return owned.size();
    }

    @Override
    public void close() {
        if (closed) return;
        if (CURRENT.get() != this)
            throw new IllegalStateException("MemoryScopes must close in the reverse order of opening");
        closed = true;
        CURRENT.set(parent);
        for (Storage s : owned) s.release();
        owned.clear();
    }
}
