package diffir.data;

import diffir.engine.cpu.Parallel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The training stream: batch k is a pure function of (seed, k, batch size, patch size). Sample i of
 * step k draws everything (which image, where to crop, the degradation, the flips) from its own
 * generator {@code Seeds.rng(seed, k, i)}, so batches are built in parallel, any step can be
 * rebuilt alone, and a run resumed at step k sees exactly the batches it would have seen.
 * Images are drawn uniformly with replacement.
 */
public final class TrainingSet {
    private final PairSource source;
    private final long seed;
    private final boolean augment;
    private final Set<Integer> checkedPatches = ConcurrentHashMap.newKeySet();

    public TrainingSet(PairSource source, long seed, boolean augment) {
        this.source = source;
        this.seed = seed;
        this.augment = augment;
    }

    public PairSource source() {
        return source;
    }

    /** The batch of a step: batchSize pairs of GT patch x patch (LQ patch/scale). */
    public Batch batch(long step, int batchSize, int patch) throws IOException {
        if (batchSize <= 0) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        if (step < 0) throw new IllegalArgumentException("step must be >= 0, got " + step);
        if (!checkedPatches.contains(patch)) {
            source.checkPatch(patch); // every image, once per patch size: a too-small one is named before training starts
            checkedPatches.add(patch);
        }
        LqGt[] pairs = new LqGt[batchSize];
        try {
            Parallel.each(batchSize, i -> pairs[i] = sample(step, i, patch));
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
        return Batch.of(Arrays.asList(pairs));
    }

    private LqGt sample(long step, int i, int patch) {
        SplittableRandom rng = Seeds.rng(seed, step, i);
        int index = rng.nextInt(source.size());
        try {
            LqGt p = source.randomPatch(index, patch, rng);
            return augment ? Augment.apply(p, rng) : p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Batches of steps fromStep, fromStep+1, ... (endless); resuming at step k continues exactly. */
    public Iterator<Batch> stream(long fromStep, int batchSize, int patch) {
        return new Iterator<>() {
            long step = fromStep;

            @Override
            public boolean hasNext() {
                return true;
            }

            @Override
            public Batch next() {
                if (step == Long.MAX_VALUE) throw new NoSuchElementException();
                try {
                    return batch(step++, batchSize, patch);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        };
    }
}
