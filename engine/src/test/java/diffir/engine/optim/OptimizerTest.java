package diffir.engine.optim;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.io.SafeTensors;
import diffir.engine.testing.Assert;
import diffir.engine.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static diffir.engine.testing.Fixtures.get;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Optimiser trajectories against PyTorch's own optimisers (float64, fixtures from gen_nn_optim.py):
 * five steps with given gradients and a changing learning rate, one parameter without a gradient at
 * step 2 (skipped, so its step count lags). Parameters, their change from the start and the final
 * state must agree to 1e-5.
 */
class OptimizerTest {
    private static final int STEPS = 5, PARAMS = 3;
    private static final double TOL = 1e-5;

    private static Map<String, Tensor> startParams(Map<String, Tensor> f) {
        Map<String, Tensor> params = new LinkedHashMap<>();
        for (int i = 0; i < PARAMS; i++) {
            Tensor p = Tensor.empty(Device.CPU, get(f, "p" + i).shape());
            p.copyFrom(get(f, "p" + i));
            params.put("p" + i, p.requiresGrad(true));
        }
        return params;
    }

    /** Runs steps [from, to) of the fixture's trajectory on opt, checking the parameters after each. */
    private static void run(Map<String, Tensor> f, Optimizer opt, int from, int to, String what) {
        float[] lrs = get(f, "lrs").toFloatArray();
        for (int t = from; t < to; t++) {
            opt.setLr(lrs[t]);
            opt.zeroGrad();
            for (int i = 0; i < PARAMS; i++) {
                Tensor g = f.get("g" + t + "." + i);
                if (g != null) opt.parameters().get("p" + i).setGrad(g);
            }
            opt.step();
            for (int i = 0; i < PARAMS; i++) {
                Tensor p = opt.parameters().get("p" + i);
                String at = what + " step " + t + " p" + i;
                Assert.close(p, get(f, "after" + t + ".p" + i), TOL, at);
                // The change from the start is a much stricter test of the update than the value.
                Assert.close(diff(p, get(f, "p" + i)), diff(get(f, "after" + t + ".p" + i), get(f, "p" + i)), TOL, at + " delta");
            }
        }
    }

    private static float[] diff(Tensor a, Tensor b) {
        float[] x = a.toFloatArray(), y = b.toFloatArray();
        for (int i = 0; i < x.length; i++) x[i] -= y[i];
        return x;
    }

    private static void checkState(Map<String, Tensor> f, Optimizer opt, String what) {
        Map<String, Tensor> sd = opt.stateDict();
        for (int i = 0; i < PARAMS; i++) {
            // Updates received: steps where the parameter had a gradient (PyTorch's SGD keeps no count; Adam's must agree).
            int received = 0;
            for (int t = 0; t < STEPS; t++) if (f.containsKey("g" + t + "." + i)) received++;
            Tensor torchStep = f.get("state.p" + i + ".step");
            if (torchStep != null) assertEquals(received, torchStep.item(), what + " fixture step of p" + i);
            assertEquals(received, opt.stepCount("p" + i), what + " step of p" + i);
            assertEquals(received, sd.get("p" + i + ".step").item(), what + " saved step of p" + i);
            for (String k : opt.stateNames()) Assert.close(sd.get("p" + i + "." + k), get(f, "state.p" + i + "." + k), TOL, what + " " + k + " p" + i);
        }
        assertEquals(PARAMS * (opt.stateNames().size() + 1), sd.size(), what + " state keys " + sd.keySet());
        long torchTensors = f.keySet().stream().filter(k -> k.startsWith("state.") && !k.endsWith(".step")).count();
        assertEquals(torchTensors, PARAMS * opt.stateNames().size(), what + ": PyTorch keeps " + torchTensors + " state tensors");
    }

    private static void checkTrajectory(String fixture, Function<Map<String, Tensor>, Optimizer> make) {
        Map<String, Tensor> f = Fixtures.load(fixture);
        Optimizer opt = make.apply(startParams(f));
        run(f, opt, 0, STEPS, fixture);
        checkState(f, opt, fixture);
    }

    @Test
    void adamMatchesPyTorch() {
        checkTrajectory("optim_adam", p -> new Adam(p, 0.05));
    }

    @Test
    void adamWithL2DecayAndS2BetasMatchesPyTorch() {
        checkTrajectory("optim_adam_s2", p -> new Adam(p, 0.05, 0.9, 0.99, 1e-8, 0.1));
    }

    @Test
    void adamWMatchesPyTorch() {
        checkTrajectory("optim_adamw", p -> new AdamW(p, 0.05, 0.9, 0.999, 1e-8, 0.1));
    }

    @Test
    void sgdMatchesPyTorch() {
        checkTrajectory("optim_sgd_plain", p -> new SGD(p, 0.05));
        checkTrajectory("optim_sgd_momentum", p -> new SGD(p, 0.05, 0.9, 0.1, 0.01, false));
        checkTrajectory("optim_sgd_nesterov", p -> new SGD(p, 0.05, 0.8, 0, 0.02, true));
    }

