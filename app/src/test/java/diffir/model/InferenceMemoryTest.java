package diffir.model;

import diffir.engine.Device;
import diffir.engine.MemoryScope;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.engine.cpu.CpuBackend;
import diffir.engine.nn.Init;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** Inference frees its intermediates as it goes (Temporaries, Sequential, Blocks): same result, less memory held. */
class InferenceMemoryTest {
    private static final ArchConfig SMALL = ArchConfig.gopro().toBuilder().dim(8).blocks(List.of(2, 1, 1, 2)).refinement(2)
            .heads(List.of(1, 2, 2, 4)).encoderRes(1).cpenFeats(8).build();

    @Test
    void inferenceFreesIntermediatesWithoutChangingTheResult() {
        DiffIRS2 model = new DiffIRS2(Init.cpu(5), SMALL);
        model.eval();
        SplittableRandom rng = new SplittableRandom(3);
        Tensor lq = Tensor.rand(Device.CPU, rng, 0f, 1f, 2, 3, 32, 32);
        Tensor noise = Tensor.randn(Device.CPU, rng, 2, SMALL.iprDim());
        CpuBackend cpu = CpuBackend.INSTANCE;

        float[] recorded;
        long recordedPeak;
        cpu.resetPeakMemory();
        long base = cpu.peakMemoryBytes();
        try (MemoryScope s = MemoryScope.open()) {
            // With a graph nothing may be freed early: the saved tensors are needed by backward.
            Tensor out = model.infer(lq, noise).out();
            recorded = out.toFloatArray();
            recordedPeak = cpu.peakMemoryBytes() - base;
            out.sum().backward();
        }
        model.zeroGrad();

        float[] inferred;
        long inferredPeak;
        cpu.resetPeakMemory();
        base = cpu.peakMemoryBytes();
        try (var g = Autograd.noGrad(); MemoryScope s = MemoryScope.open()) {
            inferred = model.infer(lq, noise).out().toFloatArray();
            inferredPeak = cpu.peakMemoryBytes() - base;
        }
        assertArrayEquals(recorded, inferred);
        assertTrue(inferredPeak * 2 < recordedPeak, "no-grad peak " + inferredPeak + " bytes vs " + recordedPeak + " with a graph");
    }
}
