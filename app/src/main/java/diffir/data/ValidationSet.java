package diffir.data;

import java.io.IOException;

/**
 * Fixed validation pairs: a centred crop of each image, or the whole image (crop <= 0). Synthetic
 * degradations are drawn from {@code Seeds.rng(seed, index)}, so every evaluation sees the same
 * inputs. Pairs are made on demand and not kept.
 */
public final class ValidationSet {
    private final PairSource source;
    private final int crop;
    private final long seed;

    public ValidationSet(PairSource source, int crop, long seed) {
        this.source = source;
        this.crop = crop;
        this.seed = seed;
    }

    public int size() {
        return source.size();
    }

    public String name(int index) {
        return source.name(index);
    }

    public LqGt get(int index) throws IOException {
        if (index < 0 || index >= size()) throw new IndexOutOfBoundsException("validation pair " + index + " of " + size());
        return source.fixed(index, crop, Seeds.rng(seed, index));
    }
}
