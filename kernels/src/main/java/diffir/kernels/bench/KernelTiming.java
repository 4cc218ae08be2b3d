package diffir.kernels.bench;

import diffir.engine.Device;
import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.backend.AdamParams;
import diffir.engine.backend.BinaryOp;
import diffir.engine.backend.ConvSpec;
import diffir.engine.backend.UnaryOp;
import diffir.kernels.ConvKernels;
import diffir.kernels.CudaBackend;
import diffir.kernels.CudaDriver;
import jcuda.driver.CUevent;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Times the CUDA backend's kernels at DIRformer level-1 sizes (batch 4, C = 48, 256 x 256, GDFN hidden
 * 127, one attention head) with CUDA events: warm-up, then the median of many timed bursts over two
 * rotating input sets, on random data. A burst is {@code burst} calls queued back to back between two
 * events, and its time over {@code burst} is the op's time: the device time per call, without the
 * host's time to prepare and queue the first launch (which a single call between two events would
 * count, about 10-20 us per op on the first H100 check); the host's queueing time per call is
 * reported beside it. Each op's floor is the larger of (bytes it must move) / (measured
 * device-to-device bandwidth) and (flops) / (measured cuBLAS SGEMM rate); the table reports time,
 * achieved GB/s and the floor as a percentage of the time. Writes op,ms,bytes,flops,floor_ms,host_us
 * as CSV.
 *
 * <p>Usage: {@code KernelTiming [out.csv] [--fused]} ({@code --fused}: the ceilings and the fused ops
 * only); names match kernels/src/test/python/torch_eager_bench.py.
 */
public final class KernelTiming {
    /**
     * Batch, channels, height, width, GDFN hidden width, the ceiling measurements' sizes, warm-up calls,
     * timed bursts and calls per burst for each op.
     */
    record Sizes(int n, int c, int h, int w, int hidden, int copyFloats, int gemm, int warmup, int runs, int burst) {
        static final Sizes DIRFORMER_LEVEL1 = new Sizes(4, 48, 256, 256, (int) (48 * 2.66), 256 << 20, 4096, 20, 25, 10);
    }

    private final int N, C, H, W, HW, HIDDEN;
    private final Sizes sizes;
    private final CudaBackend b;
    private final Device d;
    private final Timer timer;
    private final SplittableRandom rng = new SplittableRandom(7);
    private final List<String[]> rows = new ArrayList<>();
    private final List<String> csv = new ArrayList<>();
    private double bandwidth, flopRate;

    KernelTiming(Device d, Sizes s) {
        this.d = d;
        this.sizes = s;
        this.b = (CudaBackend) d.backend();
        this.timer = b.api() instanceof CudaDriver driver ? new EventTimer(driver) : new HostTimer(b);
        N = s.n();
        C = s.c();
        H = s.h();
        W = s.w();
        HW = H * W;
        HIDDEN = s.hidden();
    }

