package diffir.model;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.engine.io.PthReader;
import diffir.engine.nn.Init;
import diffir.engine.ops.Ops;
import diffir.engine.testing.Assert;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static diffir.model.Parity.get;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The whole DiffIR model on the CUDA backend: the PyTorch parity fixtures reproduced on the GPU, and a
 * larger random model whose forward pass and training-step gradients on the GPU equal the CPU's.
 * Skipped, with a printed notice, where no CUDA device is found.
 */
class ModelCudaTest {
    // cuBLAS/cuDNN sum in other orders than the CPU kernels (TF32 stays off): float32 round-off only.
    static final double FORWARD_TOL = 1e-4, GRAD_TOL = 1e-3;

    static Device cuda;

    @BeforeAll
    static void device() {
        boolean ok = Device.cudaAvailable();
        if (!ok) System.out.println("ModelCudaTest: skipped, no CUDA device on this machine");
        assumeTrue(ok, "no CUDA device");
        cuda = Device.cuda();
    }

    private static Tensor on(Tensor t) {
        return t.to(cuda);
    }

    @Test
    void s1ForwardMatchesPyTorch() throws Exception {
        Map<String, Tensor> f = Parity.load("s1_deblur_forward");
        DiffIRS1 model = (DiffIRS1) Checkpoints.load(Parity.path("s1_deblur.pth"), cuda);
        try (var s = Autograd.noGrad()) {
            DiffIRS1.Output o = model.forward(on(get(f, "lq")), on(get(f, "gt")));
            Assert.close(o.out().to(Device.CPU), get(f, "out"), FORWARD_TOL, "S1 out on CUDA");
        }
    }

    @Test
    void s2InferenceMatchesPyTorch() throws Exception {
        for (String name : List.of("s2_deblur", "s2_sr4", "s2_inpaint")) {
            Map<String, Tensor> f = Parity.load(name + "_infer");
            DiffIRS2 model = (DiffIRS2) Checkpoints.load(Parity.path(name + ".pth"), cuda);
            try (var s = Autograd.noGrad()) {
                DiffIRS2.Output o = model.infer(on(get(f, "lq")), on(get(f, "noise")));
                Assert.close(o.ipr().to(Device.CPU), get(f, "ipr"), FORWARD_TOL, name + " ipr on CUDA");
                Assert.close(o.out().to(Device.CPU), get(f, "out"), FORWARD_TOL, name + " out on CUDA");
            }
        }
    }

    @Test
    void s2JointTrainingGradientsMatchPyTorch() throws Exception {
        Map<String, Tensor> f = Parity.load("s2_deblur_train_joint");
        Path file = Parity.path("s2_deblur.pth");
        Map<String, Tensor> sd = PthReader.readStateDict(file, "params");
        DiffIRS2 model = new DiffIRS2(Init.on(cuda, 7), ArchConfig.fromStateDict(sd));
        Checkpoints.loadInto(model, sd, file, true);
        Tensor iprS1 = on(get(f, "ipr_s1"));
        DiffIRS2.Output o = model.trainForward(on(get(f, "lq")), iprS1, on(get(f, "eps")));
        Tensor loss = Ops.add(Ops.l1Loss(o.out(), on(get(f, "gt"))), Ops.l1Loss(o.ipr(), iprS1.detach()));
        loss.backward();
        worstGradient(model.namedParameters(), name -> get(f, "grad." + name), "joint step on CUDA");
    }

