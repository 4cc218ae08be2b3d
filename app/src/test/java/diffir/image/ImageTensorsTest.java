package diffir.image;

import diffir.engine.Device;
import diffir.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ImageTensorsTest {
    @Test
    void batchesAreNchwAndRoundTrip() {
        Image a = TestImages.ramp(3, 5, 7), b = Geometry.flipVertical(a);
        Tensor t = ImageTensors.toBatch(List.of(a, b), Device.CPU);
        assertArrayEquals(new int[]{2, 3, 5, 7}, t.shape());
        float[] all = t.toFloatArray();
        assertEquals(b.get(2, 4, 6), all[((1 * 3 + 2) * 5 + 4) * 7 + 6]);
        List<Image> back = ImageTensors.fromBatch(t);
        assertArrayEquals(a.data(), back.get(0).data());
        assertArrayEquals(b.data(), ImageTensors.fromBatch(t, 1).data());
        assertArrayEquals(new int[]{1, 3, 5, 7}, ImageTensors.toBatch(a, Device.CPU).shape());
    }

    @Test
    void rejectsMixedShapes() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> ImageTensors.toBatch(List.of(Image.zeros(3, 4, 4), Image.zeros(3, 4, 5)), Device.CPU));
        assertTrue(e.getMessage().contains("3x4x5"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ImageTensors.fromBatch(Tensor.zeros(Device.CPU, 3, 4, 4)));
    }

    @Test
    void quantisationRoundsHalfToEvenAndClamps() {
        assertEquals(0, Quantize.code8(Float.NaN));
        assertEquals(0, Quantize.code8(-1f));
        assertEquals(255, Quantize.code8(7f));
        assertEquals(2, Quantize.code8(2.5f / 255)); // 2.5 -> 2 (float32 of 2.5/255 times 255 is exactly 2.5)
        assertEquals(128, Quantize.code8(0.5f));     // 127.5 -> 128
        assertEquals(65535, Quantize.code16(1f));
        for (int k = 0; k < 256; k++) assertEquals(k, Quantize.code8(k / 255f));
    }
}
