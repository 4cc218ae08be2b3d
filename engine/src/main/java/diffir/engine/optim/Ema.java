package diffir.engine.optim;

import diffir.engine.Device;
import diffir.engine.Shapes;
import diffir.engine.MemoryScope;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.engine.backend.BinaryOp;
import diffir.engine.backend.ScalarOp;
import diffir.engine.nn.Module;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * basicsr's exponential moving average of weights ({@code model_ema}): after each training step
 * {@code ema = decay*ema + (1-decay)*param} for every parameter, and buffers are copied. The average
 * lives in a second module of the same architecture (what checkpoints save as {@code params_ema}).
 */
public final class Ema {
    private final List<Tensor[]> params = new ArrayList<>();  // {source, average}
    private final List<Tensor[]> buffers = new ArrayList<>();
    private final Map<Device, Tensor> scratch = new HashMap<>();
    private long maxNumel;

    /** Pairs source's parameters and buffers with average's by name; both must hold the same names and shapes. */
    public Ema(Module source, Module average) {
        this(source.namedParameters(), source.namedBuffers(), average.namedParameters(), average.namedBuffers());
    }

    /** The same over name-to-tensor maps. */
    public Ema(Map<String, Tensor> sourceParams, Map<String, Tensor> sourceBuffers,
               Map<String, Tensor> averageParams, Map<String, Tensor> averageBuffers) {
        List<String> problems = new ArrayList<>();
        pair("parameter", sourceParams, averageParams, params, problems);
        pair("buffer", sourceBuffers, averageBuffers, buffers, problems);
        for (Tensor[] pa : params) maxNumel = Math.max(maxNumel, pa[0].numel());
        if (!problems.isEmpty()) {
            int show = Math.min(problems.size(), 12);
            throw new IllegalArgumentException("EMA model does not match the trained model: " + String.join("; ", problems.subList(0, show))
                    + (problems.size() > show ? "; ... (" + problems.size() + " problems)" : ""));
        }
    }

    private static void pair(String kind, Map<String, Tensor> src, Map<String, Tensor> avg, List<Tensor[]> out, List<String> problems) {
        Map<String, Tensor> rest = new LinkedHashMap<>(avg);
        for (Map.Entry<String, Tensor> e : src.entrySet()) {
            Tensor a = rest.remove(e.getKey());
            Tensor s = e.getValue();
            if (a == null) problems.add(kind + " '" + e.getKey() + "' missing in the EMA model");
            else if (!Shapes.same(s.shape(), a.shape()))
                problems.add(kind + " '" + e.getKey() + "' " + Shapes.str(s.shape()) + " vs EMA " + Shapes.str(a.shape()));
            else if (s.device() != a.device())
                problems.add(kind + " '" + e.getKey() + "' on " + s.device() + " vs EMA on " + a.device());
            else out.add(new Tensor[]{s, a});
        }
        for (String k : rest.keySet()) problems.add("EMA " + kind + " '" + k + "' not in the trained model");
    }

    /** One average step with the given decay (basicsr: 0.999 after every iteration). decay 0 copies. */
    public void update(double decay) {
        if (!(decay >= 0 && decay <= 1)) throw new IllegalArgumentException("EMA decay must be in [0, 1], got " + decay);
        try (var s = Autograd.noGrad()) {
            for (Tensor[] pa : params) {
                Tensor src = pa[0], avg = pa[1];
                if (decay == 0) {
                    avg.copyFrom(src);
                    continue;
                }
                Tensor t = scratch(src);
                src.backend().scalar(ScalarOp.MUL, src, (float) (1 - decay), t);
                src.backend().scalar(ScalarOp.MUL, avg, (float) decay, avg);
                src.backend().binary(BinaryOp.ADD, avg, t, avg);
            }
            for (Tensor[] b : buffers) b[1].copyFrom(b[0]);
        }
    }

    /** A tensor of src's shape over a scratch buffer reused across parameters (one per device). */
    private Tensor scratch(Tensor src) {
        Tensor buf = scratch.get(src.device());
        if (buf == null || buf.numel() < src.numel()) {
            buf = MemoryScope.untrack(Tensor.empty(src.device(), Math.toIntExact(maxNumel)));
            scratch.put(src.device(), buf);
        }
        return new Tensor(src.shape(), buf.storage(), buf.offset(), src.device());
    }

    /** Sets the average to the current weights (basicsr's {@code model_ema(0)} at the start of training). */
    public void copyWeights() {
        update(0);
    }
}
