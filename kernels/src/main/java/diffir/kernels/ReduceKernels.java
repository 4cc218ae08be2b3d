package diffir.kernels;

import diffir.engine.Shapes;
import diffir.engine.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * Glue for reduce.cu. The input's axes are grouped into runs of reduced and kept axes; each pass sums
 * the innermost reduced run, seen as [outer, len, inner] -> [outer, inner], until none is left. A pass
 * with too little parallelism splits len into chunks and adds the partial sums in one more pass.
 */
final class ReduceKernels {
    private ReduceKernels() {}

    /** Below this row length one thread per output beats a warp per output. */
    private static final int SHORT_ROW = 64;

    static void sum(CudaBackend b, Tensor a, Tensor out) {
        int[] as = a.shape(), os = out.shape();
        if (as.length != os.length) throw new IllegalArgumentException("sum: ranks differ " + Shapes.str(as) + " -> " + Shapes.str(os));
        for (int i = 0; i < as.length; i++)
            if (os[i] != as[i] && os[i] != 1) throw new IllegalArgumentException("sum: " + Shapes.str(as) + " -> " + Shapes.str(os));
        if (out.numel() == 0) return;
        if (a.numel() == 0) {
            b.fill(out, 0f);
            return;
        }
        // Runs of reduced / kept axes (size-1 axes dropped), innermost last.
        List<long[]> runs = new ArrayList<>(); // {size, reduced ? 1 : 0}
        for (int i = 0; i < as.length; i++) {
            if (as[i] == 1) continue;
            long red = os[i] == 1 ? 1 : 0;
            if (!runs.isEmpty() && runs.getLast()[1] == red) runs.getLast()[0] *= as[i];
            else runs.add(new long[]{as[i], red});
        }
        if (runs.stream().noneMatch(r -> r[1] == 1)) { // nothing to reduce: a copy
            b.api().copy(b.ptr(out), b.ptr(a), 4 * a.numel());
            java.lang.ref.Reference.reachabilityFence(a);
            java.lang.ref.Reference.reachabilityFence(out);
            return;
        }
        Tensor in = a;
        while (true) {
            int j = -1;
            for (int i = 0; i < runs.size(); i++) if (runs.get(i)[1] == 1) j = i;
            if (j < 0) break;
            long outer = 1, inner = 1;
            for (int i = 0; i < j; i++) outer *= runs.get(i)[0];
            for (int i = j + 1; i < runs.size(); i++) inner *= runs.get(i)[0];
            boolean last = true;
            for (int i = 0; i < j; i++) if (runs.get(i)[1] == 1) last = false;
            Tensor dst = last ? out : b.scratch(Math.toIntExact(outer * inner));
            pass(b, in, dst, (int) outer, (int) runs.get(j)[0], (int) inner);
            in = dst;
            runs.remove(j);
            // The kept runs on either side of the removed one are now adjacent: merge them.
            if (j > 0 && j < runs.size() && runs.get(j - 1)[1] == 0 && runs.get(j)[1] == 0) {
                runs.get(j - 1)[0] *= runs.get(j)[0];
                runs.remove(j);
            }
        }
    }

    /** out[o][i] = sum over r of in[o][r][i]. */
    static void pass(CudaBackend b, Tensor in, Tensor out, int outer, int len, int inner) {
        int sms = b.multiprocessors();
        if (inner == 1 && len >= SHORT_ROW) {
            rows(b, in, out, outer, len);
            return;
        }
        long threads = (long) outer * inner;
        int splits = 1;
        long wanted = 1024L * sms; // threads that keep every SM busy
        if (threads < wanted && len >= 64) splits = (int) Math.min(Math.min((wanted + threads - 1) / threads, len / 32), 4096);
        splits = Math.max(1, splits);
        int chunk = (len + splits - 1) / splits;
        splits = (len + chunk - 1) / chunk;
        Tensor dst = splits == 1 ? out : b.scratch(Math.toIntExact((long) outer * splits * inner));
        b.launch("reduce_cols", Dim3.of(Dim3.blocks(threads, CudaBackend.THREADS), splits), CudaBackend.block(), 0,
                in, dst, outer, len, inner, chunk);
        if (splits > 1) pass(b, dst, out, outer, splits, inner);
    }

    /** Sums of contiguous rows: a warp per row when rows are many, else blocks over row chunks. */
    private static void rows(CudaBackend b, Tensor in, Tensor out, int rows, int len) {
        int sms = b.multiprocessors();
        int warpsPerBlock = CudaBackend.THREADS / 32;
        if ((long) rows >= 16L * sms || len <= 2048) {
            b.launch("reduce_rows_warp", Dim3.of(Dim3.blocks(rows, warpsPerBlock)), CudaBackend.block(), 0, in, out, rows, len);
            return;
        }
        // Few long rows: split them so that the grid fills every SM's resident blocks once, each
        // block summing a chunk of at least 2048.
        long slots = (long) b.residentBlocks("reduce_rows_block", CudaBackend.THREADS) * sms;
        long splits = Math.max(1, Math.min(Math.max(1, slots / rows), (len + 2047) / 2048));
        int chunk = (int) ((len + splits - 1) / splits + 3) & ~3; // a multiple of 4: the kernel may read float4s
        int parts = (len + chunk - 1) / chunk;
        if (parts == 1) {
            b.launch("reduce_rows_block", Dim3.of(rows), CudaBackend.block(), 0, in, out, rows, len, chunk);
            return;
        }
        Tensor partial = b.scratch(Math.toIntExact((long) rows * parts));
        b.launch("reduce_rows_block", Dim3.of(Math.toIntExact((long) rows * parts)), CudaBackend.block(), 0, in, partial, rows, len, chunk);
        pass(b, partial, out, rows, parts, 1);
    }
}
