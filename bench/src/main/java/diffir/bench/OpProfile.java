package diffir.bench;

import diffir.engine.Tensor;
import diffir.engine.backend.Backend;
import diffir.engine.cpu.Parallel;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where a CPU run's time goes, kernel by kernel: a {@link Backend} that forwards every call to the real one
 * and adds its wall time to the method's total. Only calls from outside the backend count (a default method
 * that calls others, like {@code adamMany}, counts once), so the totals add up to the time spent in kernels;
 * the rest of a run is the engine's own work (autograd, shapes, scopes). "cores" is the process's CPU time,
 * less the engine's idle spinning ({@link Parallel#spinNanos}), over the wall time of the calls (coarse: the OS
 * counts CPU time in ticks; meaningful over many calls): below the thread count, a kernel leaves cores idle. CPU only: a CUDA backend returns
 * as soon as a launch is queued. Used by {@code ModelTiming --profile}.
 */
final class OpProfile implements InvocationHandler {
    private final Backend target;
    private final Map<String, long[]> totals = new ConcurrentHashMap<>(); // name -> {calls, wall nanos, process CPU nanos}
    private static final com.sun.management.OperatingSystemMXBean OS =
            java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os ? os : null;
    private final ThreadLocal<int[]> depth = ThreadLocal.withInitial(() -> new int[1]);

    private final boolean byShape;

    private OpProfile(Backend target, boolean byShape) {
        this.target = target;
        this.byShape = byShape;
    }

    /** byShape: one row per method and shapes of its tensor arguments (which convolution costs what), else per method. */
    static OpProfile of(Backend target, boolean byShape) {
        return new OpProfile(target, byShape);
    }

    /** The timing backend to build a device on. */
    Backend backend() {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[]{Backend.class}, this);
    }

    void reset() {
        totals.clear();
    }

    @Override
    public Object invoke(Object proxy, Method m, Object[] args) throws Throwable {
        int[] d = depth.get();
        long t0 = System.nanoTime(), c0 = d[0] == 0 ? cpuNanos() : 0;
        d[0]++;
        try {
            // Default methods run on the proxy so the calls they make stay visible (and uncounted: depth > 1).
            if (m.isDefault()) return InvocationHandler.invokeDefault(proxy, m, args);
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        } finally {
            if (--d[0] == 0) {
                long wall = System.nanoTime() - t0, cpu = cpuNanos() - c0;
                long[] t = totals.computeIfAbsent(byShape ? withShapes(m.getName(), args) : m.getName(), k -> new long[3]);
                synchronized (t) {
                    t[0]++;
                    t[1] += wall;
                    t[2] += cpu;
                }
            }
        }
    }

    /**
     * CPU time of all the process's threads less the time the engine's workers spun idle (which the OS counts
     * as busy): over a kernel's wall time, how many cores it kept working.
     */
    private static long cpuNanos() {
        return OS == null ? 0 : OS.getProcessCpuTime() - Parallel.spinNanos();
    }

    private static String withShapes(String name, Object[] args) {
        StringBuilder b = new StringBuilder(name);
        if (args != null)
            for (Object a : args)
                if (a instanceof Tensor t) b.append(' ').append(Arrays.toString(t.shape()).replace(" ", ""));
        return b.toString();
    }

    /** The kernels by time, per run of the {@code runs} timed since the last reset, against a run's median wall time. */
    String table(int runs, double runMs) {
        List<Map.Entry<String, long[]>> rows = new ArrayList<>(totals.entrySet());
        rows.sort((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]));
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "  %-40s %9s %10s %7s %6s%n", "backend method", "calls/run", "ms/run", "% run", "cores"));
        double sum = 0;
        for (Map.Entry<String, long[]> r : rows) {
            double ms = r.getValue()[1] / 1e6 / runs;
            sum += ms;
            long[] v = r.getValue();
            s.append(String.format(Locale.ROOT, "  %-40s %9.0f %10.2f %6.1f%% %6.2f%n", r.getKey(), (double) v[0] / runs, ms, 100 * ms / runMs,
                    v[1] == 0 ? 0 : Math.max(0, (double) v[2] / v[1])));
        }
        s.append(String.format(Locale.ROOT, "  %-40s %9s %10.2f %6.1f%%%n", "(all kernels)", "", sum, 100 * sum / runMs));
        return s.toString();
    }
}
