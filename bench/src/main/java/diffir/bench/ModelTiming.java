package diffir.bench;

import diffir.engine.Device;
import diffir.engine.MemoryScope;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.engine.cpu.CpuBackend;
import diffir.engine.io.Npy;
import diffir.engine.nn.Init;
import diffir.engine.ops.Ops;
import diffir.engine.optim.Adam;
import diffir.kernels.CudaBackend;
import diffir.kernels.CudaDriver;
import diffir.model.ArchConfig;
import diffir.model.Checkpoints;
import diffir.model.DiffIRModel;
import diffir.model.DiffIRS1;
import diffir.model.DiffIRS2;
import jcuda.driver.CUevent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Model-level timings, the same cases as {@code bench/torch_reference_bench.py}:
 * <ul>
 *   <li>{@code infer<N>}: S2 inference of the GoPro deblurring config (d 48, blocks [3,5,6,6], r 4, heads
 *   [1,2,4,8], ffn 2, m 5) on one N x N image: CPEN_S2, the 4 reverse diffusion steps, DIRformer, under
 *   no-grad;</li>
 *   <li>{@code train}: one S2 joint training step of the small config (d 16, blocks [1,1,1,1], r 1, m 1),
 *   batch 4 of 64 x 64: the frozen S1 CPEN's prior (no grad), the S2 training forward, L1 + L1 loss,
 *   backward, Adam (lr 2e-4, betas 0.9/0.99), zero_grad.</li>
 * </ul>
 * Each case: warm-up runs (JIT, allocator cache, cuDNN algorithm searches), then the median of timed
 * runs. On CUDA each run is timed between two CUDA events (the host queues the whole run while the GPU
 * works); on the CPU with the host clock. Also reported per run: the host's time to queue it, the
 * project's kernel launches (CUDA; cuBLAS / cuDNN calls not counted), host waits (must be 0 for
 * inference on CUDA), and the peak memory: device memory held by live tensors on CUDA, the process's
 * peak resident set (VmHWM) on the CPU, which is the case's own when each case runs in its own JVM.
 *
 * <p>Weights and inputs are random (seeded) unless {@code --inputs DIR} names a folder written by
 * {@code torch_reference_bench.py --shared DIR}: then both sides run the same weights ({@code .pth},
 * read by {@link Checkpoints}) on the same inputs ({@code .npy}), and the result of the first run is
 * written next to them ({@code ours_<case>.npy}) for the comparison of outputs.
 *
 * <p>Usage: {@code ModelTiming [out.csv] [--device cpu|cuda] [--cases infer64,train] [--warmup N] [--runs N]
 * [--inputs DIR] [--small] [--profile | --profile-shapes]}; CSV lines {@code case,ms,host_ms,launches,host_syncs,peak_mib}. The device
 * defaults to CUDA. {@code --small} runs tiny configs (a check of the program itself). {@code --profile} (CPU only)
 * also prints each case's time per backend method ({@link OpProfile}), {@code --profile-shapes} per method and
 * argument shapes.
 */
public final class ModelTiming {
    private ModelTiming() {}

    /** Set by --profile: the CPU backend's per-method timer. */
    private static OpProfile profiler;

    static final List<String> ALL_CASES = List.of("infer64", "infer128", "infer256", "train");

    /** The cases' configs and sizes, the warm-up and timed runs. */
    record Plan(ArchConfig inferConfig, List<String> cases, ArchConfig trainConfig, int trainBatch, int trainSize, int warmup, int runs) {
        static Plan full(List<String> cases, int warmup, int runs) {
            return new Plan(ArchConfig.gopro(), cases, small(), 4, 64, warmup, runs);
        }

        static Plan tiny() {
            ArchConfig t = ArchConfig.gopro().toBuilder().dim(4).blocks(List.of(1, 1, 1, 1)).refinement(1).heads(List.of(1, 1, 2, 2))
                    .encoderRes(1).cpenFeats(4).build();
            return new Plan(t, List.of("infer16", "train"), t, 2, 16, 1, 2);
        }

