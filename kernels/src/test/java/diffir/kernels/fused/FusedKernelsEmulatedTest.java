package diffir.kernels.fused;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.testing.Assert;
import diffir.engine.testing.Fixtures;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused CUDA kernels and their glue, run on the CPU through {@link EmulatedLauncher} and compared
 * with PyTorch float64 fixtures (kernels/src/test/python/gen_fused_kernels.py). Every output starts
 * as NaN, so an element a kernel fails to write fails the comparison. Forward rel err <= 1e-5,
 * backward <= 1e-4 (the project's fixture bounds). Where the shape is one the opt-in pipelined kernels
 * serve ({@link FusedPaths}), a case runs with them off (the shipped default) and on.
 */
class FusedKernelsEmulatedTest {
    static final double FWD = 1e-5, BWD = 1e-4;
    static EmulatedLauncher emu;

    @BeforeAll
    static void emulator() {
        emu = EmulatedLauncher.get();
    }

    @BeforeEach
    void defaults() {
        emu.threadOrder(2);
        emu.multiprocessors(8);
        emu.takeLaunched();
    }

    static Tensor nan(int... shape) {
        return Tensor.full(Device.CPU, Float.NaN, shape);
    }

    static Tensor get(Map<String, Tensor> f, String key) {
        return Fixtures.get(f, key);
    }

    // ------------------------------------------------------------------------------ LayerNorm

    @ParameterizedTest
    @ValueSource(strings = {"fused_ln_wb_mod", "fused_ln_bf_plain", "fused_ln_wb_plain_v4", "fused_ln_bf_mod_v4",
            "fused_ln_wb_mod_c130_v4", "fused_ln_bf_mod_c100", "fused_ln_wb_c48"})
    void layerNormForward(String name) {
        Map<String, Tensor> f = Fixtures.load(name);
        Tensor x = get(f, "x");
        int[] s = x.shape();
        Tensor out = nan(s), mean = nan(s[0], s[2], s[3]), rstd = nan(s[0], s[2], s[3]);
        ModulatedLayerNormKernels.forward(emu, x, get(f, "weight"), f.get("bias"), f.get("mod"), 1e-5f, out, mean, rstd);
        Assert.close(out, get(f, "out"), FWD, name + " out");
        Assert.close(mean, get(f, "mean"), FWD, name + " mean");
        Assert.close(rstd, get(f, "rstd"), FWD, name + " rstd");
    }

    @ParameterizedTest
    @ValueSource(strings = {"fused_ln_wb_mod", "fused_ln_bf_plain", "fused_ln_wb_plain_v4", "fused_ln_bf_mod_v4",
            "fused_ln_wb_mod_c130_v4", "fused_ln_bf_mod_c100", "fused_ln_wb_c48"})
    void layerNormBackward(String name) {
        Map<String, Tensor> f = Fixtures.load(name);
        Tensor x = get(f, "x"), bias = f.get("bias"), mod = f.get("mod");
        int[] s = x.shape();
        int c = s[1];
        Tensor gx = nan(s), gw = nan(c), gb = bias != null ? nan(c) : null, gmod = mod != null ? nan(s[0], 2 * c) : null;
        ModulatedLayerNormKernels.backward(emu, x, get(f, "weight"), bias, mod, get(f, "mean"), get(f, "rstd"), get(f, "gout"),
                gx, gw, gb, gmod);
        Assert.close(gx, get(f, "gx"), BWD, name + " gx");
        Assert.close(gw, get(f, "gweight"), BWD, name + " gweight");
        if (bias != null) Assert.close(gb, get(f, "gbias"), BWD, name + " gbias");
        if (mod != null) Assert.close(gmod, get(f, "gmod"), BWD, name + " gmod");
    }

    /** Each gradient alone (the others null) equals the fixture: the kernels skip work correctly. */
    @Test
    void layerNormBackwardSingleOutputs() {
        Map<String, Tensor> f = Fixtures.load("fused_ln_wb_mod");
        Tensor x = get(f, "x"), w = get(f, "weight"), b = get(f, "bias"), mod = get(f, "mod");
        int[] s = x.shape();
        Tensor mean = get(f, "mean"), rstd = get(f, "rstd"), g = get(f, "gout");
        Tensor gx = nan(s);
        ModulatedLayerNormKernels.backward(emu, x, w, b, mod, mean, rstd, g, gx, null, null, null);
        Assert.close(gx, get(f, "gx"), BWD, "gx alone");
        Tensor gw = nan(s[1]);
        ModulatedLayerNormKernels.backward(emu, x, w, b, mod, mean, rstd, g, null, gw, null, null);
        Assert.close(gw, get(f, "gweight"), BWD, "gw alone");
        Tensor gb = nan(s[1]);
        ModulatedLayerNormKernels.backward(emu, x, w, b, mod, mean, rstd, g, null, null, gb, null);
        Assert.close(gb, get(f, "gbias"), BWD, "gb alone");
        Tensor gmod = nan(s[0], 2 * s[1]);
        ModulatedLayerNormKernels.backward(emu, x, w, b, mod, mean, rstd, g, null, null, null, gmod);
        Assert.close(gmod, get(f, "gmod"), BWD, "gmod alone");
        emu.takeLaunched();
        ModulatedLayerNormKernels.backward(emu, x, w, b, mod, mean, rstd, g, null, null, null, null);
        assertEquals(List.of(), emu.takeLaunched(), "no gradient requested: no launch");
    }

    // ------------------------------------------------------------------------------ GDFN

    @ParameterizedTest
    @ValueSource(strings = {"fused_gdfn_k3_bias", "fused_gdfn_k3_tiles", "fused_gdfn_k5_bias", "fused_gdfn_k1", "fused_gdfn_k3_v4",
            "fused_gdfn_k5_v4", "fused_gdfn_k1_v4", "fused_gdfn_k3_strip_v4"})
    void gatedDwConvForward(String name) {
        Map<String, Tensor> f = Fixtures.load(name);
        Tensor ref = get(f, "out");
        Tensor out = nan(ref.shape());
        GatedDwConvKernels.forward(emu, get(f, "x"), get(f, "weight"), f.get("bias"), out);
        Assert.close(out, ref, FWD, name + " out");
    }

    /**
     * Every GDFN fixture with the pipelined kernels off; those with 3x3 taps on float4 rows (where the
     * switch picks the row-walking backward) also with them on.
     */
    static Stream<Arguments> gdfnBackwardCases() {
        return Stream.of("fused_gdfn_k3_bias", "fused_gdfn_k3_tiles", "fused_gdfn_k5_bias", "fused_gdfn_k1", "fused_gdfn_k3_v4",
                        "fused_gdfn_k5_v4", "fused_gdfn_k1_v4", "fused_gdfn_k3_strip_v4")
                .flatMap(name -> {
                    Map<String, Tensor> f = Fixtures.load(name);
                    boolean strip = get(f, "weight").dim(2) == 3 && get(f, "x").dim(3) % 4 == 0;
                    return strip ? Stream.of(Arguments.of(name, false), Arguments.of(name, true)) : Stream.of(Arguments.of(name, false));
                });
    }

    @ParameterizedTest
    @MethodSource("gdfnBackwardCases")
    void gatedDwConvBackward(String name, boolean pipelined) {
        PipelinedSwitch.with(pipelined, () -> {
            Map<String, Tensor> f = Fixtures.load(name);
            Tensor x = get(f, "x"), w = get(f, "weight"), bias = f.get("bias");
            Tensor gx = nan(x.shape()), gw = nan(w.shape()), gb = bias != null ? nan(bias.shape()) : null;
            GatedDwConvKernels.backward(emu, x, w, bias, get(f, "gout"), gx, gw, gb);
            String what = name + (pipelined ? " (pipelined)" : "");
            Assert.close(gx, get(f, "gx"), BWD, what + " gx");
            Assert.close(gw, get(f, "gweight"), BWD, what + " gweight");
            if (bias != null) Assert.close(gb, get(f, "gbias"), BWD, what + " gbias");
        });
    }

    /**
     * Switched on, 3x3 taps on float4 rows run the backward that walks rows of tiles; off (the
     * default), the one-tile kernels run as before it. Other shapes take the one-tile kernels either way.
     */
    @Test
    void gdfnBackwardWalksRowsOfTilesOnlyWhenSwitchedOn() {
        gatedDwConvBackward("fused_gdfn_k3_strip_v4", true);
        assertEquals(List.of("fused_gdfn_bwd_strip_k3", "fused_gdfn_bwd_finalize"), emu.takeLaunched());
        gatedDwConvBackward("fused_gdfn_k3_strip_v4", false);
        assertEquals(List.of("fused_gdfn_bwd_k3_v4", "fused_gdfn_bwd_finalize"), emu.takeLaunched());
        for (boolean pipelined : new boolean[]{false, true}) {
            gatedDwConvBackward("fused_gdfn_k3_tiles", pipelined);
            assertEquals(List.of("fused_gdfn_bwd_k3", "fused_gdfn_bwd_finalize"), emu.takeLaunched());
        }
    }

    @Test
    void gatedDwConvBackwardSingleOutputs() {
        Map<String, Tensor> f = Fixtures.load("fused_gdfn_k3_bias");
        Tensor x = get(f, "x"), w = get(f, "weight"), b = get(f, "bias"), g = get(f, "gout");
        Tensor gx = nan(x.shape());
        GatedDwConvKernels.backward(emu, x, w, b, g, gx, null, null);
        Assert.close(gx, get(f, "gx"), BWD, "gx alone");
        Tensor gw = nan(w.shape());
        GatedDwConvKernels.backward(emu, x, w, b, g, null, gw, null);
        Assert.close(gw, get(f, "gweight"), BWD, "gw alone");
        Tensor gb = nan(b.shape());
        GatedDwConvKernels.backward(emu, x, w, b, g, null, null, gb);
        Assert.close(gb, get(f, "gbias"), BWD, "gb alone");
    }

    // ------------------------------------------------------------------------------ attention

    static int heads(String name) {
        return name.contains("_h3_") ? 3 : name.contains("_h2_") || name.contains("zero_row") ? 2 : 1;
    }

    /**
     * Attention cases, each with 8 emulated multiprocessors (several pixel chunks per image) and with
     * 0 (the glue then makes one chunk per image, so the Gram loops over several stages); each with the
     * pipelined kernels off, and those whose shape the pipelined kernels serve also with them on.
     */
    static Stream<Arguments> attentionCases() {
        return Stream.of("fused_attn_h3_c9", "fused_attn_h1_c5", "fused_attn_h2_c96_v4", "fused_attn_h1_c70_v4", "fused_attn_zero_row",
                        "fused_attn_h1_c48_v4", "fused_attn_h2_c32_v4", "fused_attn_h2_c64_v4", "fused_attn_h1_c64_v4",
                        "fused_attn_h1_c48_long_v4", "fused_attn_h1_c32_long_v4", "fused_attn_h1_c16_long_v4")
                .flatMap(name -> (pipelinable(name) ? Stream.of(false, true) : Stream.of(false))
                        .flatMap(p -> Stream.of(Arguments.of(name, 8, p), Arguments.of(name, 0, p))));
    }

    /** True when the pipelined kernels have a build for the shape of attention fixture {@code name}. */
    static boolean pipelinable(String name) {
        Map<String, Tensor> f = Fixtures.load(name);
        Tensor qkv = get(f, "qkv");
        boolean vec = FusedArgs.vectorizable(qkv.dim(2) * qkv.dim(3), qkv);
        return ChannelAttentionKernels.Geometry.of("test", qkv, get(f, "temperature"), heads(name), 0, 1, vec).pipelinable();
    }

    static String label(String name, boolean pipelined) {
        return name + (pipelined ? " (pipelined)" : "");
    }

    @ParameterizedTest
    @MethodSource("attentionCases")
    void channelAttentionForward(String name, int sms, boolean pipelined) {
        emu.multiprocessors(sms);
        PipelinedSwitch.with(pipelined, () -> {
            Map<String, Tensor> f = Fixtures.load(name);
            Tensor qkv = get(f, "qkv");
            int[] s = qkv.shape();
            int heads = heads(name), c = s[1] / 3;
            Tensor out = nan(s[0], c, s[2], s[3]), attn = nan(s[0], heads, c / heads, c / heads), norms = nan(s[0], 2 * c);
            ChannelAttentionKernels.forward(emu, qkv, get(f, "temperature"), heads, out, attn, norms, null);
            String what = label(name, pipelined);
            Assert.close(out, get(f, "out"), FWD, what + " out");
            Assert.close(attn, get(f, "attn"), FWD, what + " attn");
            Assert.close(norms, get(f, "norms"), FWD, what + " norms");
        });
    }

    @ParameterizedTest
    @MethodSource("attentionCases")
    void channelAttentionBackward(String name, int sms, boolean pipelined) {
        emu.multiprocessors(sms);
        PipelinedSwitch.with(pipelined, () -> {
            Map<String, Tensor> f = Fixtures.load(name);
            Tensor qkv = get(f, "qkv"), t = get(f, "temperature");
            int heads = heads(name);
            Tensor gqkv = nan(qkv.shape()), gt = nan(t.shape());
            ChannelAttentionKernels.backward(emu, qkv, t, heads, get(f, "attn"), get(f, "norms"), null, get(f, "gout"), gqkv, gt);
            String what = label(name, pipelined);
            Assert.close(gqkv, get(f, "gqkv"), BWD, what + " gqkv");
            Assert.close(gt, get(f, "gtemp"), BWD, what + " gtemp");
        });
    }

    /** The backward given the Q K^T the forward saved (no second pass over q and k) equals the fixtures too. */
    @ParameterizedTest
    @MethodSource("attentionCases")
    void channelAttentionBackwardWithSavedGram(String name, int sms, boolean pipelined) {
        emu.multiprocessors(sms);
        PipelinedSwitch.with(pipelined, () -> {
            Map<String, Tensor> f = Fixtures.load(name);
            Tensor qkv = get(f, "qkv"), t = get(f, "temperature");
            int[] s = qkv.shape();
            int heads = heads(name), c = s[1] / 3;
            Tensor out = nan(s[0], c, s[2], s[3]), attn = nan(s[0], heads, c / heads, c / heads), norms = nan(s[0], 2 * c);
            Tensor gram = nan(s[0], heads, c / heads, c / heads);
            ChannelAttentionKernels.forward(emu, qkv, t, heads, out, attn, norms, gram);
            String what = label(name, pipelined);
            Assert.close(out, get(f, "out"), FWD, what + " out (saving the Gram)");
            Tensor gqkv = nan(qkv.shape()), gt = nan(t.shape());
            ChannelAttentionKernels.backward(emu, qkv, t, heads, attn, norms, gram, get(f, "gout"), gqkv, gt);
            Assert.close(gqkv, get(f, "gqkv"), BWD, what + " gqkv (saved Gram)");
            Assert.close(gt, get(f, "gtemp"), BWD, what + " gtemp (saved Gram)");
        });
    }

    /**
     * Switched on, heads of exactly 4r channels (r = 12, 8, 4) with aligned pixel rows run the
     * pipelined kernels (three launches forward; backward with the saved Q K^T: two passes and their
     * one reduction, and the temperature sum); other shapes the general ones. Switched off (the
     * default), no pipelined kernel runs. Guards against the tests above passing on the wrong path.
     */
    @Test
    void pipelinedKernelsServeHeadsOfFourRChannelsOnlyWhenSwitchedOn() {
        String[][] cases = {{"fused_attn_h1_c48_long_v4", "12"}, {"fused_attn_h2_c96_v4", "12"}, {"fused_attn_h1_c32_long_v4", "8"},
                {"fused_attn_h1_c16_long_v4", "4"}, {"fused_attn_h2_c32_v4", "4"}};
        for (String[] c : cases) {
            String r = c[1];
            channelAttentionBackwardWithSavedGram(c[0], 8, true);
            List<String> k = emu.takeLaunched();
            assertEquals(List.of("fused_attn_gram_pipe_r" + r, "fused_attn_reduce", "fused_attn_apply_softmax_r" + r,
                    "fused_attn_gram_gv_r" + r, "fused_attn_reduce", "fused_attn_pair_r" + r, "fused_attn_gtemp"), k, c[0]);
            assertTrue(pipelinable(c[0]), c[0]);
        }
        channelAttentionForward("fused_attn_h1_c70_v4", 8, true);
        assertTrue(emu.takeLaunched().stream().noneMatch(FusedKernelsEmulatedTest::isPipelinedKernel), "c = 70: general kernels");

        // Off: the same shapes take the general kernels, as before the pipelined ones existed.
        channelAttentionBackwardWithSavedGram("fused_attn_h1_c48_long_v4", 8, false);
        assertEquals(List.of("fused_attn_gram_r12", "fused_attn_reduce", "fused_attn_softmax", "fused_attn_apply_r12",
                "fused_attn_gram_r12", "fused_attn_reduce", "fused_attn_bwd_coef", "fused_attn_gtemp", "fused_attn_apply_pair_r12",
                "fused_attn_apply_r12"), emu.takeLaunched());
        for (String[] c : cases) {
            channelAttentionBackwardWithSavedGram(c[0], 8, false);
            channelAttentionBackward(c[0], 0, false);
            assertTrue(emu.takeLaunched().stream().noneMatch(FusedKernelsEmulatedTest::isPipelinedKernel), c[0] + " off: general kernels");
        }
    }

    static boolean isPipelinedKernel(String kernel) {
        return kernel.matches("fused_attn_(gram_pipe|apply_softmax|gram_gv|pair)_r\\d+");
    }

    @Test
    void channelAttentionBackwardSingleOutputs() {
        Map<String, Tensor> f = Fixtures.load("fused_attn_h3_c9");
        Tensor qkv = get(f, "qkv"), t = get(f, "temperature"), attn = get(f, "attn"), norms = get(f, "norms"), g = get(f, "gout");
        Tensor gqkv = nan(qkv.shape());
        ChannelAttentionKernels.backward(emu, qkv, t, 3, attn, norms, null, g, gqkv, null);
        Assert.close(gqkv, get(f, "gqkv"), BWD, "gqkv alone");
        Tensor gt = nan(t.shape());
        ChannelAttentionKernels.backward(emu, qkv, t, 3, attn, norms, null, g, null, gt);
        Assert.close(gt, get(f, "gtemp"), BWD, "gtemp alone");

    }

    /** The pipelined kernels (c = 48), recomputing Q K^T: each output alone. */
    @Test
    void pipelinedChannelAttentionBackwardSingleOutputs() {
        PipelinedSwitch.with(true, () -> {
            Map<String, Tensor> f = Fixtures.load("fused_attn_h1_c48_long_v4");
            Tensor qkv = get(f, "qkv"), t = get(f, "temperature"), attn = get(f, "attn"), norms = get(f, "norms"), g = get(f, "gout");
            Tensor gqkv = nan(qkv.shape());
            ChannelAttentionKernels.backward(emu, qkv, t, 1, attn, norms, null, g, gqkv, null);
            Assert.close(gqkv, get(f, "gqkv"), BWD, "pipelined gqkv alone");
            Tensor gt = nan(t.shape());
            ChannelAttentionKernels.backward(emu, qkv, t, 1, attn, norms, null, g, null, gt);
            Assert.close(gt, get(f, "gtemp"), BWD, "pipelined gtemp alone");
        });
        assertTrue(emu.takeLaunched().contains("fused_attn_gram_gv_r12"), "the pipelined path ran");
    }

    // ------------------------------------------------------------------------------ races

    /**
     * A missing __syncthreads shows as wrong results in some thread order: run one case of each op
     * with threads in forward and in reverse order (the other tests shuffle them), the default kernels
     * and then the pipelined ones.
     */
    @Test
    void resultsDoNotDependOnThreadOrder() {
        try {
            for (int order : new int[]{0, 1}) {
                emu.threadOrder(order);
                layerNormBackward("fused_ln_wb_plain_v4");
                gatedDwConvBackward("fused_gdfn_k3_tiles", false);
                gatedDwConvBackward("fused_gdfn_k3_v4", false);
                gatedDwConvBackward("fused_gdfn_k3_strip_v4", true);
                for (int sms : new int[]{8, 0}) {
                    channelAttentionForward("fused_attn_h1_c70_v4", sms, false);
                    channelAttentionBackward("fused_attn_h1_c70_v4", sms, false);
                    channelAttentionForward("fused_attn_h2_c96_v4", sms, false);
                    channelAttentionBackward("fused_attn_h1_c48_v4", sms, false);
                    channelAttentionBackwardWithSavedGram("fused_attn_h1_c48_v4", sms, false);
                    channelAttentionForward("fused_attn_h2_c96_v4", sms, true);
                    channelAttentionBackwardWithSavedGram("fused_attn_h1_c48_long_v4", sms, true);
                    channelAttentionBackward("fused_attn_h1_c16_long_v4", sms, true);
                }
            }
        } finally {
            defaults();
        }
    }
}
