package diffir.kernels;

import diffir.engine.Device;
import diffir.engine.backend.BackendProvider;
import org.junit.jupiter.api.Test;

import java.util.ServiceLoader;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The provider's availability check: one clean line where there is no GPU, a working device where there is. */
class CudaBackendProviderTest {
    @Test
    void providerIsFoundByTheServiceLoader() {
        BackendProvider found = null;
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) if (p.name().equals("cuda")) found = p;
        assertNotNull(found, "META-INF/services must list diffir.kernels.CudaBackendProvider");
        assertTrue(found instanceof CudaBackendProvider);
    }

    @Test
    void reportsWhyCudaIsUnavailableInOneLine() {
        String why = new CudaBackendProvider().unavailableReason();
        if (why == null) {
            // A GPU machine: the device must work.
            assertTrue(Device.cudaAvailable());
            assertEquals("cuda", Device.cuda().backend().name());
            System.out.println("CUDA device: " + Device.cuda().backend().describe());
            return;
        }
        System.out.println("CUDA unavailable here, as expected without a GPU: " + why);
        assertTrue(why.startsWith("no CUDA device: "), why);
        assertFalse(why.contains("\n"), "one line: " + why);
        assertTrue(why.length() < 300, "short: " + why);
        assertFalse(Device.cudaAvailable());
        var e = assertThrows(Device.DeviceUnavailableException.class, () -> Device.of("cuda"));
        assertTrue(e.getMessage().contains("no CUDA device"), e.getMessage());
        // Asking again gives the same answer (the probe runs once).
        assertEquals(why, new CudaBackendProvider().unavailableReason());
    }
}
