package diffir.engine.nn;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;

/** PyTorch's {@code nn.ModuleList}: modules registered as children "0", "1", ... in order of addition. */
public final class ModuleList<M extends Module> extends Module implements Iterable<M> {
    private final List<M> items = new ArrayList<>();

    public ModuleList() {}

    @SafeVarargs
    public ModuleList(M... modules) {
        for (M m : modules) add(m);
    }

    public ModuleList(List<? extends M> modules) {
        for (M m : modules) add(m);
    }

    /** Appends m as child "size()" and returns it. */
    public M add(M m) {
        if (m == null) throw new IllegalArgumentException("ModuleList entry " + items.size() + " is null");
        child(Integer.toString(items.size()), m);
        items.add(m);
        return m;
    }

    public M get(int i) {
        if (i < 0 || i >= items.size()) throw new IndexOutOfBoundsException("ModuleList index " + i + " of " + items.size());
        return items.get(i);
    }

    public int size() {
        return items.size();
    }

    public List<M> asList() {
        return Collections.unmodifiableList(items);
    }

    @Override
    public Iterator<M> iterator() {
        return asList().iterator();
    }
}