    public static void main(String[] args) throws IOException {
        Device d = Device.cuda();
        System.out.println("device: " + d.backend().describe());
        KernelTiming t = new KernelTiming(d, Sizes.DIRFORMER_LEVEL1);
        if (List.of(args).contains("--fused")) t.runFused();
        else t.run();
        t.print();
        if (args.length > 0 && !args[0].startsWith("--"))
            diffir.engine.io.AtomicFiles.write(Path.of(args[0]), os -> os.write((String.join("\n", t.csv) + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    /** The CSV lines: op,ms,bytes,flops,floor_ms,host_us. */
    List<String> csv() {
        return csv;
    }

    /** The ceilings and the fused ops only (a quick A/B of fused kernel versions). */
    void runFused() {
        measureCeilings();
        fused();
    }

    void run() {
        measureCeilings();
        elementwise();
        reductionsAndRows();
        convolutions();
        fused();
        optimiser();
    }

    // ---------------------------------------------------------------- ceilings

    private void measureCeilings() {
        long n = sizes.copyFloats();
        Tensor src = Tensor.empty(d, (int) n), dst = Tensor.empty(d, (int) n);
        b.fill(src, 1.5f);
        int[] shape = {(int) n};
        long[] st = {1};
        double ms = median(() -> b.copyStrided(src, 0, st, dst, 0, st, shape), () -> {})[0];
        bandwidth = 2.0 * 4 * n / (ms * 1e-3);
        System.out.printf("device-to-device copy: %.3f ms for %d MiB -> %.0f GB/s (read + write)%n", ms, n >> 18, bandwidth / 1e9);
        int m = sizes.gemm();
        Tensor a = random(m, m), c = random(m, m), out = Tensor.empty(d, m, m);
        double gms = median(() -> b.matmul(a, c, out, false, false, 1f, 0f), () -> {})[0];
        flopRate = 2.0 * m * m * (double) m / (gms * 1e-3);
        System.out.printf("SGEMM %d^3 (TF32 off): %.3f ms -> %.1f TFLOP/s%n", m, gms, flopRate / 1e12);
        record("copy_d2d", ms, 2.0 * 4 * n, 0, 0);
        record("sgemm_" + m, gms, 3.0 * 4 * m * m, 2.0 * m * m * (double) m, 0);
    }

    // ---------------------------------------------------------------- ops

    private void elementwise() {
        long n = (long) N * C * HW;
        Tensor[] x = {random(N, C, H, W), random(N, C, H, W)}, y = {random(N, C, H, W), random(N, C, H, W)};
        Tensor out = Tensor.empty(d, N, C, H, W);
        Tensor k = random(N, C, 1, 1);
        time("add", i -> b.binary(BinaryOp.ADD, x[i], y[i], out), 3.0 * 4 * n, 0);
        time("mul_bcast", i -> b.binary(BinaryOp.MUL, x[i], k, out), 2.0 * 4 * n, 0);
        time("gelu", i -> b.unary(UnaryOp.GELU, x[i], 0, out), 2.0 * 4 * n, 0);
        Tensor gx = Tensor.empty(d, N, C, H, W);
        time("gelu_bwd", i -> b.unaryBackward(UnaryOp.GELU, x[i], y[i], x[1 - i], 0, gx), 4.0 * 4 * n, 0);
        // pixel unshuffle by 2, as copyStrided does it for Ops.pixelUnshuffle
        int h = H / 2, w = W / 2;
        int[] space = {N, C, 2, 2, h, w};
        long[] src = {(long) C * HW, HW, W, 1, 2L * W, 2};
        long[] dstStrides = Shapes.strides(space);
        Tensor un = Tensor.empty(d, N, 4 * C, h, w);
        time("pixel_unshuffle", i -> b.copyStrided(x[i], 0, src, un, 0, dstStrides, space), 2.0 * 4 * n, 0);
    }

    private void reductionsAndRows() {
        long n = (long) N * C * HW;
        Tensor[] x = {random(N, C, H, W), random(N, C, H, W)};
        Tensor bias = Tensor.empty(d, 1, C, 1, 1);
        time("sum_bias_grad", i -> b.sum(x[i], bias), 4.0 * n, 0);
        Tensor rows = Tensor.empty(d, N, C, 1, 1);
        time("sum_hw", i -> b.sum(x[i], rows), 4.0 * n, 0);
        Tensor[] a = {random(N, C, C), random(N, C, C)};
        Tensor sm = Tensor.empty(d, N, C, C);
        time("softmax_48", i -> b.softmax(a[i], false, sm), 2.0 * 4 * N * C * C, 0);
        Tensor[] q = {random(N, C, HW), random(N, C, HW)};
        Tensor qn = Tensor.empty(d, N, C, HW), norms = Tensor.empty(d, N, C, 1);
        time("l2norm_rows", i -> b.l2Normalize(q[i], 1e-12f, qn, norms), 2.0 * 4 * n, 0);
    }

    private void convolutions() {
        // qkv 1x1 (48 -> 144), MDTA's depthwise 3x3 on 144 channels, a 3x3 48 -> 48.
        conv("conv1x1_48_144", new ConvSpec(N, C, H, W, 3 * C, 1, 1, 1, 1, 0, 0, 1), ConvKernels.Path.AUTO);
        conv("dwconv3_144", new ConvSpec(N, 3 * C, H, W, 3 * C, 3, 3, 1, 1, 1, 1, 3 * C), ConvKernels.Path.AUTO);
        ConvSpec c3 = new ConvSpec(N, C, H, W, C, 3, 3, 1, 1, 1, 1, 1);
        if (b.api().dnn() != null) conv("conv3x3_48", c3, ConvKernels.Path.CUDNN);
        conv("conv3x3_48_own", c3, ConvKernels.Path.OWN);
    }

    private void conv(String name, ConvSpec s, ConvKernels.Path path) {
        b.setConvPath(path);
        try {
            Tensor[] x = {random(s.n(), s.c(), s.h(), s.w()), random(s.n(), s.c(), s.h(), s.w())};
            Tensor w = random(s.o(), s.cPerGroup(), s.kh(), s.kw());
            Tensor[] gy = {random(s.n(), s.o(), s.outH(), s.outW()), random(s.n(), s.o(), s.outH(), s.outW())};
            Tensor out = Tensor.empty(d, s.n(), s.o(), s.outH(), s.outW());
            Tensor gx = Tensor.empty(d, s.n(), s.c(), s.h(), s.w());
            Tensor gw = Tensor.empty(d, s.o(), s.cPerGroup(), s.kh(), s.kw());
            double xb = 4.0 * s.n() * s.c() * s.h() * s.w(), yb = 4.0 * s.n() * s.o() * s.outH() * s.outW();
            double wb = 4.0 * s.o() * s.cPerGroup() * s.kh() * s.kw();
            time(name + "_fwd", i -> b.conv2d(x[i], w, null, s, out), xb + yb + wb, s.flops());
            time(name + "_bwd_in", i -> b.conv2dBackwardInput(gy[i], w, s, gx), xb + yb + wb, s.flops());
            time(name + "_bwd_w", i -> b.conv2dBackwardWeight(x[i], gy[i], s, gw), xb + yb + wb, s.flops());
        } finally {
            b.setConvPath(ConvKernels.Path.AUTO);
        }
    }

    private void fused() {
        long n = (long) N * C * HW;
        Tensor[] x = {random(N, C, H, W), random(N, C, H, W)};
        Tensor lw = random(C), lb = random(C), mod = random(N, 2 * C);
        Tensor out = Tensor.empty(d, N, C, H, W), mean = Tensor.empty(d, N, H, W), rstd = Tensor.empty(d, N, H, W);
        double stats = 2.0 * 4 * N * HW;
        guarded("ln_mod_fwd", () -> time("ln_mod_fwd", i -> b.layerNorm(x[i], lw, lb, mod, 1e-5f, out, mean, rstd), 2.0 * 4 * n + stats, 0));
        Tensor gx = Tensor.empty(d, N, C, H, W), gw = Tensor.empty(d, C), gb = Tensor.empty(d, C), gm = Tensor.empty(d, N, 2 * C);
        guarded("ln_mod_bwd", () -> {
            b.layerNorm(x[0], lw, lb, mod, 1e-5f, out, mean, rstd);
            time("ln_mod_bwd", i -> b.layerNormBackward(x[0], lw, lb, mod, mean, rstd, x[1 - i], gx, gw, gb, gm),
                    3.0 * 4 * n + stats, 0);
        });

        long hid = (long) N * HIDDEN * HW;
        Tensor[] g = {random(N, 2 * HIDDEN, H, W), random(N, 2 * HIDDEN, H, W)};
        Tensor dw = random(2 * HIDDEN, 1, 3, 3);
        Tensor gout = Tensor.empty(d, N, HIDDEN, H, W);
        guarded("gdfn_fwd", () -> time("gdfn_fwd", i -> b.gatedDwConv(g[i], dw, null, gout), 3.0 * 4 * hid, 2.0 * 9 * 2 * hid));
        Tensor[] ggy = {random(N, HIDDEN, H, W), random(N, HIDDEN, H, W)};
        Tensor ggx = Tensor.empty(d, N, 2 * HIDDEN, H, W), ggw = Tensor.empty(d, 2 * HIDDEN, 1, 3, 3);
        guarded("gdfn_bwd", () -> time("gdfn_bwd", i -> b.gatedDwConvBackward(g[i], dw, null, ggy[i], ggx, ggw, null),
                5.0 * 4 * hid, 4.0 * 9 * 2 * hid));

        Tensor[] qkv = {random(N, 3 * C, H, W), random(N, 3 * C, H, W)};
        Tensor temp = random(1);
        Tensor aout = Tensor.empty(d, N, C, H, W), attn = Tensor.empty(d, N, 1, C, C), norms = Tensor.empty(d, N, 2 * C);
        double attnFlops = 2.0 * 2 * N * C * C * HW;
        guarded("attn_fwd", () -> time("attn_fwd", i -> b.channelAttention(qkv[i], temp, 1, aout, attn, norms), 4.0 * 4 * n, attnFlops));
        Tensor gq = Tensor.empty(d, N, 3 * C, H, W), gt = Tensor.empty(d, 1);
        Tensor gram = Tensor.empty(d, N, 1, C, C);
        // As the engine runs it when training: the forward saves Q K^T, so the backward reads q and k once.
        guarded("attn_bwd", () -> {
            b.channelAttention(qkv[0], temp, 1, aout, attn, norms, gram);
            time("attn_bwd", i -> b.channelAttentionBackward(qkv[0], temp, 1, attn, norms, gram, x[i], gq, gt), 7.0 * 4 * n,
                    2 * attnFlops);
        });
        // Without the saved Q K^T (recomputed: one more pass over q and k).
        guarded("attn_bwd_recompute", () -> time("attn_bwd_recompute",
                i -> b.channelAttentionBackward(qkv[0], temp, 1, attn, norms, x[i], gq, gt), 7.0 * 4 * n, 2.5 * attnFlops));
    }

    private void optimiser() {
        int n = 1 << 20;
        Tensor p = random(n), g = random(n), m = random(n), v = Tensor.full(d, 0.01f, n);
        long[] step = {1};
        time("adam_1M", i -> b.adam(p, g, m, v, new AdamParams(1e-4f, 0.9f, 0.999f, 1e-8f, 0f, false, step[0]++)), 7.0 * 4 * n, 0);
    }

    // ---------------------------------------------------------------- timing

    private interface Op {
        void run(int set);
    }

    /** Runs a timing; an op whose kernels are missing on this branch is reported, not fatal. */
    private void guarded(String name, Runnable r) {
        try {
            r.run();
        } catch (UnsupportedOperationException | IllegalStateException e) {
            System.out.println(name + ": not timed (" + e.getMessage() + ")");
            rows.add(new String[]{name, "n/a", "", "", "", "", ""});
        }
    }

    private void time(String name, Op op, double bytes, double flops) {
        int[] set = {0};
        double[] r = median(() -> op.run(set[0]), () -> set[0] ^= 1);
        record(name, r[0], bytes, flops, r[1]);
    }

    private void record(String name, double ms, double bytes, double flops, double hostUs) {
        double floorMs = Math.max(bytes / bandwidth, flops / flopRate) * 1e3;
        double gbps = bytes / (ms * 1e-3) / 1e9;
        rows.add(new String[]{name, String.format("%.4f", ms), String.format("%.1f", bytes / 1e6), String.format("%.0f", gbps),
                String.format("%.0f%%", 100 * floorMs / ms), String.format("%.4f", floorMs), String.format("%.1f", hostUs)});
        csv.add(String.format(java.util.Locale.ROOT, "%s,%.5f,%.0f,%.0f,%.5f,%.1f", name, ms, bytes, flops, floorMs, hostUs));
        System.out.printf("%-22s %9.4f ms %7.0f GB/s  floor %8.4f ms (%3.0f%%)  host %6.1f us/call%n", name, ms, gbps, floorMs,
                100 * floorMs / ms, hostUs);
    }

    /**
     * {median ms per call, median host us per call} of the timed bursts after the warm-up, calling
     * next after every call (input rotation). The host time is the time to queue a burst's calls.
     */
    private double[] median(Runnable op, Runnable next) {
        for (int i = 0; i < sizes.warmup(); i++) {
            op.run();
            next.run();
        }
        b.synchronize();
        int burst = sizes.burst();
        double[] t = new double[sizes.runs()], host = new double[sizes.runs()];
        for (int i = 0; i < t.length; i++) {
            timer.start();
            long h0 = System.nanoTime();
            for (int k = 0; k < burst; k++) {
                op.run();
                next.run();
            }
            host[i] = (System.nanoTime() - h0) / 1e3 / burst;
            t[i] = timer.stopMs() / burst;
        }
        Arrays.sort(t);
        Arrays.sort(host);
        return new double[]{t[t.length / 2], host[host.length / 2]};
    }

    /** Time of the work queued between start and stop. */
    private interface Timer {
        void start();

        double stopMs();
    }

    /** CUDA events on the backend's stream. */
    private static final class EventTimer implements Timer {
        private final CudaDriver driver;
        private final CUevent start, end;

        EventTimer(CudaDriver driver) {
            this.driver = driver;
            this.start = driver.newEvent();
            this.end = driver.newEvent();
        }

        @Override
        public void start() {
            driver.record(start);
        }

        @Override
        public double stopMs() {
            driver.record(end);
            return driver.elapsedMs(start, end);
        }
    }

    /** Host clock around a synchronised region (devices without events: the CPU emulator in tests). */
    private static final class HostTimer implements Timer {
        private final CudaBackend b;
        private long t0;

        HostTimer(CudaBackend b) {
            this.b = b;
        }

        @Override
        public void start() {
            b.synchronize();
            t0 = System.nanoTime();
        }

        @Override
        public double stopMs() {
            b.synchronize();
            return (System.nanoTime() - t0) / 1e6;
        }
    }

    /** A pool of uniform values in [-1, 1) (never zeros: they hide unwritten outputs and can run faster). */
    private float[] pool;
    private int poolAt;

    /** Random values from the pool, each tensor from a different place in it (cheap for big tensors). */
    private Tensor random(int... shape) {
        if (pool == null) {
            pool = new float[(16 << 20) + 7919];
            for (int i = 0; i < pool.length; i++) pool[i] = (float) (2 * rng.nextDouble() - 1);
        }
        float[] v = new float[Math.toIntExact(Shapes.numel(shape))];
        for (int done = 0; done < v.length; ) {
            int n = Math.min(v.length - done, pool.length - poolAt);
            System.arraycopy(pool, poolAt, v, done, n);
            done += n;
            poolAt = (poolAt + n + 104729) % pool.length;
        }
        return Tensor.of(d, v, shape);
    }

    void print() {
        System.out.println();
        System.out.printf("%-22s %10s %9s %8s %8s %10s %8s%n", "op", "ms", "MB moved", "GB/s", "floor%", "floor ms", "host us");
        for (String[] r : rows) System.out.printf("%-22s %10s %9s %8s %8s %10s %8s%n", (Object[]) r);
        System.out.println("memory: " + b.memoryStats());
    }
}