        /** The training case's config: d 16, blocks [1,1,1,1], r 1, m 1, heads [1,2,4,8], ffn 2. */
        static ArchConfig small() {
            return ArchConfig.gopro().toBuilder().dim(16).blocks(List.of(1, 1, 1, 1)).refinement(1).encoderRes(1).build();
        }
    }

    public static void main(String[] args) {
        try {
            timeCases(args);
        } catch (IllegalArgumentException | IOException | java.io.UncheckedIOException | diffir.engine.Device.DeviceUnavailableException e) {
            // Bad options, a missing or corrupt input, no GPU: one line, no stack trace, no output file.
            System.err.println("ModelTiming: error: " + e.getMessage());
            System.exit(2);
        }
    }

    private static void timeCases(String[] args) throws IOException {
        List<String> rest = new ArrayList<>();
        String device = "cuda", cases = String.join(",", ALL_CASES);
        int warmup = -1, runs = -1;
        Path inputs = null;
        boolean small = false, profile = false, shapes = false, casesGiven = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--small" -> small = true;
                case "--profile" -> profile = true;
                case "--profile-shapes" -> profile = shapes = true;
                case "--device" -> device = value(args, ++i);
                case "--cases" -> {
                    cases = value(args, ++i);
                    casesGiven = true;
                }
                case "--warmup" -> warmup = Integer.parseInt(value(args, ++i));
                case "--runs" -> runs = Integer.parseInt(value(args, ++i));
                case "--inputs" -> inputs = Path.of(value(args, ++i));
                default -> {
                    if (args[i].startsWith("--")) throw new IllegalArgumentException("unknown option " + args[i]);
                    rest.add(args[i]);
                }
            }
        }
        Device d = Device.of(device);
        if (profile) {
            if (d != Device.CPU) throw new IllegalArgumentException("--profile times kernels on the CPU only (a GPU backend returns once a launch is queued)");
            profiler = OpProfile.of(d.backend(), shapes);
            d = Device.custom("cpu", profiler.backend());
        }
        System.out.println("device: " + d.backend().describe());
        List<String> caseList = Arrays.stream(cases.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        caseList.forEach(ModelTiming::checkCase);
        if (small && (casesGiven || inputs != null)) throw new IllegalArgumentException("--small runs its own tiny cases: leave out --cases and --inputs");
        boolean cpu = d.name().equals("cpu");
        Plan base = small ? Plan.tiny() : Plan.full(caseList, cpu ? 1 : 3, cpu ? 5 : 10);
        Plan plan = new Plan(base.inferConfig(), base.cases(), base.trainConfig(), base.trainBatch(), base.trainSize(),
                warmup >= 0 ? warmup : base.warmup(), runs > 0 ? runs : base.runs());
        List<String> csv = run(d, plan, inputs);
        if (!rest.isEmpty()) diffir.engine.io.AtomicFiles.write(Path.of(rest.get(0)), os -> os.write(String.join("\n", csv).concat("\n").getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    }

    /** Refuses a case name this program cannot run: train, or infer<N> with N a positive multiple of 8. */
    static void checkCase(String c) {
        if (c.equals("train")) return;
        if (c.matches("infer\\d{1,5}") && Integer.parseInt(c.substring("infer".length())) % 8 == 0 && !c.equals("infer0")) return;
        throw new IllegalArgumentException("unknown case '" + c + "'; known: " + String.join(", ", ALL_CASES) + " (infer<N>, N a multiple of 8)");
    }

    private static String value(String[] args, int i) {
        if (i >= args.length) throw new IllegalArgumentException(args[i - 1] + " needs a value");
        return args[i];
    }

    /** Runs every case of the plan on d, printing a table; returns the CSV lines. */
    static List<String> run(Device d, Plan plan, Path inputs) throws IOException {
        List<String> csv = new ArrayList<>();
        Timer timer = Timer.on(d);
        SplittableRandom rng = new SplittableRandom(1);
        System.out.printf("%-10s %10s %10s %9s %6s %9s%n", "case", "ms", "host ms", "launches", "syncs", "peak MiB");
        DiffIRS2 model = null;
        for (String name : plan.cases()) {
            if (name.equals("train")) {
                csv.add(time("train", d, timer, plan, trainStep(d, plan, rng, inputs)));
                continue;
            }
            if (model == null) model = inferenceModel(d, plan, inputs);
            csv.add(time(name, d, timer, plan, inferenceCase(d, plan, model, Integer.parseInt(name.substring("infer".length())), rng, inputs)));
        }
        return csv;
    }

    /** The GoPro S2 network of the plan in eval mode: random (seeded) or the shared .pth. */
    static DiffIRS2 inferenceModel(Device d, Plan plan, Path inputs) throws IOException {
        DiffIRS2 model = inputs == null ? new DiffIRS2(Init.on(d, 1), plan.inferConfig()) : load(inputs.resolve("gopro_s2.pth"), d, DiffIRS2.class);
        model.eval();
        return model;
    }

    /** One S2 inference of an N x N image under no-grad; with shared inputs the first result is saved for the comparison. */
    static Runnable inferenceCase(Device d, Plan plan, DiffIRS2 model, int size, SplittableRandom rng, Path inputs) throws IOException {
        String name = "infer" + size;
        Tensor lq = inputs == null ? Tensor.rand(Device.CPU, rng, 0f, 1f, 1, 3, size, size).to(d) : Npy.read(inputs.resolve(name + "_lq.npy"), d);
        Tensor noise = inputs == null ? Tensor.randn(Device.CPU, rng, 1, plan.inferConfig().iprDim()).to(d)
                : Npy.read(inputs.resolve("infer_noise.npy"), d);
        MemoryScope.untrack(lq);
        MemoryScope.untrack(noise);
        Path save = inputs == null ? null : inputs.resolve("ours_" + name + ".npy");
        return new Runnable() {
            boolean saved;

            public void run() {
                try (var s = Autograd.noGrad()) {
                    Tensor out = model.infer(lq, noise).out();
                    if (save != null && !saved) {
                        saved = true;
                        writeQuietly(save, out);
                    }
                }
            }
        };
    }

    private static <M extends DiffIRModel> M load(Path file, Device d, Class<M> stage) throws IOException {
        DiffIRModel m;
        try (MemoryScope s = MemoryScope.open()) {
            // Parameters untrack themselves; what the loader made on the side goes at once.
            m = Checkpoints.load(file, d);
        }
        if (!stage.isInstance(m)) throw new IllegalArgumentException(file + " holds a " + m.stage() + " network; this case needs " + stage.getSimpleName());
        return stage.cast(m);
    }

    /** One S2 joint training step of the plan's training config, as the reference's optimize_parameters. */
    static Runnable trainStep(Device d, Plan plan, SplittableRandom rng, Path inputs) throws IOException {
        ArchConfig cfg = plan.trainConfig();
        DiffIRS1 s1 = inputs == null ? new DiffIRS1(Init.on(d, 2), cfg) : load(inputs.resolve("train_s1.pth"), d, DiffIRS1.class);
        s1.eval();
        DiffIRS2 s2 = inputs == null ? new DiffIRS2(Init.on(d, 3), cfg) : load(inputs.resolve("train_s2.pth"), d, DiffIRS2.class);
        Adam opt = new Adam(s2.namedParameters(), 2e-4, 0.9, 0.99, 1e-8, 0);
        int n = plan.trainBatch(), px = plan.trainSize();
        Tensor lq = inputs == null ? Tensor.rand(Device.CPU, rng, 0f, 1f, n, 3, px, px).to(d) : Npy.read(inputs.resolve("train_lq.npy"), d);
        Tensor gt = inputs == null ? Tensor.rand(Device.CPU, rng, 0f, 1f, n, 3, px, px).to(d) : Npy.read(inputs.resolve("train_gt.npy"), d);
        Tensor eps = inputs == null ? Tensor.randn(Device.CPU, rng, n, cfg.iprDim()).to(d) : Npy.read(inputs.resolve("train_eps.npy"), d);
        Path save = inputs == null ? null : inputs.resolve("ours_train.npy");
        return new Runnable() {
            boolean saved;

            public void run() {
                Tensor iprS1;
                try (var s = Autograd.noGrad()) {
                    iprS1 = s1.prior(lq, gt);
                }
                DiffIRS2.Output o = s2.trainForward(lq, iprS1, eps);
                Tensor loss = Ops.add(Ops.l1Loss(o.out(), gt), Ops.l1Loss(o.ipr(), iprS1));
                if (save != null && !saved) {
                    // The first step's loss, compared with PyTorch's (the weights are the same before it).
                    saved = true;
                    writeQuietly(save, loss.detach());
                }
                loss.backward();
                opt.step();
                opt.zeroGrad();
            }
        };
    }

    private static void writeQuietly(Path file, Tensor t) {
        try {
            Npy.write(file, t);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static String time(String name, Device d, Timer timer, Plan plan, Runnable body) {
        // Each run in its own scope, as the trainer and restore run theirs: its intermediates go back
        // to the allocator when it ends (inference also frees each block's as it goes).
        Runnable run = () -> {
            try (MemoryScope scope = MemoryScope.open()) {
                body.run();
            }
        };
        for (int i = 0; i < plan.warmup(); i++) run.run();
        d.backend().synchronize();
        CudaBackend cuda = d.backend() instanceof CudaBackend c ? c : null;
        double[] ms = new double[plan.runs()], host = new double[plan.runs()], cpu = new double[plan.runs()];
        long launches = 0, syncs = 0;
        if (cuda != null) cuda.resetPeakMemory();
        CpuBackend cpuBackend = d.backend() instanceof CpuBackend c ? c : profiler != null ? CpuBackend.INSTANCE : null;
        if (profiler != null) profiler.reset();
        if (cpuBackend != null) cpuBackend.resetPeakMemory();
        for (int i = 0; i < ms.length; i++) {
            long l0 = cuda != null ? cuda.launches() : 0, s0 = d.backend().hostSyncs();
            timer.start();
            long h0 = System.nanoTime(), c0 = processCpuNanos();
            run.run();
            host[i] = (System.nanoTime() - h0) / 1e6;
            cpu[i] = (processCpuNanos() - c0) / 1e6;
            launches = cuda != null ? cuda.launches() - l0 : 0;
            syncs = Math.max(syncs, d.backend().hostSyncs() - s0);
            ms[i] = timer.stopMs();
        }
        double peak = cuda != null ? cuda.peakMemoryBytes() / 1048576.0 : peakRssMiB();
        double med = median(ms), hostMed = median(host);
        // The CPU time all threads spent per run (JIT and GC included): on a shared machine, where the wall
        // time depends on the neighbours, it shows whether a change did less work.
        String tensors = cpuBackend == null ? "" : String.format(Locale.ROOT, "   tensors MiB %.0f, pooled MiB %.0f",
                cpuBackend.peakMemoryBytes() / 1048576.0, cpuBackend.pooledBytes() / 1048576.0);
        System.out.printf("%-10s %10.3f %10.3f %9d %6d %9.1f   cpu ms %.0f%s   runs %s%n", name, med, hostMed, launches, syncs, peak,
                median(cpu), tensors, runsText(ms));
        if (profiler != null) System.out.print(profiler.table(ms.length, med));
        return String.format(Locale.ROOT, "%s,%.4f,%.4f,%d,%d,%.1f", name, med, hostMed, launches, syncs, peak);
    }

    private static String runsText(double[] ms) {
        StringBuilder b = new StringBuilder();
        for (double v : ms) b.append(b.isEmpty() ? "" : " ").append(String.format(Locale.ROOT, "%.0f", v));
        return b.toString();
    }

    private static long processCpuNanos() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os
                ? os.getProcessCpuTime() : 0;
    }

    /** The process's peak resident set in MiB (VmHWM), or 0 where /proc is not there. */
    static double peakRssMiB() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status")))
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024.0;
        } catch (IOException | RuntimeException e) {
            // not Linux: no figure
        }
        return 0;
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
