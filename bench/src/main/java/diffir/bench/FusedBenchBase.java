package diffir.bench;

import diffir.engine.Device;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.List;

/**
 * What {@link FusedBench} and {@link FusedBackwardBench} share: the op, shape and device parameters, and a setup
 * that checks impl, loads the CUDA libraries an unfused run on the GPU needs and makes the {@link FusedCase}.
 */
@State(Scope.Benchmark)
public abstract class FusedBenchBase {
    @Param({"layernorm", "gated", "attention"})
    public String op;

    @Param({"48x64", "48x256", "384x8"})
    public String shape;

    @Param({"cpu"})
    public String device;

    FusedCase fc;
    Device d;

    /** Checks impl against the allowed ones (message: why others are not), then builds the case. */
    void open(String impl, List<String> allowed, String refusal, boolean backward) {
        if (!allowed.contains(impl)) throw new IllegalArgumentException("unknown impl '" + impl + "': " + refusal);
        d = Device.of(device);
        if (impl.equals("unfused")) CudaLibraries.forUnfused(d, op);
        fc = new FusedCase(op, shape, d, backward);
    }

    @TearDown
    public void tearDown() {
        CudaLibraries.reset(d);
    }
}
