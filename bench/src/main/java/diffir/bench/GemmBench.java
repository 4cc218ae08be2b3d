package diffir.bench;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.backend.Backend;
import org.openjdk.jmh.annotations.*;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * CPU SGEMM throughput, reported as the {@code gflop} counter (GFLOP/s). Shapes "MxNxK", optionally
 * ":NT"/":TN"/":TT" (transposed operands) and ":bB" (batch B). The DiffIR shapes are its 1x1
 * convolutions (M = out channels, K = in channels, N = pixels), and its attention Grams (48 x 48
 * with K = pixels).
 *
 * <p>{@code java -jar bench/target/benchmarks.jar GemmBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC", "-Xmx4g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 4, time = 1)
public class GemmBench {
    @Param({"256x256x256", "512x512x512", "1024x1024x1024", "2048x2048x2048",
            "144x65536x48", "48x65536x96", "48x65536x144:TN", "288x16384x96", "1152x1024x384",
            "48x48x65536:NT", "48x48x1024:NT:b8"})
    public String shape;

    private Backend backend;
    private Tensor a, b, out;
    private boolean transA, transB;
    private double gflopPerCall;

    @Setup
    public void setup() {
        String[] parts = shape.split(":");
        String[] mnk = parts[0].split("x");
        int m = Integer.parseInt(mnk[0]), n = Integer.parseInt(mnk[1]), k = Integer.parseInt(mnk[2]);
        int batch = 1;
        for (int i = 1; i < parts.length; i++) {
            if (parts[i].startsWith("b")) batch = Integer.parseInt(parts[i].substring(1));
            else {
                transA = parts[i].charAt(0) == 'T';
                transB = parts[i].charAt(1) == 'T';
            }
        }
        SplittableRandom rng = new SplittableRandom(1);
        a = Tensor.randn(Device.CPU, rng, batch, transA ? k : m, transA ? m : k);
        b = Tensor.randn(Device.CPU, rng, batch, transB ? n : k, transB ? k : n);
        out = Tensor.empty(Device.CPU, batch, m, n);
        backend = Device.CPU.backend();
        gflopPerCall = 2.0 * batch * m * n * k / 1e9;
    }

    @Benchmark
    public void matmul(Flops flops) {
        backend.matmul(a, b, out, transA, transB, 1f, 0f);
        flops.gflop += gflopPerCall;
    }

    /** GFLOP done, which JMH reports as a rate: GFLOP/s. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Flops {
        public double gflop;

        @Setup(Level.Iteration)
        public void reset() {
            gflop = 0;
        }
    }
}
