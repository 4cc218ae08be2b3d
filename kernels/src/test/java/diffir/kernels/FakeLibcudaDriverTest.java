package diffir.kernels;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * CudaDriver's use of the CUDA driver API through JCuda, checked without a GPU: a child JVM loads a
 * libcuda.so.1 stand-in (src/test/emu/fake_libcuda.c; host memory, range-checked copies, per-thread
 * context checks) before JCuda's natives bind to it, and runs {@link FakeLibcudaProbe}. A child, so the
 * stand-in never looks like a GPU to the other tests.
 */
class FakeLibcudaDriverTest {
    @Test
    void driverPlumbingWorksAgainstTheStandIn() throws Exception {
        Path src = Path.of(System.getProperty("diffir.kernels.emulator.source", "src/test/emu"), "fake_libcuda.c").toAbsolutePath();
        Path out = Path.of(System.getProperty("diffir.kernels.emulator.build", "target/emu")).toAbsolutePath().resolve("fakecuda");
        Files.createDirectories(out);
        Path lib = out.resolve("libcuda.so.1");
        Process cc = new ProcessBuilder("gcc", "-O1", "-fPIC", "-shared", "-Wl,-soname,libcuda.so.1", "-o", lib.toString(),
                src.toString(), "-lpthread").redirectErrorStream(true).start();
        String ccOut = new String(cc.getInputStream().readAllBytes());
        boolean built = cc.waitFor(120, TimeUnit.SECONDS) && cc.exitValue() == 0;
        if (!built) System.out.println("SKIPPED fake libcuda test: gcc failed: " + ccOut);
        Assumptions.assumeTrue(built, "gcc could not build the libcuda stand-in");

        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx2g",
                "-cp", System.getProperty("java.class.path"), FakeLibcudaProbe.class.getName(), lib.toString()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "probe timed out:\n" + output);
        System.out.println(output);
        assertEquals(0, p.exitValue(), "probe failed:\n" + output);
        assertTrue(output.contains("PROBE OK"), output);
    }
}
