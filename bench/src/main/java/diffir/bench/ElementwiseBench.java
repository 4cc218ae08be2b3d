package diffir.bench;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.backend.Backend;
import diffir.engine.backend.BinaryOp;
import diffir.engine.backend.ScalarOp;
import diffir.engine.backend.UnaryOp;
import org.openjdk.jmh.annotations.*;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The CPU elementwise kernels on DiffIR-sized activations (N=2, C=48, side x side): a same-shape add,
 * a per-channel broadcast add (the modulation and bias pattern), a tensor-scalar multiply, LeakyReLU,
 * exp, sigmoid, exact GELU and its backward. Time per call.
 *
 * <p>{@code java -jar bench/target/benchmarks.jar ElementwiseBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-XX:+UseParallelGC", "-Xmx2g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 4, time = 1)
public class ElementwiseBench {
    @Param({"add", "add_bcast", "mul_scalar", "leaky_relu", "exp", "sigmoid", "gelu", "gelu_backward"})
    public String op;

    @Param({"64", "256"})
    public int side;

    private Backend backend;
    private Tensor a, b, channel, out;

    @Setup
    public void setup() {
        SplittableRandom rng = new SplittableRandom(1);
        a = Tensor.randn(Device.CPU, rng, 2, 48, side, side);
        b = Tensor.randn(Device.CPU, rng, 2, 48, side, side);
        channel = Tensor.randn(Device.CPU, rng, 2, 48, 1, 1);
        out = Tensor.empty(Device.CPU, 2, 48, side, side);
        backend = Device.CPU.backend();
    }

    @Benchmark
    public Tensor run() {
        switch (op) {
            case "add" -> backend.binary(BinaryOp.ADD, a, b, out);
            case "add_bcast" -> backend.binary(BinaryOp.ADD, a, channel, out);
            case "mul_scalar" -> backend.scalar(ScalarOp.MUL, a, 0.5f, out);
            case "leaky_relu" -> backend.unary(UnaryOp.LEAKY_RELU, a, 0.1f, out);
            case "exp" -> backend.unary(UnaryOp.EXP, a, 0f, out);
            case "sigmoid" -> backend.unary(UnaryOp.SIGMOID, a, 0f, out);
            case "gelu" -> backend.unary(UnaryOp.GELU, a, 0f, out);
            case "gelu_backward" -> backend.unaryBackward(UnaryOp.GELU, a, a, b, 0f, out);
            default -> throw new IllegalArgumentException("unknown op " + op);
        }
        return out;
    }
}
