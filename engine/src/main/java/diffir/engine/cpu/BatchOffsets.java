package diffir.engine.cpu;

/**
 * Where matrix number b of a batch starts in its array, for batches with up to two levels: b splits
 * into (outer, inner) = (b / inner, b % inner), e.g. (image, group) of a grouped convolution.
 * A stride of 0 shares one matrix across that level.
 */
record BatchOffsets(long offset, int inner, long innerStride, long outerStride) {
    BatchOffsets {
        if (inner < 1) throw new IllegalArgumentException("inner batch size " + inner);
    }

    /** One level: matrix b at offset + b*stride. */
    static BatchOffsets of(long offset, long stride) {
        return new BatchOffsets(offset, 1, 0, stride);
    }

    long at(int b) {
        return offset + (long) (b / inner) * outerStride + (long) (b % inner) * innerStride;
    }
}