    /** Save after 3 steps (through a safetensors file), load into a fresh optimiser, finish: same as uninterrupted. */
    @Test
    void stateRoundTripGivesIdenticalContinuation(@TempDir Path dir) throws Exception {
        for (String name : List.of("optim_adam", "optim_adamw", "optim_sgd_momentum")) {
            Map<String, Tensor> f = Fixtures.load(name);
            Function<Map<String, Tensor>, Optimizer> make = switch (name) {
                case "optim_adam" -> p -> new Adam(p, 0.05);
                case "optim_adamw" -> p -> new AdamW(p, 0.05, 0.9, 0.999, 1e-8, 0.1);
                default -> p -> new SGD(p, 0.05, 0.9, 0.1, 0.01, false);
            };
            Optimizer straight = make.apply(startParams(f));
            run(f, straight, 0, STEPS, name);

            Optimizer first = make.apply(startParams(f));
            run(f, first, 0, 3, name);
            Path file = dir.resolve(name + ".safetensors");
            Map<String, Tensor> paramsAt3 = new LinkedHashMap<>(first.parameters());
            SafeTensors.write(file, first.stateDict());
            Map<String, Tensor> resumedParams = new LinkedHashMap<>();
            paramsAt3.forEach((k, p) -> {
                Tensor c = Tensor.empty(Device.CPU, p.shape());
                c.copyFrom(p);
                resumedParams.put(k, c.requiresGrad(true));
            });
            Optimizer resumed = make.apply(resumedParams);
            resumed.loadStateDict(SafeTensors.read(file));
            run(f, resumed, 3, STEPS, name + " resumed");
            for (String k : straight.parameters().keySet()) {
                assertArrayEquals(straight.parameters().get(k).toFloatArray(), resumed.parameters().get(k).toFloatArray(), name + " " + k + " bitwise");
                assertEquals(straight.stepCount(k), resumed.stepCount(k));
            }
            Map<String, Tensor> a = straight.stateDict(), b = resumed.stateDict();
            assertEquals(a.keySet(), b.keySet());
            a.forEach((k, t) -> assertArrayEquals(t.toFloatArray(), b.get(k).toFloatArray(), name + " state " + k));
        }
    }

    @Test
    void loadingKeepsNoAliasToTheSavedTensors() {
        Map<String, Tensor> f = Fixtures.load("optim_adam");
        Adam a = new Adam(startParams(f), 0.05);
        run(f, a, 0, 1, "adam");
        Map<String, Tensor> saved = a.stateDict();
        Adam b = new Adam(startParams(f), 0.05);
        b.loadStateDict(saved);
        float[] before = b.stateDict().get("p0.exp_avg").toFloatArray();
        run(f, a, 1, 2, "adam");  // a's live state moves on
        assertArrayEquals(before, b.stateDict().get("p0.exp_avg").toFloatArray());
    }

    @Test
    void parametersWithoutGradientAreSkipped() {
        Tensor p = Tensor.of(new float[]{1, 2}, 2).requiresGrad(true);
        Adam opt = new Adam(Map.of("p", p), 0.1);
        opt.step();
        assertArrayEquals(new float[]{1, 2}, p.toFloatArray());
        assertEquals(0, opt.stepCount("p"));
        assertTrue(opt.stateDict().isEmpty());
    }

    @Test
    void badStateFailsWithOneClearMessage() {
        Tensor p = Tensor.zeros(Device.CPU, 2, 3).requiresGrad(true);
        Adam opt = new Adam(Map.of("w", p), 0.1);
        Map<String, Tensor> bad = new LinkedHashMap<>();
        bad.put("w.exp_avg", Tensor.zeros(Device.CPU, 3, 2));
        bad.put("w.momentum_buffer", Tensor.zeros(Device.CPU, 2, 3));
        bad.put("v.exp_avg", Tensor.zeros(Device.CPU, 2, 3));
        var e = assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(bad));
        String m = e.getMessage();
        assertTrue(m.contains("'w.exp_avg' has shape [3, 2]") && m.contains("'w.momentum_buffer' is not Adam state")
                && m.contains("unknown parameter in 'v.exp_avg'"), m);
        var e1 = assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(Map.of("w.exp_avg", Tensor.zeros(Device.CPU, 2, 3))));
        assertTrue(e1.getMessage().contains("'w' lacks [exp_avg_sq, step]"), e1.getMessage());
        Map<String, Tensor> badStep = Map.of("w.exp_avg", Tensor.zeros(Device.CPU, 2, 3), "w.exp_avg_sq", Tensor.zeros(Device.CPU, 2, 3),
                "w.step", Tensor.scalar(Device.CPU, 2.5f));
        var e2 = assertThrows(IllegalArgumentException.class, () -> opt.loadStateDict(badStep));
        assertTrue(e2.getMessage().contains("is not a step count"), e2.getMessage());
    }

    @Test
    void badHyperParametersFail() {
        Map<String, Tensor> p = Map.of("w", Tensor.zeros(Device.CPU, 2).requiresGrad(true));
        assertThrows(IllegalArgumentException.class, () -> new Adam(p, -1));
        assertThrows(IllegalArgumentException.class, () -> new Adam(p, 0.1, 1.0, 0.999, 1e-8, 0));
        assertThrows(IllegalArgumentException.class, () -> new SGD(p, 0.1, 0, 0, 0, true));
        assertThrows(IllegalArgumentException.class, () -> new Adam(Map.of(), 0.1));
        Tensor shared = Tensor.zeros(Device.CPU, 2).requiresGrad(true);
        Map<String, Tensor> twice = new LinkedHashMap<>();
        twice.put("a", shared);
        twice.put("b", shared);
        var e = assertThrows(IllegalArgumentException.class, () -> new SGD(twice, 0.1));
        assertTrue(e.getMessage().contains("'a' and 'b'"), e.getMessage());
    }
}
