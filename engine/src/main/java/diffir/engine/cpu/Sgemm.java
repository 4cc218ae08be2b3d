package diffir.engine.cpu;

import static diffir.engine.cpu.GemmKernel.MR;
import static diffir.engine.cpu.GemmKernel.NR;

/**
 * Blocked, packed, multi-threaded SGEMM over {@link LeftOperand}s and {@link RightOperand}s (GotoBLAS loop order):
 * for each NC-wide column block and KC-deep slice of K, pack the B panel (KC x NC, NR-wide slivers);
 * for each MC-high row block pack the A block (MC x KC, MR-high slivers); then run the
 * {@link GemmKernel} over every MR x NR tile. The B sliver stays in L1, the A block in L2.
 *
 * <p>Threads take whole tiles of C (matrix of the batch, row range, column range), so no two threads
 * ever write the same element. The exception is a small C with a long K (attention Grams, weight
 * gradients summed over a batch): there, splitting C would make every thread pack all of one
 * operand, so the threads split K instead and their partial products are added at the end. Pack
 * buffers are per thread and reused.
 */
final class Sgemm {
    private Sgemm() {}

    static final int KC = 256;
    static final int MC = 144;
    static final int NC = 3072;
    /** Below this many flops a GEMM runs on the calling thread: forking would cost more than it saves. */
    static final long PARALLEL_FLOPS = 1L << 18;
    /**
     * A tile whose A takes at most this many packed floats (half of L2) packs A once for all of K and
     * streams B through in NC_RESIDENT-wide panels: with few rows, each B sliver feeds only a few
     * micro-kernel calls, so it is best used from L1/L2 right after packing instead of from a large
     * panel in L3 (5-10% on DiffIR's 1x1 and 3x3 convolutions).
     */
    static final int A_RESIDENT = 128 * 1024;
    static final int NC_RESIDENT = 8 * NR;
    /** A C of at most this many elements with K of at least SPLIT_K is computed in K slices, one per thread. */
    static final int SPLIT_C = 128 * 128, SPLIT_K = 8 * KC;

    private static final class Scratch {
        float[] a = new float[0], b = new float[0];
        final float[] tile = new float[MR * NR];

        float[] a(int n) {
            if (a.length < n) a = new float[n];
            return a;
        }

        float[] b(int n) {
            if (b.length < n) b = new float[n];
            return b;
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /**
     * For every matrix b of the batch: C_b = alpha * A_b B_b + beta * C_b, where A_b is m x k (operand
     * a, j = row), B_b is k x n (operand b, j = column) and C_b is row-major with row stride ldc starting
     * at {@code c[cb.at(b)]}. beta = 0 ignores C's old contents, even NaN.
     */
    static void gemm(int batch, int m, int n, int k, LeftOperand a, RightOperand b, float alpha, float beta,
                     float[] c, BatchOffsets cb, int ldc) {
        if (batch <= 0 || m <= 0 || n <= 0) return;
        if (k == 0) {
            scaleC(batch, m, n, beta, c, cb, ldc);
            return;
        }
        int rowParts = 1, colParts = 1;
        int threads = Parallel.THREADS;
        long flops = 2L * batch * m * n * k;
        if (threads > 1 && flops >= PARALLEL_FLOPS && batch % threads != 0 && (long) m * n <= SPLIT_C && k >= SPLIT_K) {
            gemmSplitK(threads, batch, m, n, k, a, b, alpha, beta, c, cb, ldc);
            return;
        }
        if (threads > 1 && flops >= PARALLEL_FLOPS && batch % threads != 0) {
            // Cut every matrix into `threads` parts, so batch*threads tasks share out evenly: along N when
            // each part still gets a couple of slivers, else along M.
            int colSlivers = ceilDiv(n, NR), rowSlivers = ceilDiv(m, MR);
            if (colSlivers >= 2 * threads) colParts = threads;
            else if (rowSlivers >= threads) rowParts = threads;
            else if (colSlivers >= threads) colParts = threads;
        }
        int rowStep = roundUp(ceilDiv(m, rowParts), MR), colStep = roundUp(ceilDiv(n, colParts), NR);
        int rp = rowParts, cp = colParts, tasks = batch * rp * cp;
        Parallel.range(tasks, flops >= PARALLEL_FLOPS ? 1 : tasks, (from, to) -> {
            Scratch s = SCRATCH.get();
            for (int t = from; t < to; t++) {
                int bi = t / (rp * cp), r = (t / cp) % rp, q = t % cp;
                int i0 = r * rowStep, i1 = Math.min(m, i0 + rowStep);
                int j0 = q * colStep, j1 = Math.min(n, j0 + colStep);
                if (i0 < i1 && j0 < j1)
                    tile(s, bi, i0, i1, j0, j1, 0, k, a, b, alpha, beta, c, Math.toIntExact(cb.at(bi)), ldc);
            }
        });
    }

    /** Each of `parts` threads computes alpha * A B over its slice of K into its own buffer; then C = sum + beta*C. */
    private static void gemmSplitK(int parts, int batch, int m, int n, int k, LeftOperand a, RightOperand b,
                                   float alpha, float beta, float[] c, BatchOffsets cb, int ldc) {
        float[][] partial = new float[parts][m * n];
        for (int bi = 0; bi < batch; bi++) {
            int matrix = bi;
            Parallel.range(parts, 1, (from, to) -> {
                Scratch s = SCRATCH.get();
                for (int p = from; p < to; p++) {
                    int k0 = (int) ((long) k * p / parts), k1 = (int) ((long) k * (p + 1) / parts);
                    tile(s, matrix, 0, m, 0, n, k0, k1, a, b, alpha, 0f, partial[p], 0, n);
                }
            });
            int base = Math.toIntExact(cb.at(bi));
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++) {
                    float sum = 0f;
                    for (float[] part : partial) sum += part[i * n + j];
                    int ci = base + i * ldc + j;
                    c[ci] = beta == 0f ? sum : sum + beta * c[ci];
                }
        }
    }