    /** A GoPro-shaped model at small width: every kernel path at real sizes, GPU against CPU. */
    @Test
    void largerModelForwardAndBackwardEqualCpu() {
        ArchConfig cfg = ArchConfig.gopro().toBuilder().dim(16).blocks(List.of(1, 2, 2, 2)).refinement(1)
                .heads(List.of(1, 2, 4, 8)).ffnFactor(2.0).encoderRes(1).build();
        DiffIRS2 cpu = new DiffIRS2(Init.cpu(3), cfg);
        DiffIRS2 gpu = new DiffIRS2(Init.on(cuda, 99), cfg);
        gpu.loadStateDict(cpu.stateDict(), true);
        SplittableRandom rng = new SplittableRandom(5);
        Tensor lq = Tensor.rand(Device.CPU, rng, 0f, 1f, 2, 3, 64, 64);
        Tensor gt = Tensor.rand(Device.CPU, rng, 0f, 1f, 2, 3, 64, 64);
        Tensor iprS1 = Tensor.randn(Device.CPU, rng, 2, cfg.iprDim());
        Tensor eps = Tensor.randn(Device.CPU, rng, 2, cfg.iprDim());

        try (var s = Autograd.noGrad()) {
            Tensor noise = Tensor.randn(Device.CPU, rng, 2, cfg.iprDim());
            Tensor ref = cpu.infer(lq, noise).out();
            Assert.close(gpu.infer(on(lq), on(noise)).out().to(Device.CPU), ref, FORWARD_TOL, "S2 inference, GPU vs CPU");
        }
        DiffIRS2.Output oc = cpu.trainForward(lq, iprS1, eps);
        Ops.add(Ops.l1Loss(oc.out(), gt), Ops.l1Loss(oc.ipr(), iprS1)).backward();
        DiffIRS2.Output og = gpu.trainForward(on(lq), on(iprS1), on(eps));
        Ops.add(Ops.l1Loss(og.out(), on(gt)), Ops.l1Loss(og.ipr(), on(iprS1))).backward();
        Map<String, Tensor> cpuParams = cpu.namedParameters();
        worstGradient(gpu.namedParameters(), name -> cpuParams.get(name).grad(), "training step, GPU vs CPU");
    }

    /**
     * S2 inference (CPEN, the reverse diffusion steps, DIRformer) queues all its work without the host
     * waiting for the GPU once: after a warm-up run (allocator cache, cuDNN algorithm searches), a
     * second run adds no host wait until its result is downloaded.
     */
    @Test
    void s2InferenceRunsWithoutHostSynchronisation() {
        ArchConfig cfg = ArchConfig.gopro().toBuilder().dim(16).blocks(List.of(1, 1, 1, 1)).refinement(1)
                .heads(List.of(1, 2, 4, 8)).ffnFactor(2.0).encoderRes(1).build();
        DiffIRS2 model = new DiffIRS2(Init.on(cuda, 21), cfg);
        model.eval();
        SplittableRandom rng = new SplittableRandom(8);
        Tensor lq = on(Tensor.rand(Device.CPU, rng, 0f, 1f, 1, 3, 64, 64));
        Tensor noise = on(Tensor.randn(Device.CPU, rng, 1, cfg.iprDim()));
        try (var s = Autograd.noGrad()) {
            model.infer(lq, noise);  // warm-up
            cuda.backend().synchronize();
            long before = cuda.backend().hostSyncs();
            DiffIRS2.Output o = model.infer(lq, noise);
            long waits = cuda.backend().hostSyncs() - before;
            assertTrue(waits == 0, "S2 inference waited for the GPU " + waits + " times before its result was read");
            float[] out = o.out().toFloatArray();
            assertTrue(cuda.backend().hostSyncs() > before, "the final download is counted");
            for (float v : out) assertTrue(Float.isFinite(v), "S2 output not finite");
        }
    }

    private static void worstGradient(Map<String, Tensor> params, java.util.function.Function<String, Tensor> reference, String what) {
        double worst = 0;
        String at = "";
        for (Map.Entry<String, Tensor> e : params.entrySet()) {
            Tensor g = e.getValue().grad();
            Tensor ref = reference.apply(e.getKey());
            assertNotNull(g, what + ": no gradient for " + e.getKey());
            assertNotNull(ref, what + ": no reference gradient for " + e.getKey());
            double err = Assert.relError(g.toFloatArray(), ref.toFloatArray());
            if (err > worst) {
                worst = err;
                at = e.getKey();
            }
        }
        System.out.printf("%s: worst gradient relative error %.2e at %s%n", what, worst, at);
        assertTrue(worst <= GRAD_TOL, what + ": worst gradient relative error " + worst + " at " + at);
    }
}
