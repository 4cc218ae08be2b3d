package diffir.engine.nn;

import diffir.engine.MemoryScope;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;

import java.util.ArrayList;
import java.util.List;

/**
 * PyTorch's {@code nn.Sequential}: layers registered as children "0", "1", ... and applied in order.
 * Every entry is a {@link Module} (stateless ones such as {@link LeakyReLU} included), so indices and
 * therefore state-dict keys match the reference.
 */
public final class Sequential extends Module implements Layer {
    private final List<Layer> layers = new ArrayList<>();

    public Sequential(Layer... layers) {
        for (Layer l : layers) add(l);
    }

    /** Appends a layer as child "size()"; it must be a Module so that it owns its index. */
    public Sequential add(Layer layer) {
        int i = layers.size();
        if (!(layer instanceof Module m))
            throw new IllegalArgumentException("Sequential entry " + i + " (" + (layer == null ? "null" : layer.getClass().getName())
                    + ") must be a Module so that it takes an index in the state dict");
        child(Integer.toString(i), m);
        layers.add(layer);
        return this;
    }

    @Override
    public Tensor forward(Tensor x) {
        // Without a graph nothing else refers to a layer's output once the next layer has read it: free
        // it then (when the current MemoryScope owns it), so inference reuses the memory at once.
        boolean inference = !Autograd.enabled();
        Tensor in = x;
        for (Layer l : layers) {
            Tensor next = l.forward(x);
            if (inference && x != in && x.storage() != in.storage() && x.storage() != next.storage()) MemoryScope.free(x);
            x = next;
        }
        return x;
    }

    public Layer get(int i) {
        if (i < 0 || i >= layers.size()) throw new IndexOutOfBoundsException("Sequential index " + i + " of " + layers.size());
        return layers.get(i);
    }

    public int size() {
        return layers.size();
    }
}