    /** C rows [i0, i1) x columns [j0, j1) of matrix bi, from the products over k in [k0, k1). */
    private static void tile(Scratch s, int bi, int i0, int i1, int j0, int j1, int k0, int k1, LeftOperand a,
                             RightOperand b, float alpha, float beta, float[] c, int cBase, int ldc) {
        int kBlocks = ceilDiv(k1 - k0, KC), kcStep = ceilDiv(k1 - k0, kBlocks);
        int rows = roundUp(i1 - i0, MR);
        if ((long) rows * (k1 - k0) <= A_RESIDENT) {
            // All of A packed once, k-block after k-block; then B in narrow panels.
            float[] ap = s.a(rows * (k1 - k0));
            for (int pc = k0; pc < k1; pc += kcStep) {
                int kc = Math.min(kcStep, k1 - pc), base = (pc - k0) * rows;
                for (int ir = 0; ir < i1 - i0; ir += MR)
                    a.packRows(bi, pc, kc, i0 + ir, Math.min(MR, i1 - i0 - ir), MR, alpha, ap, base + ir * kc);
            }
            for (int jc = j0; jc < j1; jc += NC_RESIDENT) {
                int nc = Math.min(NC_RESIDENT, j1 - jc);
                for (int pc = k0; pc < k1; pc += kcStep) {
                    int kc = Math.min(kcStep, k1 - pc);
                    float[] bp = s.b(kc * roundUp(nc, NR));
                    b.packPanel(bi, pc, kc, jc, nc, bp);
                    macroRowsOuter(kc, i1 - i0, nc, ap, (pc - k0) * rows, bp, c, cBase + i0 * ldc + jc, ldc,
                            pc == k0 ? beta : 1f, s.tile);
                }
            }
            return;
        }
        int mBlocks = ceilDiv(i1 - i0, MC), mcStep = roundUp(ceilDiv(i1 - i0, mBlocks), MR);
        for (int jc = j0; jc < j1; jc += NC) {
            int nc = Math.min(NC, j1 - jc);
            for (int pc = k0; pc < k1; pc += kcStep) {
                int kc = Math.min(kcStep, k1 - pc);
                float[] bp = s.b(kc * roundUp(nc, NR));
                b.packPanel(bi, pc, kc, jc, nc, bp);
                float betaNow = pc == k0 ? beta : 1f;
                for (int ic = i0; ic < i1; ic += mcStep) {
                    int mc = Math.min(mcStep, i1 - ic);
                    float[] ap = s.a(kc * roundUp(mc, MR));
                    for (int ir = 0; ir < mc; ir += MR)
                        a.packRows(bi, pc, kc, ic + ir, Math.min(MR, mc - ir), MR, alpha, ap, ir * kc);
                    macro(kc, mc, nc, ap, 0, bp, c, cBase + ic * ldc + jc, ldc, betaNow, s.tile);
                }
            }
        }
    }

    /**
     * {@link #macro} with the rows outermost, for a B panel small enough to stay in L1/L2: C is then
     * written a few rows at a time in long runs, which the prefetchers follow (memory-bound 1x1
     * convolutions, whose C rows are a whole image plane apart, gained about 15%).
     */
    private static void macroRowsOuter(int kc, int mc, int nc, float[] ap, int aBase, float[] bp, float[] c, int co,
                                       int ldc, float beta, float[] tile) {
        for (int ir = 0; ir < mc; ir += MR) {
            int mr = Math.min(MR, mc - ir), ao = aBase + ir * kc;
            for (int jr = 0; jr < nc; jr += NR)
                GemmKernel.block(kc, ap, ao, kc, bp, jr * kc, c, co + ir * ldc + jr, ldc, beta, mr, Math.min(NR, nc - jr), tile);
        }
    }

    /**
     * All MR x NR tiles of an mc x nc block of C from packed A (mc x kc, at ap[aBase]) and B (kc x nc):
     * each B sliver stays in L1 while the A block streams past it from L2.
     */
    private static void macro(int kc, int mc, int nc, float[] ap, int aBase, float[] bp, float[] c, int co, int ldc,
                              float beta, float[] tile) {
        for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr), bo = jr * kc;
            for (int ir = 0; ir < mc; ir += MR) {
                int mr = Math.min(MR, mc - ir), ao = aBase + ir * kc;
                int ci = co + ir * ldc + jr;
                GemmKernel.block(kc, ap, ao, kc, bp, bo, c, ci, ldc, beta, mr, nr, tile);
            }
        }
    }

    /** C = beta * C (a GEMM with k = 0). */
    private static void scaleC(int batch, int m, int n, float beta, float[] c, BatchOffsets cb, int ldc) {
        for (int bi = 0; bi < batch; bi++) {
            int base = Math.toIntExact(cb.at(bi));
            for (int i = 0; i < m; i++) {
                int o = base + i * ldc;
                if (beta == 0f) java.util.Arrays.fill(c, o, o + n, 0f);
                else for (int j = 0; j < n; j++) c[o + j] *= beta;
            }
        }
    }

    static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
    }

    static int roundUp(int a, int b) {
        return ceilDiv(a, b) * b;
    }
}
