package diffir.data;

import diffir.image.LoadedImage;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.NoSuchFileException;

import static org.junit.jupiter.api.Assertions.*;

class SamplesTest {
    @Test
    void everySampleLoadsWithinTheSizeLimit() throws IOException {
        for (String name : Samples.names()) {
            LoadedImage img = Samples.load(name);
            assertTrue(img.image().height() <= 256 && img.image().width() <= 256, name);
            assertEquals(Samples.PHOTOS.contains(name) ? 3 : 1, img.image().channels(), name);
        }
        var e = assertThrows(NoSuchFileException.class, () -> Samples.load("lena"));
        assertTrue(e.getMessage().contains("astronaut"), e.getMessage());
    }
}
