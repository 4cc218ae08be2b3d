package diffir.bench;

import diffir.engine.Device;
import org.openjdk.jmh.annotations.*;

import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What {@link FusedBench} and {@link FusedBackwardBench} share: the op, shape and device parameters, and a setup
 * that checks impl, loads the CUDA libraries an unfused run on the GPU needs and makes the {@link FusedCase}, and
 * the run settings (JMH's class annotations are inherited).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC",
        "-Xmn64m", "-Xmx3g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 4, time = 1)
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
