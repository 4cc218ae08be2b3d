package diffir.bench;

import diffir.engine.Device;
import diffir.engine.MemoryScope;
import org.openjdk.jmh.annotations.*;

import java.io.IOException;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The whole model on the CPU, as {@link ModelTiming} and bench/compare-torch time it: S2 inference of the
 * GoPro config (random weights) at 64, 128 and 256 px, and one S2 training step of the small config (batch
 * 4 of 64 x 64, backward and Adam). Each call in its own MemoryScope. Single-shot: a call is long enough
 * (0.1 to 2 s) to be timed alone.
 *
 * <p>{@code java -jar bench/target/benchmarks.jar ModelBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC", "-Xmn64m"})
@Warmup(iterations = 5)
@Measurement(iterations = 10)
public class ModelBench {
    @Param({"infer64", "infer128", "infer256", "train"})
    public String work;

    private Runnable body;

    @Setup
    public void setup() throws IOException {
        ModelTiming.Plan plan = ModelTiming.Plan.full(List.of(work), 0, 1);
        SplittableRandom rng = new SplittableRandom(1);
        body = work.equals("train") ? ModelTiming.trainStep(Device.CPU, plan, rng, null)
                : ModelTiming.inferenceCase(Device.CPU, plan, ModelTiming.inferenceModel(Device.CPU, plan, null),
                Integer.parseInt(work.substring("infer".length())), rng, null);
    }

    @Benchmark
    public void run() {
        try (MemoryScope s = MemoryScope.open()) {
            body.run();
        }
    }
}
