package diffir.engine.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static diffir.engine.io.IoFixtures.path;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Truncated and randomly corrupted files must end in a CheckpointFormatException naming the file, or
 * read successfully, quickly: never another exception, an error or a hang.
 */
class CorruptFilesTest {
    @TempDir
    Path dir;

    @FunctionalInterface
    interface Reader {
        void read(Path p) throws IOException;
    }

    private static final Reader PTH = p -> PthReader.readStateDict(p, "params_ema", "params");
    private static final Reader NPY = Npy::read;
    private static final Reader SAFETENSORS = SafeTensors::read;

    @Test
    void truncatedFiles() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (String f : new String[]{"views.pth", "params.pth", "protocol4.pth"}) truncations(f, PTH);
            truncations("f8_3d.npy", NPY);
            truncations("views_ref.safetensors", SAFETENSORS);
        });
    }

    @Test
    void randomByteCorruption() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (String f : new String[]{"views.pth", "params.pth", "protocol4.pth", "state_dict.pth"}) corruptions(f, PTH, 200);
            corruptions("f8_3d.npy", NPY, 200);
            corruptions("f4_v3.npy", NPY, 200);
            corruptions("views_ref.safetensors", SAFETENSORS, 300);
        });
    }

    /** Corrupts the pickle itself and repacks the archive with valid CRCs, so the pickle machine sees the damage. */
    @Test
    void corruptPicklesInValidArchives() {
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (String f : new String[]{"views.pth", "params.pth", "protocol4.pth"}) {
                byte[] pickle;
                try (ZipFile z = new ZipFile(path(f).toFile())) {
                    ZipEntry e = z.stream().filter(x -> x.getName().endsWith("/data.pkl")).findFirst().orElseThrow();
                    pickle = z.getInputStream(e).readAllBytes();
                }
                SplittableRandom rng = new SplittableRandom(f.hashCode());
                for (int seed = 0; seed < 250; seed++) {
                    byte[] bad = seed % 4 == 0 ? Arrays.copyOf(pickle, rng.nextInt(pickle.length)) : mutate(pickle, rng);
                    Path p = dir.resolve("repacked.pth");
                    Files.write(p, repack(path(f), bad));
                    expectOnlyFormatErrors(p, PTH, f + " pickle seed " + seed);
                }
            }
        });
    }

    private void truncations(String name, Reader reader) throws IOException {
        byte[] good = Files.readAllBytes(path(name));
        Path p = dir.resolve("cut-" + name);
        int step = Math.max(1, good.length / 150);
        for (int cut = 0; cut < good.length; cut += step) {
            Files.write(p, Arrays.copyOf(good, cut));
            try {
                reader.read(p);
                fail(name + " cut to " + cut + " of " + good.length + " bytes was accepted");
            } catch (CheckpointFormatException expected) {
                // a clear refusal naming the file
            } catch (IOException | RuntimeException | Error e) {
                throw new AssertionError(name + " cut to " + cut + " bytes: " + e, e);
            }
        }
    }

    private void corruptions(String name, Reader reader, int seeds) throws IOException {
        byte[] good = Files.readAllBytes(path(name));
        Path p = dir.resolve("bad-" + name);
        SplittableRandom rng = new SplittableRandom(name.hashCode());
        for (int seed = 0; seed < seeds; seed++) {
            Files.write(p, mutate(good, rng));
            expectOnlyFormatErrors(p, reader, name + " seed " + seed);
        }
    }

    /** 1 to 4 random bytes set to random values. */
    private static byte[] mutate(byte[] good, SplittableRandom rng) {
        byte[] b = good.clone();
        int n = 1 + rng.nextInt(4);
        for (int i = 0; i < n; i++) b[rng.nextInt(b.length)] = (byte) rng.nextInt(256);
        return b;
    }

    private static void expectOnlyFormatErrors(Path p, Reader reader, String what) {
        try {
            reader.read(p);
        } catch (CheckpointFormatException expected) {
            // a clear refusal naming the file (or the damage missed everything that matters)
        } catch (IOException | RuntimeException | Error e) {
            throw new AssertionError(what + ": " + e, e);
        }
    }

    /** The archive with data.pkl replaced (and every entry's CRC valid). */
    private static byte[] repack(Path original, byte[] pickle) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipFile in = new ZipFile(original.toFile()); ZipOutputStream z = new ZipOutputStream(out)) {
            for (ZipEntry e : in.stream().toList()) {
                z.putNextEntry(new ZipEntry(e.getName()));
                z.write(e.getName().endsWith("/data.pkl") ? pickle : in.getInputStream(e).readAllBytes());
                z.closeEntry();
            }
        }
        return out.toByteArray();
    }
}
