package diffir.model;

import diffir.engine.Tensor;
import diffir.engine.io.Json;
import diffir.engine.nn.LayerNorm;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Every hyper-parameter of a DiffIR network (DIRformer, CPEN, denoise, diffusion schedule), with the
 * reference's meaning. Built from a preset, a {@link Builder}, a reference YAML option file, our own
 * config JSON, or read back from a checkpoint's key names and shapes.
 *
 * <p>{@code ffnHidden} (the GDFN hidden width per level, {@code int(dim_l * ffnFactor)} in the reference)
 * is what the network is built from; {@code ffnFactor} is kept for reports and option files. Read back
 * from a checkpoint, the factor is the simplest decimal that reproduces all four hidden widths.
 *
 * @param task        deblurring, super-resolution or inpainting
 * @param scale       SR output scale 1, 2 or 4 (1 for the other tasks)
 * @param inChannels  channels of the LQ image ({@code inp_channels}; 4 for inpainting: masked image + mask)
 * @param outChannels channels of the restored image
 * @param dim         DIRformer width at level 1 (must be even)
 * @param blocks      transformer blocks per level (encoder levels 1-3 and the latent; decoders mirror them)
 * @param refinement  refinement blocks after decoder level 1 (0 for inpainting)
 * @param heads       attention heads per level
 * @param ffnFactor   the reference's {@code ffn_expansion_factor}
 * @param ffnHidden   GDFN hidden width per level
 * @param layerNorm   WithBias or BiasFree channel LayerNorm
 * @param bias        whether the DIRformer's attention, GDFN, reduce and output convs have biases
 * @param cpenFeats   CPEN width n_feats (64 in every published model; the IPR has 4*cpenFeats values)
 * @param encoderRes  CPEN residual blocks ({@code n_encoder_res})
 * @param denoiseRes  extra Linear+LeakyReLU layers of the denoise MLP ({@code n_denoise_res})
 * @param timesteps   diffusion steps T
 * @param linearStart first beta of the schedule
 * @param linearEnd   last beta of the schedule
 */
