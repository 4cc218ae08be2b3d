package diffir.data;

import diffir.image.Image;

import java.util.SplittableRandom;

/** Synthesises a degraded input from a ground-truth image; all randomness comes from rng. */
@FunctionalInterface
public interface Degradation {
    LqGt apply(Image gt, SplittableRandom rng);
}
