package diffir.engine.optim;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Base of the optimisers: one learning rate over an ordered map of named parameters, with
 * per-parameter state (tensors and a step count) created on a parameter's first update.
 *
 * <p>As in PyTorch, {@link #step()} skips parameters whose gradient is null, so a parameter's step
 * count is the number of updates it actually received. The state dict holds, for each parameter that
 * has state, {@code <name>.<state>} tensors (e.g. {@code G.x.weight.exp_avg}) and {@code <name>.step},
 * a float32 scalar (as PyTorch stores it); loading it gives an identical continuation.
 */
public abstract class Optimizer {
    /** A float32 step count is exact up to here. */
    private static final long MAX_EXACT_STEP = 1L << 24;

    private final Map<String, Tensor> params;
    private final Map<String, ParamState> state = new LinkedHashMap<>();
    private double lr;

    /** What one parameter's update keeps between steps. */
    protected static final class ParamState {
        private long step;
        private final Map<String, Tensor> tensors = new LinkedHashMap<>();

        /** Updates this parameter has received, including the current one during {@link #update}. */
        public long step() {
            return step;
        }

        /** The state tensor of this name, or null before it is created. */
        public Tensor get(String name) {
            return tensors.get(name);
        }

        public void put(String name, Tensor t) {
            tensors.put(name, t);
        }
    }

    protected Optimizer(Map<String, Tensor> params, double lr) {
        if (params.isEmpty()) throw new IllegalArgumentException(getClass().getSimpleName() + " got an empty parameter list");
        Map<Tensor, String> seen = new IdentityHashMap<>();
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            if (e.getValue() == null) throw new IllegalArgumentException("parameter '" + e.getKey() + "' is null");
            if (!e.getValue().isLeaf()) throw new IllegalArgumentException("parameter '" + e.getKey() + "' is not a leaf tensor");
            String other = seen.put(e.getValue(), e.getKey());
            if (other != null)
                throw new IllegalArgumentException("one tensor is given twice, as '" + other + "' and '" + e.getKey() + "'");
        }
        this.params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
        setLr(lr);
    }

    public final double lr() {
        return lr;
    }

    public final void setLr(double lr) {
        if (!(lr >= 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("invalid learning rate: " + lr);
        this.lr = lr;
    }

    public final Map<String, Tensor> parameters() {
        return params;
    }

    /** One update of every parameter that has a gradient. */
    public final void step() {
        try (var s = Autograd.noGrad()) {
            List<Tensor> ps = new ArrayList<>(), gs = new ArrayList<>();
            List<ParamState> sts = new ArrayList<>();
            for (Map.Entry<String, Tensor> e : params.entrySet()) {
                Tensor p = e.getValue(), g = p.grad();
                if (g == null) continue;
                if (g.device() != p.device())
                    throw new IllegalStateException("gradient of '" + e.getKey() + "' is on " + g.device() + ", parameter on " + p.device());
                ParamState st = state.computeIfAbsent(e.getKey(), k -> new ParamState());
                st.step++;
                ps.add(p);
                gs.add(g);
                sts.add(st);
            }
            updateAll(ps, gs, sts);
        }
    }

    /**
     * Updates every stepped parameter (in parameter order; each state's step already counts this
     * update). The default calls {@link #update} one by one; optimizers override it to batch.
     */
    protected void updateAll(List<Tensor> params, List<Tensor> grads, List<ParamState> states) {
        for (int i = 0; i < params.size(); i++) update(params.get(i), grads.get(i), states.get(i));
    }

    /** Clears every parameter's gradient (to null, so that the next step skips those that get none). */
    public final void zeroGrad() {
        for (Tensor p : params.values()) p.zeroGrad();
    }

    /** Applies one update to p given its gradient g; st.step() already counts this update. No autograd. */
    protected abstract void update(Tensor p, Tensor g, ParamState st);

    /** Names of the tensors every stepped parameter's state holds, in save order. */
    protected abstract List<String> stateNames();

    /** The step count of a parameter (0 before its first update). */
    public final long stepCount(String name) {
        if (!params.containsKey(name)) throw new IllegalArgumentException("no parameter '" + name + "'");
        ParamState st = state.get(name);
        return st == null ? 0 : st.step;
    }

    /**
     * The state as named tensors: {@code <param>.<state>} (the live tensors, not copies) and
     * {@code <param>.step} scalars, for every parameter that has been updated, in parameter order.
     */
    public final Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            ParamState st = state.get(e.getKey());
            if (st == null) continue;
            if (st.step > MAX_EXACT_STEP)
                throw new IllegalStateException("step count " + st.step + " of '" + e.getKey() + "' is past what a float32 holds exactly");
            for (String k : stateNames()) out.put(e.getKey() + "." + k, st.tensors.get(k));
            out.put(e.getKey() + ".step", Tensor.scalar(e.getValue().device(), st.step));
        }
        return out;
    }

    /**
     * Replaces the whole state with a copy of one saved by {@link #stateDict()}. Parameters without
     * entries start fresh. Unknown parameters or state names, wrong shapes, bad step counts and
     * incomplete entries fail with one message listing all of them, leaving the state unchanged.
     */
    public final void loadStateDict(Map<String, Tensor> saved) {
        List<String> problems = new ArrayList<>();
        Map<String, Map<String, Tensor>> byParam = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : saved.entrySet()) {
            String key = e.getKey();
            Tensor t = e.getValue();
            int dot = key.lastIndexOf('.');
            String pname = dot < 0 ? "" : key.substring(0, dot), sname = key.substring(dot + 1);
            Tensor p = params.get(pname);
            if (p == null) {
                problems.add("unknown parameter in '" + key + "'");
            } else if (sname.equals("step")) {
                if (t.numel() != 1) problems.add("'" + key + "' has shape " + Shapes.str(t.shape()) + ", not one value");
                else {
                    float v = t.item();
                    if (!(v >= 0) || v != Math.rint(v) || v > MAX_EXACT_STEP) problems.add("'" + key + "' = " + v + " is not a step count");
                    else byParam.computeIfAbsent(pname, k -> new LinkedHashMap<>()).put(sname, t);
                }
            } else if (!stateNames().contains(sname)) {
                problems.add("'" + key + "' is not " + getClass().getSimpleName() + " state (expected " + stateNames() + " or step)");
            } else if (!Shapes.same(t.shape(), p.shape())) {
                problems.add("'" + key + "' has shape " + Shapes.str(t.shape()) + ", parameter has " + Shapes.str(p.shape()));
            } else {
                byParam.computeIfAbsent(pname, k -> new LinkedHashMap<>()).put(sname, t);
            }
        }
        for (Map.Entry<String, Map<String, Tensor>> e : byParam.entrySet()) {
            List<String> missing = new ArrayList<>();
            for (String k : stateNames()) if (!e.getValue().containsKey(k)) missing.add(k);
            if (!e.getValue().containsKey("step")) missing.add("step");
            if (!missing.isEmpty()) problems.add("'" + e.getKey() + "' lacks " + missing);
        }
        if (!problems.isEmpty()) {
            int show = Math.min(problems.size(), 12);
            throw new IllegalArgumentException("optimizer state does not fit " + getClass().getSimpleName() + ": "
                    + String.join("; ", problems.subList(0, show)) + (problems.size() > show ? "; ... (" + problems.size() + " problems)" : ""));
        }
        state.clear();
        for (Map.Entry<String, Map<String, Tensor>> e : byParam.entrySet()) {
            Tensor p = params.get(e.getKey());
            ParamState st = new ParamState();
            st.step = (long) e.getValue().get("step").item();
            for (String k : stateNames()) {
                Tensor copy = Tensor.empty(p.device(), p.shape());
                copy.copyFrom(e.getValue().get(k));
                st.tensors.put(k, copy);
            }
            state.put(e.getKey(), st);
        }
    }
}