public record ArchConfig(ArchTask task, int scale, int inChannels, int outChannels, int dim,
                         List<Integer> blocks, int refinement, List<Integer> heads,
                         double ffnFactor, List<Integer> ffnHidden, LayerNorm.Type layerNorm, boolean bias,
                         int cpenFeats, int encoderRes, int denoiseRes,
                         int timesteps, double linearStart, double linearEnd) {

    /** Number of DIRformer levels (three encoder levels and the latent). */
    public static final int LEVELS = 4;

    /** How the DIRformer's output is formed from its last convolution. */
    public enum Residual {
        /** output conv + input image (deblurring). */
        INPUT,
        /** SR tail + nearest upsampling of the input by the scale. */
        NEAREST_UPSAMPLED_INPUT,
        /** the output conv alone (inpainting). */
        NONE
    }

    public ArchConfig {
        if (task == null || layerNorm == null) throw new IllegalArgumentException("config needs a task and a LayerNorm type");
        blocks = List.copyOf(blocks);
        heads = List.copyOf(heads);
        ffnHidden = List.copyOf(ffnHidden);
        List<String> bad = new ArrayList<>();
        if (task == ArchTask.SR && scale != 1 && scale != 2 && scale != 4) bad.add("SR scale must be 1, 2 or 4, got " + scale);
        if (task != ArchTask.SR && scale != 1) bad.add("scale must be 1 for " + task.key() + ", got " + scale);
        if (inChannels <= 0 || outChannels <= 0) bad.add("channels must be positive, got in " + inChannels + ", out " + outChannels);
        if (task != ArchTask.INPAINT && inChannels != outChannels)
            bad.add(task.key() + " adds the input to the output, so in and out channels must be equal, got " + inChannels + " and " + outChannels);
        if (dim <= 0 || dim % 2 != 0) bad.add("dim must be positive and even (downsampling halves it), got " + dim);
        if (blocks.size() != LEVELS || heads.size() != LEVELS || ffnHidden.size() != LEVELS)
            bad.add("blocks, heads and ffn hidden sizes need " + LEVELS + " entries each, got " + blocks + ", " + heads + ", " + ffnHidden);
        else {
            for (int l = 0; l < LEVELS; l++) {
                int c = dim << l;
                if (blocks.get(l) < 1) bad.add("level " + (l + 1) + " needs at least one block, got " + blocks.get(l));
                if (heads.get(l) < 1 || c % heads.get(l) != 0) bad.add("level " + (l + 1) + ": " + c + " channels do not split into " + heads.get(l) + " heads");
                if (ffnHidden.get(l) < 1) bad.add("level " + (l + 1) + ": ffn hidden width must be positive, got " + ffnHidden.get(l));
            }
        }
        if (refinement < 0) bad.add("refinement blocks must be >= 0, got " + refinement);
        if (task == ArchTask.INPAINT && refinement != 0) bad.add("the inpainting DIRformer has no refinement stage, got " + refinement + " refinement blocks");
        if (!(ffnFactor > 0)) bad.add("ffn expansion factor must be positive, got " + ffnFactor);
        if (cpenFeats <= 0 || encoderRes < 0 || denoiseRes < 0)
            bad.add("CPEN width must be positive and block counts >= 0, got n_feats " + cpenFeats + ", n_encoder_res " + encoderRes + ", n_denoise_res " + denoiseRes);
        if (timesteps < 1) bad.add("timesteps must be >= 1, got " + timesteps);
        if (!(linearStart > 0 && linearStart < 1 && linearEnd > 0 && linearEnd < 1))
            bad.add("linear_start and linear_end must lie in (0, 1), got " + linearStart + " and " + linearEnd);
        if (!bad.isEmpty()) throw new IllegalArgumentException("bad DiffIR config: " + String.join("; ", bad));
    }

    // ---------------------------------------------------------------- derived sizes

    /** Channels at level l (0-based): dim * 2^l. */
    public int levelChannels(int level) {
        return dim << level;
    }

    /** Length of the IR prior representation (256 in every published model). */
    public int iprDim() {
        return 4 * cpenFeats;
    }

    /** PixelUnshuffle factor applied to the LQ image before the DIRformer (SR x2: 2, x1: 4; else 1). */
    public int lqUnshuffle() {
        return task == ArchTask.SR ? 4 / scale : 1;
    }

    /** PixelUnshuffle factor applied to the LQ image inside CPEN (SR: as the DIRformer's; else 4). */
    public int cpenLqUnshuffle() {
        return task == ArchTask.SR ? 4 / scale : 4;
    }

    /** Input height and width must be multiples of this. */
    public int window() {
        return 8 * lqUnshuffle();
    }

    /** Input channels of {@code G.patch_embed}. */
    public int patchEmbedChannels() {
        return inChannels * lqUnshuffle() * lqUnshuffle();
    }

    /** Input channels of the CPEN's first conv: the unshuffled LQ, plus PixelUnshuffle(4) of GT for S1. */
    public int cpenInChannels(Stage stage) {
        int u = cpenLqUnshuffle();
        return inChannels * u * u + (stage == Stage.S1 ? outChannels * 16 : 0);
    }

    /** Output size over input size (SR scale; 1 otherwise). */
    public int outputScale() {
        return task == ArchTask.SR ? scale : 1;
    }

    public Residual residual() {
        return switch (task) {
            case DEBLUR -> Residual.INPUT;
            case SR -> Residual.NEAREST_UPSAMPLED_INPUT;
            case INPAINT -> Residual.NONE;
        };
    }

    /** The reference's GDFN widths: int(dim * 2^l * factor), truncated, for every level. */
    public static List<Integer> hiddenSizes(int dim, double factor) {
        List<Integer> out = new ArrayList<>();
        for (int l = 0; l < LEVELS; l++) out.add((int) ((dim << l) * factor));
        return out;
    }

    /**
     * The simplest decimal factor f (fewest digits after the point, up to 4) with int(dim_l * f) equal to
     * every hidden width; hidden[0]/dim when none is.
     */
    public static double factorFor(int dim, List<Integer> hidden) {
        for (int digits = 0; digits <= 4; digits++) {
            double unit = Math.pow(10, digits); // exact, so k / unit is the double an option file's "2.2" parses to
            long lo = (long) Math.floor((double) hidden.get(0) / dim * unit);
            long hi = (long) Math.ceil((hidden.get(0) + 1.0) / dim * unit);
            for (long k = Math.max(lo, 1); k <= hi; k++) {
                double f = k / unit;
                if (hiddenSizes(dim, f).equals(hidden)) return f;
            }
        }
        return (double) hidden.get(0) / dim;
    }

    // ---------------------------------------------------------------- presets (the published option files)

    /** GoPro motion deblurring (DiffIR-demotionblur/options/train_DiffIRS2.yml): ffn factor 2. */
    public static ArchConfig gopro() {
        return builder(ArchTask.DEBLUR).dim(48).blocks(3, 5, 6, 6).refinement(4).heads(1, 2, 4, 8).ffnFactor(2)
                .layerNorm(LayerNorm.Type.WITH_BIAS).encoderRes(5).build();
    }

    /** Real-world SR (DiffIR-RealSR/options/train_DiffIRS2_x{4,2,1}.yml). */
    public static ArchConfig realSr(int scale) {
        return builder(ArchTask.SR).scale(scale).dim(64).blocks(13, 1, 1, 1).refinement(13).heads(1, 2, 4, 8).ffnFactor(2.2)
                .layerNorm(LayerNorm.Type.BIAS_FREE).encoderRes(9).build();
    }

    /** Inpainting, Places2 and CelebA (DiffIR-inpainting/configs/training/generator/DiffIRS2-place2.yaml). */
    public static ArchConfig inpainting() {
        return builder(ArchTask.INPAINT).inChannels(4).dim(52).blocks(1, 1, 1, 9).refinement(0).heads(1, 2, 4, 8).ffnFactor(1.8)
                .layerNorm(LayerNorm.Type.WITH_BIAS).encoderRes(5).build();
    }

    /** Inpainting, the "big data" Places2 model (DiffIRbigS2-place2.yaml): 20 latent blocks, 8 CPEN res-blocks. */
    public static ArchConfig inpaintingBig() {
        return inpainting().toBuilder().blocks(1, 1, 1, 20).encoderRes(8).build();
    }

    /** A preset by name: gopro, realsr-x4, realsr-x2, realsr-x1, inpainting, inpainting-big. */
    public static ArchConfig preset(String name) {
        return switch (name.toLowerCase()) {
            case "gopro", "deblur" -> gopro();
            case "realsr-x4", "sr-x4", "realsr" -> realSr(4);
            case "realsr-x2", "sr-x2" -> realSr(2);
            case "realsr-x1", "sr-x1" -> realSr(1);
            case "inpainting", "inpaint", "place2", "celeba" -> inpainting();
            case "inpainting-big", "inpaint-big" -> inpaintingBig();
            default -> throw new IllegalArgumentException("unknown preset '" + name
                    + "': use gopro, realsr-x4, realsr-x2, realsr-x1, inpainting or inpainting-big");
        };
    }

    // ---------------------------------------------------------------- other sources

    /**
     * Reads everything back from a state dict's key names and shapes (S1 or S2, any task). Fails with one
     * message when the keys are not a DiffIR network's.
     */
    public static ArchConfig fromStateDict(Map<String, Tensor> state) {
        return ArchInference.infer(state);
    }

    /**
     * Reads a reference option file: its {@code network_g:} section (else {@code network_S1:}); an
     * inpainting generator file (flat keys) is read as it is.
     */
    public static ArchConfig fromYaml(Path file) throws IOException {
        return OptionFile.read(file, null);
    }

    /** Reads the named section ("network_g", "network_S1") of a reference option file. */
    public static ArchConfig fromYaml(Path file, String section) throws IOException {
        return OptionFile.read(file, section);
    }

    /** Our config JSON (as stored in a checkpoint's metadata): the reference option names plus task and ffn_hidden. */
    public String toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", task.key());
        m.put("scale", scale);
        m.put("inp_channels", inChannels);
        m.put("out_channels", outChannels);
        m.put("dim", dim);
        m.put("num_blocks", blocks);
        m.put("num_refinement_blocks", refinement);
        m.put("heads", heads);
        m.put("ffn_expansion_factor", ffnFactor);
        m.put("ffn_hidden", ffnHidden);
        m.put("LayerNorm_type", layerNorm == LayerNorm.Type.BIAS_FREE ? "BiasFree" : "WithBias");
        m.put("bias", bias);
        m.put("n_feats", cpenFeats);
        m.put("n_encoder_res", encoderRes);
        m.put("n_denoise_res", denoiseRes);
        m.put("timesteps", timesteps);
        m.put("linear_start", linearStart);
        m.put("linear_end", linearEnd);
        return Json.write(m);
    }

    public static ArchConfig fromJson(String json) {
        Object parsed = Json.parse(json);
        if (!(parsed instanceof Map<?, ?> m)) throw new IllegalArgumentException("config JSON is not an object: " + json);
        Object task = m.get("task");
        if (!(task instanceof String t)) throw new IllegalArgumentException("config JSON has no \"task\": " + json);
        return OptionFile.fromOptions(m, ArchTask.fromKey(t), null, "config JSON");
    }

    // ---------------------------------------------------------------- builder

    public static Builder builder(ArchTask task) {
        return new Builder(task);
    }

    public Builder toBuilder() {
        Builder b = new Builder(task);
        b.scale = scale;
        b.inChannels = inChannels;
        b.outChannels = outChannels;
        b.dim = dim;
        b.blocks = blocks;
        b.refinement = refinement;
        b.heads = heads;
        b.ffnFactor = ffnFactor;
        b.factorSet = true;
        // Kept only where it is not what the factor gives, so that a changed dim recomputes it.
        b.ffnHidden = ffnHidden.equals(hiddenSizes(dim, ffnFactor)) ? null : ffnHidden;
        b.layerNorm = layerNorm;
        b.bias = bias;
        b.cpenFeats = cpenFeats;
        b.encoderRes = encoderRes;
        b.denoiseRes = denoiseRes;
        b.timesteps = timesteps;
        b.linearStart = linearStart;
        b.linearEnd = linearEnd;
        return b;
    }

    /**
     * Starts from the reference's class defaults (DiffIRS2's constructor), with SR scale 4. The ffn hidden
     * widths follow the factor unless set explicitly.
     */
    public static final class Builder {
        private final ArchTask task;
        private int scale, inChannels = 3, outChannels = 3, dim = 48, refinement = 4;
        private List<Integer> blocks = List.of(4, 6, 6, 8), heads = List.of(1, 2, 4, 8), ffnHidden;
        private double ffnFactor = 2.66;
        private boolean factorSet;
        private LayerNorm.Type layerNorm = LayerNorm.Type.WITH_BIAS;
        private boolean bias;
        private int cpenFeats = 64, encoderRes = 6, denoiseRes = 1, timesteps = 4;
        private double linearStart = 0.1, linearEnd = 0.99;

        private Builder(ArchTask task) {
            this.task = task;
            this.scale = task == ArchTask.SR ? 4 : 1;
            if (task == ArchTask.INPAINT) {
                inChannels = 4;
                refinement = 0;
            }
        }

        public Builder scale(int v) { scale = v; return this; }
        public Builder inChannels(int v) { inChannels = v; return this; }
        public Builder outChannels(int v) { outChannels = v; return this; }
        public Builder dim(int v) { dim = v; return this; }
        public Builder blocks(int... v) { blocks = list(v); return this; }
        public Builder blocks(List<Integer> v) { blocks = v; return this; }
        public Builder refinement(int v) { refinement = v; return this; }
        public Builder heads(int... v) { heads = list(v); return this; }
        public Builder heads(List<Integer> v) { heads = v; return this; }
        /** Sets the factor; the hidden widths follow it unless set explicitly. */
        public Builder ffnFactor(double v) { ffnFactor = v; factorSet = true; ffnHidden = null; return this; }
        /**
         * Sets the hidden widths (as read from a checkpoint); unless a factor is also set afterwards, the
         * factor becomes the simplest decimal that gives them.
         */
        public Builder ffnHidden(List<Integer> v) { ffnHidden = v; factorSet = false; return this; }
        /** Sets both, as our config JSON stores them. */
        public Builder ffn(double factor, List<Integer> hidden) { ffnHidden = hidden; ffnFactor = factor; factorSet = true; return this; }
        public Builder layerNorm(LayerNorm.Type v) { layerNorm = v; return this; }
        public Builder bias(boolean v) { bias = v; return this; }
        public Builder cpenFeats(int v) { cpenFeats = v; return this; }
        public Builder encoderRes(int v) { encoderRes = v; return this; }
        public Builder denoiseRes(int v) { denoiseRes = v; return this; }
        public Builder timesteps(int v) { timesteps = v; return this; }
        public Builder linearStart(double v) { linearStart = v; return this; }
        public Builder linearEnd(double v) { linearEnd = v; return this; }

        public ArchConfig build() {
            List<Integer> hidden = ffnHidden != null ? ffnHidden : hiddenSizes(dim, ffnFactor);
            double factor = factorSet || ffnHidden == null || hidden.size() != LEVELS || hidden.get(0) <= 0 ? ffnFactor : factorFor(dim, hidden);
            return new ArchConfig(task, scale, inChannels, outChannels, dim, blocks, refinement, heads, factor, hidden,
                    layerNorm, bias, cpenFeats, encoderRes, denoiseRes, timesteps, linearStart, linearEnd);
        }

        private static List<Integer> list(int[] v) {
            List<Integer> l = new ArrayList<>();
            for (int x : v) l.add(x);
            return l;
        }
    }
}
