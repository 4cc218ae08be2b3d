package diffir.engine.cpu;

import diffir.engine.Tensor;

import static diffir.engine.cpu.CpuBackend.data;

/** Batched SGEMM. (Plain loops for now; a blocked Vector API kernel replaces them.) */
final class CpuGemm {
    private CpuGemm() {}

    static void matmul(Tensor a, Tensor b, Tensor out, boolean transA, boolean transB, float alpha, float beta) {
        int[] as = a.shape(), bs = b.shape(), os = out.shape();
        int m = os[os.length - 2], n = os[os.length - 1];
        int k = transA ? as[as.length - 2] : as[as.length - 1];
        long batch = out.numel() / ((long) m * n);
        long batchA = a.numel() / ((long) m * k), batchB = b.numel() / ((long) k * n);
        float[] A = data(a), B = data(b), C = data(out);
        long ao = a.offset(), bo = b.offset(), co = out.offset();
        Parallel.range(Math.toIntExact(batch * m), 1, (f, t) -> {
            for (int row = f; row < t; row++) {
                int bi = row / m, i = row % m;
                long aBase = ao + (batchA == 1 ? 0 : (long) bi * m * k);
                long bBase = bo + (batchB == 1 ? 0 : (long) bi * k * n);
                long cBase = co + (long) bi * m * n + (long) i * n;
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        float av = transA ? A[(int) (aBase + (long) p * m + i)] : A[(int) (aBase + (long) i * k + p)];
                        float bv = transB ? B[(int) (bBase + (long) j * k + p)] : B[(int) (bBase + (long) p * n + j)];
                        s += av * bv;
                    }
                    int ci = (int) (cBase + j);
                    C[ci] = (float) (alpha * s + (beta == 0 ? 0 : beta * C[ci]));
                }
            }
        });
    }
}
