package diffir.bench;

import diffir.engine.Device;
import diffir.engine.MemoryScope;
import org.openjdk.jmh.annotations.*;

import java.io.IOException;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The whole model, as {@link ModelTiming} and bench/compare-torch time it: S2 inference of the GoPro config
 * (random weights) at 64, 128 and 256 px, and one S2 training step of the small config (batch 4 of 64 x 64,
 * backward and Adam). Each call in its own MemoryScope. Single-shot: a call is long enough (0.1 to 2 s on the
 * CPU) to be timed alone.
 *
 * <p>{@code device}: {@code cpu} (default) or {@code cuda} ({@code -p device=cuda}): the model, its inputs and
 * optimiser state on the device, the CUDA backend's default paths (own kernels, GEMMs and 1x1 convs on cuBLAS,
 * general convs on cuDNN when loaded), each call ending with a device synchronisation. A single shot on CUDA
 * includes the host's time to queue the work; {@link ModelTiming} times the same cases with CUDA events. Without a
 * CUDA device {@code device=cuda} fails in setup with one line ("no CUDA device: ...").
 *
 * <p>{@code java -jar bench/target/benchmarks.jar ModelBench [-p device=cuda]}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-XX:+UseParallelGC", "-Xmn64m"})
@Warmup(iterations = 5)
@Measurement(iterations = 10)
public class ModelBench {
    @Param({"infer64", "infer128", "infer256", "train"})
    public String work;

    @Param({"cpu"})
    public String device;

    private Device d;
    private Runnable body;

    @Setup
    public void setup() throws IOException {
        ModelTiming.checkCase(work);
        d = Device.of(device);
        ModelTiming.Plan plan = ModelTiming.Plan.full(List.of(work), 0, 1);
        SplittableRandom rng = new SplittableRandom(1);
        body = work.equals("train") ? ModelTiming.trainStep(d, plan, rng, null)
                : ModelTiming.inferenceCase(d, plan, ModelTiming.inferenceModel(d, plan, null),
                Integer.parseInt(work.substring("infer".length())), rng, null);
    }

    @Benchmark
    public void run() {
        try (MemoryScope s = MemoryScope.open()) {
            body.run();
            d.backend().synchronize();
        }
    }
}
