package diffir.kernels.fused;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.kernels.Dim3;
import diffir.kernels.KernelLauncher;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad arguments to the fused kernels' glue fail up front with one message naming the problem; nothing is launched. */
class FusedArgsTest {
    /** Fails the test if the glue gets as far as launching or allocating. */
    static final KernelLauncher NO_LAUNCH = new KernelLauncher() {
        @Override
        public void launch(String kernel, Dim3 grid, Dim3 block, int sharedBytes, Object... args) {
            throw new AssertionError("launched " + kernel + " despite bad arguments");
        }

        @Override
        public Tensor scratch(int... shape) {
            throw new AssertionError("allocated scratch despite bad arguments");
        }

        @Override
        public int multiprocessors() {
            return 132;
        }
    };

    static Tensor t(int... shape) {
        return Tensor.zeros(Device.CPU, shape);
    }

    static void fails(String expected, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), "message '" + e.getMessage() + "' should mention '" + expected + "'");
    }

    @Test
    void layerNormShapes() {
        Tensor x = t(2, 5, 3, 4), w = t(5), mean = t(2, 3, 4), rstd = t(2, 3, 4), out = t(2, 5, 3, 4);
        fails("rank 4", () -> ModulatedLayerNormKernels.forward(NO_LAUNCH, t(5, 3, 4), w, null, null, 1e-5f, out, mean, rstd));
        fails("weight has shape [6]", () -> ModulatedLayerNormKernels.forward(NO_LAUNCH, x, t(6), null, null, 1e-5f, out, mean, rstd));
        fails("bias has shape [4]", () -> ModulatedLayerNormKernels.forward(NO_LAUNCH, x, w, t(4), null, 1e-5f, out, mean, rstd));
        fails("modulation has shape [2, 5]", () -> ModulatedLayerNormKernels.forward(NO_LAUNCH, x, w, null, t(2, 5), 1e-5f, out, mean, rstd));
        fails("mean has shape [2, 12]", () -> ModulatedLayerNormKernels.forward(NO_LAUNCH, x, w, null, null, 1e-5f, out, t(2, 12), rstd));
        fails("out is null", () -> ModulatedLayerNormKernels.forward(NO_LAUNCH, x, w, null, null, 1e-5f, null, mean, rstd));
        fails("eps", () -> ModulatedLayerNormKernels.forward(NO_LAUNCH, x, w, null, null, Float.NaN, out, mean, rstd));
        fails("gb requested for a BiasFree", () -> ModulatedLayerNormKernels.backward(NO_LAUNCH, x, w, null, null, mean, rstd, out, null, null, t(5), null));
        fails("gmod requested without a modulation", () -> ModulatedLayerNormKernels.backward(NO_LAUNCH, x, w, null, null, mean, rstd, out, null, null, null, t(2, 10)));
        fails("gy has shape [2, 5, 4, 3]", () -> ModulatedLayerNormKernels.backward(NO_LAUNCH, x, w, null, null, mean, rstd, t(2, 5, 4, 3), x, null, null, null));
    }

    @Test
    void gatedDwConvShapes() {
        Tensor x = t(2, 6, 5, 7), w = t(6, 1, 3, 3), out = t(2, 3, 5, 7);
        fails("even channel count", () -> GatedDwConvKernels.forward(NO_LAUNCH, t(2, 5, 5, 7), t(5, 1, 3, 3), null, t(2, 2, 5, 7)));
        fails("kernel size 7 is not supported", () -> GatedDwConvKernels.forward(NO_LAUNCH, x, t(6, 1, 7, 7), null, out));
        fails("weight has shape [6, 1, 3, 5]", () -> GatedDwConvKernels.forward(NO_LAUNCH, x, t(6, 1, 3, 5), null, out));
        fails("weight has shape [4, 1, 3, 3]", () -> GatedDwConvKernels.forward(NO_LAUNCH, x, t(4, 1, 3, 3), null, out));
        fails("bias has shape [3]", () -> GatedDwConvKernels.forward(NO_LAUNCH, x, w, t(3), out));
        fails("out has shape [2, 6, 5, 7]", () -> GatedDwConvKernels.forward(NO_LAUNCH, x, w, null, t(2, 6, 5, 7)));
        fails("gy has shape [2, 6, 5, 7]", () -> GatedDwConvKernels.backward(NO_LAUNCH, x, w, null, t(2, 6, 5, 7), x, null, null));
        fails("gw has shape [6, 3, 3]", () -> GatedDwConvKernels.backward(NO_LAUNCH, x, w, null, out, null, t(6, 3, 3), null));
    }

    @Test
    void channelAttentionShapes() {
        Tensor qkv = t(2, 18, 3, 5), temp = t(2, 1, 1), out = t(2, 6, 3, 5), attn = t(2, 2, 3, 3), norms = t(2, 12);
        fails("C divisible by 4 heads", () -> ChannelAttentionKernels.forward(NO_LAUNCH, qkv, t(4, 1, 1), 4, out, attn, norms, null));
        fails("(N, 3C, H, W)", () -> ChannelAttentionKernels.forward(NO_LAUNCH, t(2, 17, 3, 5), temp, 2, out, attn, norms, null));
        fails("heads must be >= 1", () -> ChannelAttentionKernels.forward(NO_LAUNCH, qkv, temp, 0, out, attn, norms, null));
        fails("one value per head", () -> ChannelAttentionKernels.forward(NO_LAUNCH, qkv, t(3, 1, 1), 2, out, attn, norms, null));
        fails("attn has shape [2, 1, 3, 3]", () -> ChannelAttentionKernels.forward(NO_LAUNCH, qkv, temp, 2, out, t(2, 1, 3, 3), norms, null));
        fails("norms has shape [2, 6]", () -> ChannelAttentionKernels.forward(NO_LAUNCH, qkv, temp, 2, out, attn, t(2, 6), null));
        fails("gqkv has shape [2, 6, 3, 5]", () -> ChannelAttentionKernels.backward(NO_LAUNCH, qkv, temp, 2, attn, norms, null, out, t(2, 6, 3, 5), null));
        fails("gtemp has shape [2]", () -> ChannelAttentionKernels.backward(NO_LAUNCH, qkv, temp, 2, attn, norms, null, out, null, t(2)));
        fails("gram has shape [2, 1, 3, 3]", () -> ChannelAttentionKernels.backward(NO_LAUNCH, qkv, temp, 2, attn, norms, t(2, 1, 3, 3), out, null, temp));
    }

    @Test
    void attentionTilesCoverTheChannelsWithLittlePadding() {
        // c -> (tiles, r): rows per tile 4r <= 64, tiles * 4r >= c.
        int[][] expected = {{1, 1, 1}, {3, 1, 1}, {5, 1, 2}, {48, 1, 12}, {52, 1, 13}, {64, 1, 16}, {70, 2, 9}, {96, 2, 12}, {128, 2, 16}};
        for (int[] e : expected) {
            ChannelAttentionKernels.Geometry g = ChannelAttentionKernels.Geometry.of("test", t(1, 3 * e[0], 4, 4), t(1), 1, 4 * 132, 1, true);
            assertEquals(e[1], g.tiles(), "tiles for c = " + e[0]);
            assertEquals(e[2], g.r(), "r for c = " + e[0]);
            assertTrue(g.tiles() * 4 * g.r() >= e[0] && 4 * g.r() <= 64, "tiles cover c = " + e[0]);
        }
        // The level-1 Gram (4 images, one head, 256x256) with 3 resident blocks on each of 132 SMs (396
        // slots): 94 chunks of 704 pixels, 376 blocks, one wave.
        assertEquals(704, ChannelAttentionKernels.Geometry.chunkLength(65536, 4, 396));
        // The backward launches both products at once (8 blocks per chunk): 49 chunks of 1344, 392 blocks.
        assertEquals(1344, ChannelAttentionKernels.Geometry.chunkLength(65536, 8, 396));
        // Tiny images: one 64-pixel stage per chunk at least.
        assertEquals(64, ChannelAttentionKernels.Geometry.chunkLength(91, 1, 528));
        assertEquals(128, ChannelAttentionKernels.Geometry.chunkLength(91, 8, 4));  // one chunk of 2 stages
        assertEquals(1024, ChannelAttentionKernels.Geometry.chunkLength(1000, 1, 0));  // no slots: one chunk
        // DIRformer's 48 channels per head take the kernels built for r = 12 when rows are aligned.
        var g48 = ChannelAttentionKernels.Geometry.of("test", t(2, 3 * 48, 8, 8), t(1), 1, 396, 1, true);
        assertEquals("fused_attn_gram_r12", g48.gram());
        assertEquals("fused_attn_apply_r12", g48.applyKernel(false, true));
        assertEquals("fused_attn_apply_pair_r12", g48.applyKernel(true, true));
        assertEquals("fused_attn_apply_v1", g48.applyKernel(false, false));
        assertEquals("fused_attn_gram_v1", ChannelAttentionKernels.Geometry.of("test", t(2, 3 * 48, 8, 8), t(1), 1, 396, 1, false).gram());
    }
}
