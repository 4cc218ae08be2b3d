package diffir.bench;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.engine.nn.Init;
import diffir.engine.ops.Ops;
import diffir.engine.optim.Adam;
import diffir.kernels.CudaBackend;
import diffir.kernels.CudaDriver;
import diffir.model.ArchConfig;
import diffir.model.DiffIRS1;
import diffir.model.DiffIRS2;
import jcuda.driver.CUevent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Model-level timings on CUDA, the same cases as {@code bench/torch_reference_bench.py --device cuda}:
 * <ul>
 *   <li>{@code infer<N>}: S2 inference of the GoPro deblurring config (d 48, blocks [3,5,6,6], r 4, heads
 *   [1,2,4,8], ffn 2, m 5; random weights) on one N x N image: CPEN_S2, the 4 reverse diffusion steps,
 *   DIRformer, under no-grad;</li>
 *   <li>{@code train}: one S2 joint training step of the small config (d 16, blocks [1,1,1,1], r 1, m 1),
 *   batch 4 of 64 x 64: the frozen S1 CPEN's prior (no grad), the S2 training forward, L1 + L1 loss,
 *   backward, Adam (lr 2e-4, betas 0.9/0.99), zero_grad.</li>
 * </ul>
 * Each case: warm-up runs (allocator cache, cuDNN algorithm searches, JIT), then the median of timed
 * runs, each between two CUDA events (the host queues the whole run while the GPU works, so a run the
 * host cannot queue as fast as the GPU executes it shows up in the time). Also reported per run: the
 * host's time to queue it, the project's kernel launches (cuBLAS / cuDNN calls not counted), host
 * waits (must be 0 for inference), and the peak of device memory held by live tensors.
 *
 * <p>Usage: {@code ModelTiming [out.csv] [--small]}; CSV lines {@code case,ms,host_ms,launches,host_syncs,peak_mib}.
 * {@code --small} runs tiny configs (a check of the program itself, also on the CPU device).
 */
public final class ModelTiming {
    private ModelTiming() {}

    /** The cases' configs and sizes, the warm-up and timed runs. */
    record Plan(ArchConfig inferConfig, int[] inferSizes, ArchConfig trainConfig, int trainBatch, int trainSize, int warmup, int runs) {
        static Plan full() {
            return new Plan(ArchConfig.gopro(), new int[]{64, 128, 256}, small(), 4, 64, 3, 10);
        }

        static Plan tiny() {
            ArchConfig t = ArchConfig.gopro().toBuilder().dim(4).blocks(List.of(1, 1, 1, 1)).refinement(1).heads(List.of(1, 1, 2, 2))
                    .encoderRes(1).cpenFeats(4).build();
            return new Plan(t, new int[]{16}, t, 2, 16, 1, 2);
        }

        /** The training case's config: d 16, blocks [1,1,1,1], r 1, m 1, heads [1,2,4,8], ffn 2. */
        static ArchConfig small() {
            return ArchConfig.gopro().toBuilder().dim(16).blocks(List.of(1, 1, 1, 1)).refinement(1).encoderRes(1).build();
        }
    }

    public static void main(String[] args) throws IOException {
        boolean small = Arrays.asList(args).contains("--small");
        String out = Arrays.stream(args).filter(a -> !a.startsWith("--")).findFirst().orElse(null);
        Device d = Device.cuda();
        System.out.println("device: " + d.backend().describe());
        List<String> csv = run(d, small ? Plan.tiny() : Plan.full());
        if (out != null) Files.write(Path.of(out), csv);
    }

    /** Runs every case of the plan on d, printing a table; returns the CSV lines. */
    static List<String> run(Device d, Plan plan) {
        List<String> csv = new ArrayList<>();
        Timer timer = Timer.on(d);
        SplittableRandom rng = new SplittableRandom(1);
        DiffIRS2 model = new DiffIRS2(Init.on(d, 1), plan.inferConfig());
        model.eval();
        System.out.printf("%-10s %10s %10s %9s %6s %9s%n", "case", "ms", "host ms", "launches", "syncs", "peak MiB");
        for (int size : plan.inferSizes()) {
            Tensor lq = Tensor.rand(Device.CPU, rng, 0f, 1f, 1, 3, size, size).to(d);
            Tensor noise = Tensor.randn(Device.CPU, rng, 1, plan.inferConfig().iprDim()).to(d);
            csv.add(time("infer" + size, d, timer, plan, () -> {
                try (var s = Autograd.noGrad()) {
                    model.infer(lq, noise);
                }
            }));
        }
        csv.add(time("train", d, timer, plan, trainStep(d, plan, rng)));
        return csv;
    }

