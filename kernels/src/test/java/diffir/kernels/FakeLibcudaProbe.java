package diffir.kernels;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.backend.BinaryOp;
import jcuda.driver.CUevent;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Run in a child JVM by {@link FakeLibcudaDriverTest}: loads the libcuda.so.1 stand-in (so JCuda's
 * natives bind to it) and drives {@link CudaDriver} and {@link CudaBackend} through JCuda as on a GPU:
 * context, stream, module loading, allocation, staged transfers, memsets, device copies, launches with
 * every argument kind, events, several threads, out of memory. Prints "PROBE OK" when all checks pass.
 */
public final class FakeLibcudaProbe {
    private FakeLibcudaProbe() {}

    public static void main(String[] args) throws Throwable {
        SymbolLookup fake = SymbolLookup.libraryLookup(Path.of(args[0]), Arena.global());
        Linker l = Linker.nativeLinker();
        MethodHandle launches = l.downcallHandle(fake.find("fake_launches").orElseThrow(), FunctionDescriptor.of(JAVA_INT));
        MethodHandle lastKernel = l.downcallHandle(fake.find("fake_last_kernel").orElseThrow(), FunctionDescriptor.of(ADDRESS));
        MethodHandle lastDim = l.downcallHandle(fake.find("fake_last_dim").orElseThrow(), FunctionDescriptor.of(JAVA_INT, JAVA_INT));
        MethodHandle firstInt = l.downcallHandle(fake.find("fake_last_first_int").orElseThrow(), FunctionDescriptor.of(JAVA_INT));
        MethodHandle secondPtr = l.downcallHandle(fake.find("fake_last_second_ptr").orElseThrow(), FunctionDescriptor.of(JAVA_LONG));

        check(CudaDriver.probe() == null, "probe sees the device: " + CudaDriver.probe());
        Map<String, byte[]> modules = Fatbins.load();
        if (modules.isEmpty()) { // built without nvcc: a minimal image with the fatbin magic
            byte[] img = new byte[64];
            img[0] = 0x50; img[1] = (byte) 0xED; img[2] = 0x55; img[3] = (byte) 0xBA;
            modules = Map.of("fake.fatbin", img);
        }
        CudaDriver driver = new CudaDriver(0, modules);
        System.out.println("describe: " + driver.describe());
        check(driver.describe().startsWith("Fake GPU (sm_90, 4 SMs"), "describe: " + driver.describe());
        check(driver.multiprocessors() == 4, "SM count");
        check(driver.hasKernel("binary_same"), "kernel lookup");
        check(!driver.hasKernel("missing_kernel"), "missing kernels are reported as missing");

        // Staged transfers: more than one 8 MiB staging buffer, at an offset into the allocation.
        int n = 5_000_003;
        long a = driver.tryAllocate(4L * (n + 16));
        check(a != 0 && a % 256 == 0, "allocation aligned");
        float[] src = new float[n + 3];
        for (int i = 0; i < src.length; i++) src[i] = i * 0.5f - 7;
        driver.upload(src, 3, a + 4 * 7, n);
        float[] back = new float[n + 1];
        driver.download(a + 4 * 7, back, 1, n);
        check(Arrays.equals(Arrays.copyOfRange(back, 1, n + 1), Arrays.copyOfRange(src, 3, n + 3)), "upload/download round trip");
        long c = driver.tryAllocate(4L * n);
        driver.copy(c, a + 4 * 7, 4L * n);
        driver.fill32(c, Float.floatToRawIntBits(2.5f), 10);
        float[] head = new float[12];
        driver.download(c, head, 0, 12);
        check(head[9] == 2.5f && head[10] == src[13], "memset and device copy: " + Arrays.toString(head));

        // Launch arguments: int, pointer, float, long, struct.
        int before = (int) launches.invokeExact();
        driver.launch("binary_same", Dim3.of(3, 2, 1), Dim3.of(64, 2, 1), 128, 4, new Ptr(a + 8), 1.5f, 7L, new int[]{1, 2, 3});
        check((int) launches.invokeExact() == before + 1, "launch recorded");
        String name = ((MemorySegment) lastKernel.invokeExact()).reinterpret(128).getString(0);
        check(name.equals("binary_same"), "kernel name " + name);
        int[] dims = new int[7];
        for (int i = 0; i < 7; i++) dims[i] = (int) lastDim.invokeExact(i);
        check(Arrays.equals(dims, new int[]{3, 2, 1, 64, 2, 1, 128}), "launch dimensions " + Arrays.toString(dims));
        check((int) firstInt.invokeExact() == 4 && (long) secondPtr.invokeExact() == a + 8, "int and pointer parameters");
        try {
            driver.launch("missing_kernel", Dim3.of(1), Dim3.of(32), 0, 1);
            check(false, "a missing kernel must fail");
        } catch (CudaException e) {
            check(e.getMessage().contains("missing_kernel") && e.getMessage().contains("elementwise"), e.getMessage());
        }

        // Events.
        CUevent e0 = driver.newEvent(), e1 = driver.newEvent();
        driver.record(e0);
        driver.record(e1);
        check(driver.elapsedMs(e0, e1) == 0.25f, "event timing");

        // Another thread makes the context current before its calls.
        Thread t = new Thread(() -> {
            float[] v = new float[4];
            driver.upload(new float[]{1, 2, 3, 4}, 0, c, 4);
            driver.download(c, v, 0, 4);
            check(v[3] == 4, "transfer from another thread");
        });
        Throwable[] failure = new Throwable[1];
        t.setUncaughtExceptionHandler((th, ex) -> failure[0] = ex);
        t.start();
        t.join();
        if (failure[0] != null) throw failure[0];
        driver.free(c);
        driver.free(a);

        // The backend over it: tensors, fill, contiguous copies, reuse of freed blocks, out of memory.
        CudaBackend b = new CudaBackend(driver);
        Device d = Device.custom("cuda-fake", b);
        b.bind(d);
        Tensor x = Tensor.of(d, new float[]{1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor y = Tensor.empty(d, 2, 3);
        y.copyFrom(x);
        check(Arrays.equals(y.toFloatArray(), new float[]{1, 2, 3, 4, 5, 6}), "tensor copy");
        check(Arrays.equals(Tensor.full(d, 3f, 5).toFloatArray(), new float[]{3, 3, 3, 3, 3}), "fill");
        b.binary(BinaryOp.ADD, x, y, y);
        check((int) launches.invokeExact() > before + 1, "binary launched");
        try {
            Tensor.empty(d, 200 << 20); // 800 MiB on a 256 MiB device
            check(false, "out of memory must fail");
        } catch (CudaException ex) {
            System.out.println("out of memory: " + ex.getMessage());
            check(ex.getMessage().startsWith("CUDA out of memory"), ex.getMessage());
        }
        System.out.println("memory: " + b.memoryStats());
        System.out.println("PROBE OK");
    }

    private static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError("check failed: " + what);
    }
}
