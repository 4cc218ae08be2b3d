package diffir.bench;

import diffir.engine.MemoryScope;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import org.openjdk.jmh.annotations.*;

import java.util.List;

/**
 * DiffIR's fused ops ({@link FusedCase}: modulated LayerNorm, gated depthwise conv, transposed channel attention),
 * forward, each three ways: {@code fused} (the engine's kernel through Ops), {@code unfused} (the same math composed
 * from other Ops, as a model without the fused kernel would run it) and {@code loop} (a plain scalar Java loop nest,
 * the obvious single-threaded implementation). No graph, one image; time per call. The backward is
 * {@link FusedBackwardBench}.
 *
 * <p>{@code device}: {@code cpu} (default) or {@code cuda} ({@code -p device=cuda}). On CUDA the inputs live on the
 * device, {@code fused} is our fused CUDA kernel, {@code unfused} the same Ops composition on the CUDA backend with its
 * matmuls on cuBLAS and its convolution on cuDNN ({@link CudaLibraries} says which library serves which op), and
 * each call ends with a device synchronisation (no copy back), so the time is the kernels' (plus the host's
 * launch overhead where that is longer). {@code loop} is a CPU loop: with {@code device=cuda} its setup fails, so run
 * {@code -p device=cuda -p impl=fused,unfused}. Without a CUDA device {@code device=cuda} fails in setup with one
 * line ("no CUDA device: ...").
 *
 * <p>{@code shape} is "C x S": C channels (the op's own width: LayerNorm and attention C, gated conv 2*hidden) on an
 * S x S plane. 48x256 and 48x64 are DIRformer level 1 at 256 and 64 px; 384x8 its latent at 64 px.
 *
 * <p>{@code java -jar bench/target/benchmarks.jar FusedBench [-p device=cuda -p impl=fused,unfused]}
 */
public class FusedBench extends FusedBenchBase {
    @Param({"fused", "unfused", "loop"})
    public String impl;

    @Setup
    public void setup() {
        if (impl.equals("loop") && !device.equalsIgnoreCase("cpu"))
            throw new IllegalArgumentException("impl=loop is a plain CPU loop with no " + device + " counterpart: with -p device="
                    + device + " pass -p impl=fused,unfused");
        open(impl, List.of("fused", "unfused", "loop"), "fused, unfused or loop", false);
    }

    @Benchmark
    public float run() {
        if (impl.equals("loop")) return fc.loop()[0];
        try (var g = Autograd.noGrad(); MemoryScope s = MemoryScope.open()) {
            Tensor out = fc.forward(impl);
            d.backend().synchronize();
            return out.numel();
        }
    }
}