    /** One S2 joint training step of the plan's training config, as the reference's optimize_parameters. */
    private static Runnable trainStep(Device d, Plan plan, SplittableRandom rng) {
        ArchConfig cfg = plan.trainConfig();
        DiffIRS1 s1 = new DiffIRS1(Init.on(d, 2), cfg);
        s1.eval();
        DiffIRS2 s2 = new DiffIRS2(Init.on(d, 3), cfg);
        Adam opt = new Adam(s2.namedParameters(), 2e-4, 0.9, 0.99, 1e-8, 0);
        int n = plan.trainBatch(), px = plan.trainSize();
        Tensor lq = Tensor.rand(Device.CPU, rng, 0f, 1f, n, 3, px, px).to(d);
        Tensor gt = Tensor.rand(Device.CPU, rng, 0f, 1f, n, 3, px, px).to(d);
        Tensor eps = Tensor.randn(Device.CPU, rng, n, cfg.iprDim()).to(d);
        return () -> {
            Tensor iprS1;
            try (var s = Autograd.noGrad()) {
                iprS1 = s1.prior(lq, gt);
            }
            DiffIRS2.Output o = s2.trainForward(lq, iprS1, eps);
            Ops.add(Ops.l1Loss(o.out(), gt), Ops.l1Loss(o.ipr(), iprS1)).backward();
            opt.step();
            opt.zeroGrad();
        };
    }

    private static String time(String name, Device d, Timer timer, Plan plan, Runnable run) {
        for (int i = 0; i < plan.warmup(); i++) run.run();
        d.backend().synchronize();
        CudaBackend cuda = d.backend() instanceof CudaBackend c ? c : null;
        double[] ms = new double[plan.runs()], host = new double[plan.runs()];
        long launches = 0, syncs = 0;
        if (cuda != null) cuda.resetPeakMemory();
        for (int i = 0; i < ms.length; i++) {
            long l0 = cuda != null ? cuda.launches() : 0, s0 = d.backend().hostSyncs();
            timer.start();
            long h0 = System.nanoTime();
            run.run();
            host[i] = (System.nanoTime() - h0) / 1e6;
            launches = cuda != null ? cuda.launches() - l0 : 0;
            syncs = Math.max(syncs, d.backend().hostSyncs() - s0);
            ms[i] = timer.stopMs();
        }
        double peak = cuda != null ? cuda.peakMemoryBytes() / 1048576.0 : 0;
        double med = median(ms), hostMed = median(host);
        System.out.printf("%-10s %10.3f %10.3f %9d %6d %9.1f%n", name, med, hostMed, launches, syncs, peak);
        return String.format("%s,%.4f,%.4f,%d,%d,%.1f", name, med, hostMed, launches, syncs, peak);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    /** Time of the work queued between start and stop: CUDA events on a GPU, else the host clock around synchronised work. */
    private interface Timer {
        void start();

        double stopMs();

        static Timer on(Device d) {
            if (d.backend() instanceof CudaBackend b && b.api() instanceof CudaDriver driver) {
                CUevent start = driver.newEvent(), end = driver.newEvent();
                return new Timer() {
                    public void start() {
                        driver.record(start);
                    }

                    public double stopMs() {
                        driver.record(end);
                        return driver.elapsedMs(start, end);
                    }
                };
            }
            long[] t0 = new long[1];
            return new Timer() {
                public void start() {
                    d.backend().synchronize();
                    t0[0] = System.nanoTime();
                }

                public double stopMs() {
                    d.backend().synchronize();
                    return (System.nanoTime() - t0[0]) / 1e6;
                }
            };
        }
    }
}
