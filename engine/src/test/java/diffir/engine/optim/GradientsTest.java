package diffir.engine.optim;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.testing.Assert;
import diffir.engine.testing.Fixtures;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import static diffir.engine.testing.Fixtures.get;
import static org.junit.jupiter.api.Assertions.*;

/** clip_grad_norm_ against PyTorch (gen_nn_optim.py), and the non-finite gradient check. */
class GradientsTest {
    private static List<Tensor> paramsWithGrads(Map<String, Tensor> f, String c) {
        List<Tensor> ps = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Tensor g = get(f, c + ".g" + i);
            Tensor p = Tensor.zeros(Device.CPU, g.shape()).requiresGrad(true);
            Tensor gc = Tensor.empty(Device.CPU, g.shape());
            gc.copyFrom(g);
            p.setGrad(gc);
            ps.add(p);
        }
        return ps;
    }

    @Test
    void clipMatchesPyTorch() {
        Map<String, Tensor> f = Fixtures.load("optim_clip");
        for (String c : List.of("clip", "noclip")) {
            List<Tensor> ps = paramsWithGrads(f, c);
            ps.add(Tensor.zeros(Device.CPU, 2).requiresGrad(true)); // no gradient: skipped
            double norm = Gradients.clipGradNorm(ps, get(f, c + ".max_norm").item());
            float ref = get(f, c + ".norm").item();
            assertEquals(ref, norm, 1e-5 * ref, c + " norm");
            for (int i = 0; i < 3; i++) Assert.close(ps.get(i).grad(), get(f, c + ".clipped" + i), 1e-5, c + " grad " + i);
            assertNull(ps.get(3).grad());
        }
    }

    @Test
    void clipWithoutGradientsReturnsZero() {
        assertEquals(0, Gradients.clipGradNorm(List.of(Tensor.zeros(Device.CPU, 3).requiresGrad(true)), 1.0));
        assertThrows(IllegalArgumentException.class, () -> Gradients.clipGradNorm(List.of(), 0));
    }

    @Test
    void firstNonFiniteNamesTheParameter() {
        Map<String, Tensor> params = new LinkedHashMap<>();
        for (String name : List.of("a", "b", "c", "d")) params.put(name, Tensor.zeros(Device.CPU, 3).requiresGrad(true));
        params.get("a").setGrad(Tensor.of(new float[]{1, -2, 3e38f}, 3));
        params.get("c").setGrad(Tensor.of(new float[]{0, Float.NEGATIVE_INFINITY, 1}, 3));
        params.get("d").setGrad(Tensor.of(new float[]{Float.NaN, 0, 1}, 3));
        assertEquals(Optional.of("c"), Gradients.firstNonFinite(params));
        params.get("c").setGrad(Tensor.of(new float[]{0, 1, 1}, 3));
        assertEquals(Optional.of("d"), Gradients.firstNonFinite(params));
        params.get("d").zeroGrad();
        assertEquals(Optional.empty(), Gradients.firstNonFinite(params));
    }
}
