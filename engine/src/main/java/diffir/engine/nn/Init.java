package diffir.engine.nn;

import diffir.engine.Device;
import diffir.engine.Tensor;

import java.util.SplittableRandom;

/**
 * Where and how new parameters are made: the device they live on and the seeded generator their
 * initial values come from. Passed to every layer constructor.
 */
public record Init(Device device, SplittableRandom rng) {
    public static Init cpu(long seed) {
        return new Init(Device.CPU, new SplittableRandom(seed));
    }

    public static Init on(Device device, long seed) {
        return new Init(device, new SplittableRandom(seed));
    }

    /** Uniform in [-bound, bound). */
    public Tensor uniform(float bound, int... shape) {
        return Tensor.rand(device, rng, -bound, bound, shape);
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
