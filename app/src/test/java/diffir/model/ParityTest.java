package diffir.model;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.engine.io.PthReader;
import diffir.engine.nn.Init;
import diffir.engine.ops.Ops;
import diffir.engine.testing.Assert;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static diffir.model.Parity.get;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java model against the PyTorch reference (float64 math on the same float32 weights): reference
 * .pth checkpoints loaded through {@link Checkpoints}, architecture inferred from the keys.
 */
class ParityTest {
    // The brief asks 1e-4 and 1e-3; float32 PyTorch itself reaches 1.5e-7 and 7.3e-6 on these fixtures (README).
    static final double FORWARD_TOL = 1e-5, GRAD_TOL = 1e-4;

    /** The fixture's config (its metadata) equals what the checkpoint's keys give, up to the ffn factor's spelling. */
    private static void assertConfig(Map<String, String> meta, ArchConfig inferred) {
        ArchConfig stated = ArchConfig.fromJson(meta.get("config"));
        assertEquals(stated, inferred.toBuilder().ffn(stated.ffnFactor(), inferred.ffnHidden()).build());
    }

    @Test
    void s1DeblurForward() throws Exception {
        Map<String, String> meta = new LinkedHashMap<>();
        Map<String, Tensor> f = Parity.load("s1_deblur_forward", meta);
        DiffIRS1 model = assertInstanceOf(DiffIRS1.class, Checkpoints.load(Parity.path("s1_deblur.pth"), Device.CPU));
        assertConfig(meta, model.config());
        try (var s = Autograd.noGrad()) {
            DiffIRS1.Output o = model.forward(get(f, "lq"), get(f, "gt"));
            Assert.close(o.ipr(), get(f, "ipr"), FORWARD_TOL, "S1 ipr");
            Assert.close(o.out(), get(f, "out"), FORWARD_TOL, "S1 out");
        }
    }

    @Test
    void s2DeblurInference() throws Exception {
        checkInference("s2_deblur", ArchTask.DEBLUR);
    }

    @Test
    void s2Sr4Inference() throws Exception {
        checkInference("s2_sr4", ArchTask.SR);
    }

    @Test
    void s2InpaintingInference() throws Exception {
        checkInference("s2_inpaint", ArchTask.INPAINT);
    }

    private static void checkInference(String name, ArchTask task) throws Exception {
        Map<String, String> meta = new LinkedHashMap<>();
        Map<String, Tensor> f = Parity.load(name + "_infer", meta);
        DiffIRS2 model = assertInstanceOf(DiffIRS2.class, Checkpoints.load(Parity.path(name + ".pth"), Device.CPU));
        assertEquals(task, model.config().task());
        assertConfig(meta, model.config());
        try (var s = Autograd.noGrad()) {
            Tensor lq = get(f, "lq"), noise = get(f, "noise");
            VectorDiffusion.Trace trace = model.diffusion().infer(lq, noise);
            Assert.close(trace.c(), get(f, "c"), FORWARD_TOL, name + " c");
            List<Tensor> steps = split(get(f, "steps"), model.config().timesteps());
            assertEquals(steps.size(), trace.steps().size());
            for (int i = 0; i < steps.size(); i++) Assert.close(trace.steps().get(i), steps.get(i), FORWARD_TOL, name + " step " + i);
            DiffIRS2.Output o = model.infer(lq, noise);
            Assert.close(o.ipr(), get(f, "ipr"), FORWARD_TOL, name + " ipr");
            Assert.close(o.out(), get(f, "out"), FORWARD_TOL, name + " out");
        }
    }

    /** steps [T, B, ipr] as T tensors [B, ipr]. */
    private static List<Tensor> split(Tensor steps, int t) {
        List<Tensor> out = new ArrayList<>();
        for (int i = 0; i < t; i++) out.add(steps.narrowView(i, 1).reshapeView(steps.dim(1), steps.dim(2)));
        return out;
    }

    /** The S2 weights the training fixtures start from: s2_deblur.pth's "params" (not the EMA). */
    private static DiffIRS2 trainingModel() throws Exception {
        Path file = Parity.path("s2_deblur.pth");
        Map<String, Tensor> sd = PthReader.readStateDict(file, "params");
        DiffIRS2 model = new DiffIRS2(Init.cpu(7), ArchConfig.fromStateDict(sd));
        Checkpoints.loadInto(model, sd, file, true);
        return model;
    }

    @Test
    void s2JointTrainingStepGradients() throws Exception {
        Map<String, Tensor> f = Parity.load("s2_deblur_train_joint");
        DiffIRS2 model = trainingModel();
        Tensor iprS1 = get(f, "ipr_s1");
        DiffIRS2.Output o = model.trainForward(get(f, "lq"), iprS1, get(f, "eps"));
        Assert.close(o.ipr(), get(f, "ipr_s2"), FORWARD_TOL, "joint ipr_s2");
        Assert.close(o.out(), get(f, "out"), FORWARD_TOL, "joint out");
        Tensor lPix = Ops.l1Loss(o.out(), get(f, "gt"));
        Tensor lAbs = Ops.l1Loss(o.ipr(), iprS1.detach());
        Tensor loss = Ops.add(lPix, lAbs);
        Assert.close(new float[]{lPix.item(), lAbs.item(), loss.item()},
                new float[]{get(f, "l_pix").item(), get(f, "l_abs").item(), get(f, "loss").item()}, FORWARD_TOL, "joint losses");
        loss.backward();
        assertGradients(f, model.namedParameters(), "joint");
    }

    @Test
    void s2EncoderStageGradients() throws Exception {
        Map<String, Tensor> f = Parity.load("s2_deblur_train_encoder");
        DiffIRS2 model = trainingModel();
        Tensor iprS1 = get(f, "ipr_s1");
        Tensor ipr = model.encoderForward(get(f, "lq"), iprS1, get(f, "eps"));
        Assert.close(ipr, get(f, "ipr_s2"), FORWARD_TOL, "encoder ipr_s2");
        Tensor loss = Ops.l1Loss(ipr, iprS1.detach());
        Assert.close(new float[]{loss.item()}, new float[]{get(f, "loss").item()}, FORWARD_TOL, "encoder loss");
        loss.backward();
        Map<String, Tensor> encoder = new LinkedHashMap<>();
        model.namedParameters().forEach((k, v) -> {
            if (k.startsWith("G.")) assertNull(v.grad(), k + " must get no gradient in the encoder stage");
            else encoder.put(k, v);
        });
        assertEquals(model.encoderParameters().keySet(), encoder.keySet());
        assertGradients(f, encoder, "encoder");
    }

    /** Every fixture gradient has a parameter of that name whose gradient matches, and vice versa. */
    private static void assertGradients(Map<String, Tensor> f, Map<String, Tensor> params, String what) {
        List<String> expected = new ArrayList<>();
        for (String k : f.keySet()) if (k.startsWith("grad.")) expected.add(k.substring(5));
        assertEquals(expected, new ArrayList<>(params.keySet()), what + ": parameter names and order");
        double worst = 0;
        String worstName = "";
        for (String k : expected) {
            Tensor g = params.get(k).grad();
            assertNotNull(g, what + ": no gradient for " + k);
            double e = Assert.relError(g.toFloatArray(), get(f, "grad." + k).toFloatArray());
            if (e > worst) {
                worst = e;
                worstName = k;
            }
        }
        assertTrue(worst <= GRAD_TOL, what + ": worst gradient relative error " + worst + " at " + worstName);
    }
}
