package diffir.bench;

import diffir.engine.MemoryScope;
import diffir.engine.Tensor;
import org.openjdk.jmh.annotations.*;

import java.util.List;

/**
 * The backward of DiffIR's fused ops ({@link FusedCase}), {@code fused} (the fused kernels' forward and backward
 * through Ops) against {@code unfused} (the same math composed from other Ops, each with its own backward). There is
 * no {@code loop} here: the plain loops are forward only ({@link FusedBench}).
 *
 * <p>What one call does, all of it timed: the forward with autograd recording, then {@code backward} through autograd
 * from a fixed random upstream gradient (made in setup) to the gradients of every input and weight of the op
 * (layernorm: x, w, b, mod; gated: x, w; attention: qkv, temperature), then dropping those gradients (as an
 * optimiser's zero_grad). The graph is used up by the backward, so the forward is recorded in the call; the
 * backward's own share is about this time minus {@link FusedBench}'s forward row for the same case (recording saves
 * tensors the no-grad forward frees, so the difference is a slight overestimate).
 *
 * <p>{@code device}: {@code cpu} (default) or {@code cuda} ({@code -p device=cuda}): the tensors on the device,
 * {@code fused} our fused CUDA kernels, {@code unfused} the Ops composition on the CUDA backend with matmuls on cuBLAS
 * and the convolution on cuDNN ({@link CudaLibraries}), each call ending with a device synchronisation (no copy
 * back). Without a CUDA device {@code device=cuda} fails in setup with one line ("no CUDA device: ...").
 * {@code shape} as in FusedBench.
 *
 * <p>{@code java -jar bench/target/benchmarks.jar FusedBackwardBench [-p device=cuda]}
 */
public class FusedBackwardBench extends FusedBenchBase {
    @Param({"fused", "unfused"})
    public String impl;

    @Setup
    public void setup() {
        open(impl, List.of("fused", "unfused"), "fused or unfused (the plain loop is forward only, in FusedBench)", true);
    }

    @Benchmark
    public float run() {
        float n;
        try (MemoryScope s = MemoryScope.open()) {
            Tensor[] grads = fc.backward(impl);
            d.backend().synchronize();
            n = grads[0].numel();
        }
        fc.zeroGrads();
        return n;
    }
}
