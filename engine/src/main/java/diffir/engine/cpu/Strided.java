package diffir.engine.cpu;

/**
 * Walks an index space given by a shape and one stride array per operand, calling a kernel once per
 * innermost row with each operand's start offset. Axes that are contiguous for every operand are
 * merged first, so rows are as long as the layout allows. Rows are spread over the cores.
 */
final class Strided {
    private Strided() {}

    @FunctionalInterface
    interface Row {
        /** One row of {@code len} elements; offsets[k] is operand k's first element, steps[k] its stride. */
        void run(long[] offsets, long[] steps, int len);
    }

    /** Collapsed geometry: shape and per-operand strides with mergeable axes joined. */
    static final class Plan {
        final int[] shape;
        final long[][] strides;

        Plan(int[] shape, long[][] strides) {
            this.shape = shape;
            this.strides = strides;
        }
    }

    static Plan plan(int[] shape, long[]... strides) {
        int r = shape.length, k = strides.length;
        int[] s = new int[Math.max(r, 1)];
        long[][] st = new long[k][Math.max(r, 1)];
        int n = 0;
        for (int i = 0; i < r; i++) {
            if (shape[i] == 1) continue; // size-1 axes never move
            boolean merge = n > 0;
            for (int j = 0; merge && j < k; j++) merge = st[j][n - 1] == strides[j][i] * shape[i];
            if (merge) {
                s[n - 1] *= shape[i];
                for (int j = 0; j < k; j++) st[j][n - 1] = strides[j][i];
            } else {
                s[n] = shape[i];
                for (int j = 0; j < k; j++) st[j][n] = strides[j][i];
                n++;
            }
        }
        if (n == 0) { // a single element
            s[0] = 1;
            n = 1;
            for (int j = 0; j < k; j++) st[j][0] = 0;
        }
        int[] fs = java.util.Arrays.copyOf(s, n);
        long[][] fst = new long[k][];
        for (int j = 0; j < k; j++) fst[j] = java.util.Arrays.copyOf(st[j], n);
        return new Plan(fs, fst);
    }

    /** Runs row over the whole space; base[k] is operand k's starting offset. */
    static void forEachRow(Plan p, long[] base, Row row) {
        int r = p.shape.length, k = base.length;
        int len = p.shape[r - 1];
        long rows = 1;
        for (int i = 0; i < r - 1; i++) rows *= p.shape[i];
        long[] steps = new long[k];
        for (int j = 0; j < k; j++) steps[j] = p.strides[j][r - 1];
        int rowCount = Math.toIntExact(rows);
        int minChunk = Math.max(1, 16384 / Math.max(1, len));
        Parallel.range(rowCount, minChunk, (from, to) -> {
            long[] off = new long[k];
            int[] idx = new int[r - 1];
            // Position the odometer at row `from`.
            long rem = from;
            for (int i = r - 2; i >= 0; i--) {
                idx[i] = (int) (rem % p.shape[i]);
                rem /= p.shape[i];
            }
            for (int j = 0; j < k; j++) {
                long o = base[j];
                for (int i = 0; i < r - 1; i++) o += idx[i] * p.strides[j][i];
                off[j] = o;
            }
            for (int rIdx = from; rIdx < to; rIdx++) {
                row.run(off, steps, len);
                // Advance the odometer by one row.
                for (int i = r - 2; i >= 0; i--) {
                    idx[i]++;
                    for (int j = 0; j < k; j++) off[j] += p.strides[j][i];
                    if (idx[i] < p.shape[i]) break;
                    for (int j = 0; j < k; j++) off[j] -= p.strides[j][i] * p.shape[i];
                    idx[i] = 0;
                }
            }
        });
    }
}
