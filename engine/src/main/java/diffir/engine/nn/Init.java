package diffir.engine.nn;

import diffir.engine.Device;
import diffir.engine.Tensor;

import java.util.SplittableRandom;

/**
 * Where and how new parameters are made: the device they live on and the seeded generator their
 * initial values come from. Passed to every layer constructor. Without a generator
 * ({@link #forLoading}) random parameters start at zero: for a network whose every parameter a strict
 * state-dict load overwrites next, which then costs neither the random draws nor their garbage.
 */
public record Init(Device device, SplittableRandom rng) {
    public static Init cpu(long seed) {
        return new Init(Device.CPU, new SplittableRandom(seed));
    }

    public static Init on(Device device, long seed) {
        return new Init(device, new SplittableRandom(seed));
    }

    /** Parameters to be overwritten by a strict load: what would be random is zero. */
    public static Init forLoading(Device device) {
        return new Init(device, null);
    }

    /** Uniform in [-bound, bound) (zero without a generator). */
    public Tensor uniform(float bound, int... shape) {
        return rng == null ? Tensor.zeros(device, shape) : Tensor.rand(device, rng, -bound, bound, shape);
    }

    /**
     * PyTorch's {@code kaiming_uniform_(w, a)} with fan_in mode and leaky-ReLU gain:
     * U(-b, b) with b = sqrt(3) * sqrt(2 / (1 + a^2)) / sqrt(fanIn). With a = sqrt(5), the default of
     * Conv2d and Linear weights, b = 1/sqrt(fanIn).
     */
    public Tensor kaimingUniform(int fanIn, double a, int... shape) {
        return uniform((float) kaimingUniformBound(fanIn, a), shape);
    }

    public static double kaimingUniformBound(int fanIn, double a) {
        if (fanIn <= 0) throw new IllegalArgumentException("kaiming init needs fan_in > 0, got " + fanIn);
        double gain = Math.sqrt(2.0 / (1 + a * a));
        return Math.sqrt(3.0) * gain / Math.sqrt(fanIn);
    }

    /** PyTorch's default bias of Conv2d and Linear: U(-1/sqrt(fanIn), 1/sqrt(fanIn)). */
    public Tensor fanInUniform(int fanIn, int... shape) {
        if (fanIn <= 0) throw new IllegalArgumentException("fan-in init needs fan_in > 0, got " + fanIn);
        return uniform((float) (1 / Math.sqrt(fanIn)), shape);
    }

    public Tensor zeros(int... shape) {
        return Tensor.zeros(device, shape);
    }

    public Tensor ones(int... shape) {
        return Tensor.ones(device, shape);
    }

    public Tensor full(float v, int... shape) {
        return Tensor.full(device, v, shape);
    }
}
