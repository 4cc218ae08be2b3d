package diffir.engine.nn;

import diffir.engine.MemoryScope;
import diffir.engine.Shapes;
import diffir.engine.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Base of all layers. Parameters, buffers and children are registered under names, so the dotted
 * state-dict keys ("encoder_level1.0.attn.qkv.weight") match PyTorch's one to one.
 *
 * <p>Modules are built on their device (see {@link Init}); loading a state dict copies values into
 * the existing tensors, so references held by layers stay valid.
 */
public abstract class Module {
    private final Map<String, Tensor> params = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** Registers a trainable parameter (marked requiresGrad) and returns it. */
    protected Tensor param(String name, Tensor value) {
        checkName(name);
        value.requiresGrad(true);
        params.put(name, MemoryScope.untrack(value));
        return value;
    }

    /** Registers a state tensor that is saved and loaded but not trained. */
    protected Tensor buffer(String name, Tensor value) {
        checkName(name);
        buffers.put(name, MemoryScope.untrack(value));
        return value;
    }

    /** Registers a sub-module and returns it. */
    protected <M extends Module> M child(String name, M module) {
        checkName(name);
        children.put(name, module);
        return module;
    }

    private void checkName(String name) {
        if (name.isEmpty() || name.contains(".")) throw new IllegalArgumentException("bad module entry name '" + name + "'");
        if (params.containsKey(name) || buffers.containsKey(name) || children.containsKey(name))
            throw new IllegalArgumentException("'" + name + "' registered twice in " + getClass().getSimpleName());
    }

    public Map<String, Module> children() {
        return java.util.Collections.unmodifiableMap(children);
    }

    /**
     * Every distinct parameter with its first dotted name, in registration order. A module shared
     * under two names (as DiffIR's diffusion shares CPEN and denoise) lists its parameters once, as
     * PyTorch's named_parameters does; {@link #stateDict()} lists every name.
     */
    public Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Map<Tensor, Boolean> seen = new java.util.IdentityHashMap<>();
        visit("", (prefix, m) -> m.params.forEach((k, v) -> {
            if (seen.put(v, Boolean.TRUE) == null) out.put(prefix + k, v);
        }));
        return out;
    }

    /** Every distinct buffer with its first dotted name, in registration order (shared ones once). */
    public Map<String, Tensor> namedBuffers() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Map<Tensor, Boolean> seen = new java.util.IdentityHashMap<>();
        visit("", (prefix, m) -> m.buffers.forEach((k, v) -> {
            if (seen.put(v, Boolean.TRUE) == null) out.put(prefix + k, v);
        }));
        return out;
    }

    public List<Tensor> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** Parameters and buffers by dotted name: what a checkpoint holds. */
    public Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        visit("", (prefix, m) -> {
            m.params.forEach((k, v) -> out.put(prefix + k, v));
            m.buffers.forEach((k, v) -> out.put(prefix + k, v));
        });
        return out;
    }

    private void visit(String prefix, BiConsumer<String, Module> f) {
        f.accept(prefix, this);
        children.forEach((k, c) -> c.visit(prefix + k + ".", f));
    }

    /**
     * Copies values from a state dict into this module's tensors. With strict, any missing key,
     * unexpected key or shape mismatch fails with one message listing all of them.
     */
    public void loadStateDict(Map<String, Tensor> state, boolean strict) {
        Map<String, Tensor> own = stateDict();
        List<String> missing = new ArrayList<>(), unexpected = new ArrayList<>(), mismatched = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : own.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src == null) missing.add(e.getKey());
            else if (!Shapes.same(src.shape(), e.getValue().shape()))
                mismatched.add(e.getKey() + " " + Shapes.str(src.shape()) + " vs expected " + Shapes.str(e.getValue().shape()));
        }
        for (String k : state.keySet()) if (!own.containsKey(k)) unexpected.add(k);
        if (!mismatched.isEmpty() || (strict && (!missing.isEmpty() || !unexpected.isEmpty()))) {
            StringBuilder b = new StringBuilder("state dict does not fit " + getClass().getSimpleName() + ":");
            if (!missing.isEmpty()) b.append(" missing ").append(summary(missing)).append(';');
            if (!unexpected.isEmpty()) b.append(" unexpected ").append(summary(unexpected)).append(';');
            if (!mismatched.isEmpty()) b.append(" shape mismatch ").append(summary(mismatched)).append(';');
            throw new IllegalArgumentException(b.substring(0, b.length() - 1));
        }
        for (Map.Entry<String, Tensor> e : own.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src != null) e.getValue().copyFrom(src);
        }
    }

    private static String summary(List<String> keys) {
        int show = Math.min(keys.size(), 12);
        String s = String.join(", ", keys.subList(0, show));
        return keys.size() + " (" + s + (keys.size() > show ? ", ..." : "") + ")";
    }

    public void zeroGrad() {
        for (Tensor p : parameters()) p.zeroGrad();
    }

    /** Training or evaluation mode, recursively (for layers that behave differently). */
    public Module train(boolean on) {
        visit("", (p, m) -> m.training = on);
        return this;
    }

    public Module eval() {
        return train(false);
    }

    public boolean isTraining() {
        return training;
    }

    /** Freezes or unfreezes every parameter. */
    public void requiresGrad(boolean on) {
        for (Tensor p : parameters()) p.requiresGrad(on);
    }

    public long parameterCount() {
        long n = 0;
        for (Tensor p : parameters()) n += p.numel();
        return n;
    }
}
