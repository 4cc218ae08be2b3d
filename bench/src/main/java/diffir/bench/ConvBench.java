package diffir.bench;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.backend.Backend;
import diffir.engine.backend.ConvSpec;
import org.openjdk.jmh.annotations.*;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * CPU conv2d throughput on DIRformer level-1 shapes (48 channels, one image of 128x128 or 256x256),
 * forward and both backward passes, reported as the {@code gflop} counter (GFLOP/s, counting
 * 2*N*O*OH*OW*(C/groups)*KH*KW per pass).
 *
 * <p>{@code java -jar bench/target/benchmarks.jar ConvBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC", "-Xmx4g"})
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
public class ConvBench {
    @Param({"1x1", "3x3", "dw3x3"})
    public String kind;

    @Param({"128", "256"})
    public int size;

    @Param({"forward", "backwardInput", "backwardWeight"})
    public String pass;

    private static final int CHANNELS = 48;

    private Backend backend;
    private ConvSpec spec;
    private Tensor x, w, bias, out, gy, gx, gw;
    private double gflopPerCall;

    @Setup
    public void setup() {
        int k = kind.equals("1x1") ? 1 : 3;
        int groups = kind.startsWith("dw") ? CHANNELS : 1;
        spec = new ConvSpec(1, CHANNELS, size, size, CHANNELS, k, k, 1, 1, k / 2, k / 2, groups);
        SplittableRandom rng = new SplittableRandom(1);
        x = Tensor.randn(Device.CPU, rng, 1, CHANNELS, size, size);
        w = Tensor.randn(Device.CPU, rng, CHANNELS, CHANNELS / groups, k, k);
        bias = null;
        out = Tensor.empty(Device.CPU, 1, CHANNELS, spec.outH(), spec.outW());
        gy = Tensor.randn(Device.CPU, rng, out.shape());
        gx = Tensor.empty(Device.CPU, x.shape());
        gw = Tensor.empty(Device.CPU, w.shape());
        backend = Device.CPU.backend();
        gflopPerCall = spec.flops() / 1e9;
    }

    @Benchmark
    public void conv(GemmBench.Flops flops) {
        switch (pass) {
            case "forward" -> backend.conv2d(x, w, bias, spec, out);
            case "backwardInput" -> backend.conv2dBackwardInput(gy, w, spec, gx);
            case "backwardWeight" -> backend.conv2dBackwardWeight(x, gy, spec, gw);
            default -> throw new IllegalArgumentException("pass " + pass);
        }
        flops.gflop += gflopPerCall;
    }
}
