package diffir.kernels.bench;

import diffir.engine.Device;

import java.util.List;

/** Test access to KernelTiming at tiny sizes. */
public final class KernelTimingProbe {
    private KernelTimingProbe() {}

    public static List<String> runTiny(Device d) {
        KernelTiming t = new KernelTiming(d, new KernelTiming.Sizes(1, 6, 8, 8, 10, 4096, 32, 1, 1, 2));
        t.run();
        t.print();
        return t.csv();
    }
}
