package diffir.model;

import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.nn.LayerNorm;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads a DiffIR architecture back from a state dict: dim from {@code G.patch_embed.proj.weight}, blocks
 * from the indices, heads from {@code temperature}, GDFN widths from {@code ffn.project_out.weight},
 * BiasFree from the missing norm biases, the task from {@code G.tail} / {@code G.output} and the
 * channel counts, CPEN from its first conv and MLP, denoise depth from its indices, T and the schedule
 * ends from {@code diffusion.betas}.
 */
final class ArchInference {
    private ArchInference() {}

    private static final String[] ENCODERS = {"encoder_level1", "encoder_level2", "encoder_level3", "latent"};
    private static final String[] DECODERS = {"decoder_level1", "decoder_level2", "decoder_level3"};

    static ArchConfig infer(Map<String, Tensor> sd) {
        Stage stage = Stage.of(sd);
        int[] pe = shape(sd, "G.patch_embed.proj.weight", 4);
        int dim = pe[0], patchIn = pe[1];

        List<Integer> blocks = new ArrayList<>(), heads = new ArrayList<>(), hidden = new ArrayList<>();
        for (int l = 0; l < ArchConfig.LEVELS; l++) {
            String level = "G." + ENCODERS[l];
            int n = count(sd, level + ".", ".norm1.body.weight");
            if (n == 0) throw notDiffIR(sd, "no blocks in " + level);
            blocks.add(n);
            heads.add(shape(sd, level + ".0.attn.temperature", 3)[0]);
            hidden.add(shape(sd, level + ".0.ffn.project_out.weight", 4)[1]);
            if (l < DECODERS.length) {
                int d = count(sd, "G." + DECODERS[l] + ".", ".norm1.body.weight");
                if (d != n) throw notDiffIR(sd, "G." + DECODERS[l] + " has " + d + " blocks but " + level + " has " + n);
            }
        }
        int refinement = count(sd, "G.refinement.", ".norm1.body.weight");
        LayerNorm.Type norm = sd.containsKey("G.encoder_level1.0.norm1.body.bias") ? LayerNorm.Type.WITH_BIAS : LayerNorm.Type.BIAS_FREE;
        boolean bias = sd.containsKey("G.encoder_level1.0.attn.qkv.bias");

        ArchConfig.Builder b;
        if (sd.containsKey("G.tail.1.weight")) {
            // SR: the residual needs in == out channels; patch_embed sees the input unshuffled by 4/scale.
            int out = shape(sd, "G.tail.1.weight", 4)[0];
            int scale = patchIn % out != 0 ? 0 : switch (patchIn / out) {
                case 1 -> 4;
                case 4 -> 2;
                case 16 -> 1;
                default -> 0;
            };
            if (scale == 0)
                throw notDiffIR(sd, "SR patch_embed takes " + patchIn + " channels, not " + out + " image channels unshuffled by 1, 2 or 4");
            b = ArchConfig.builder(ArchTask.SR).scale(scale).inChannels(out).outChannels(out);
        } else {
            int out = shape(sd, "G.output.weight", 4)[0];
            // Deblurring adds the input to the output (in == out); inpainting takes image + mask and has no refinement.
            ArchTask task = patchIn == out ? ArchTask.DEBLUR : ArchTask.INPAINT;
            if (task == ArchTask.INPAINT && refinement > 0)
                throw notDiffIR(sd, "G.refinement is present but patch_embed takes " + patchIn + " channels for a " + out + "-channel output");
            b = ArchConfig.builder(task).inChannels(patchIn).outChannels(out);
        }
        b.dim(dim).blocks(blocks).refinement(refinement).heads(heads).ffnHidden(hidden).layerNorm(norm).bias(bias);

        String cpen = stage == Stage.S1 ? "E." : "condition.";
        int[] first = shape(sd, cpen + "E.0.weight", 4);
        int feats = first[0];
        int[] mlp = shape(sd, cpen + "mlp.0.weight", 2);
        if (mlp[0] != 4 * feats || mlp[1] != 4 * feats)
            throw notDiffIR(sd, cpen + "mlp.0.weight is " + Shapes.str(mlp) + ", expected (" + 4 * feats + ", " + 4 * feats + ") for a CPEN of width " + feats);
        b.cpenFeats(feats).encoderRes(count(sd, cpen + "E.", ".body.0.weight"));

        if (stage == Stage.S2) {
            b.denoiseRes(count(sd, "denoise.resmlp.", ".resmlp.0.weight"));
            float[] betas = need(sd, "diffusion.betas").toFloatArray();
            b.timesteps(betas.length).linearStart(decimal(betas[0])).linearEnd(decimal(betas[betas.length - 1]));
        }
        ArchConfig cfg;
        try {
            cfg = b.build();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a usable DiffIR state dict: " + e.getMessage(), e);
        }
        if (first[1] != cfg.cpenInChannels(stage))
            throw notDiffIR(sd, cpen + "E.0.weight takes " + first[1] + " channels; a " + stage + " CPEN for " + cfg.task().key()
                    + " with " + cfg.inChannels() + " input channels takes " + cfg.cpenInChannels(stage));
        return cfg;
    }

    /** The shortest decimal that rounds to the stored float32 value (0.1f reads back as 0.1). */
    private static double decimal(float v) {
        return Double.parseDouble(Float.toString(v));
    }

    /** Number of blocks {@code prefix<i>suffix} with i = 0..n-1; fails when the indices have gaps. */
    private static int count(Map<String, Tensor> sd, String prefix, String suffix) {
        Pattern p = Pattern.compile(Pattern.quote(prefix) + "(\\d+)" + Pattern.quote(suffix));
        TreeSet<Integer> seen = new TreeSet<>();
        for (String k : sd.keySet()) {
            Matcher m = p.matcher(k);
            if (m.matches()) seen.add(Integer.parseInt(m.group(1)));
        }
        if (seen.isEmpty()) return 0;
        // CPEN's res-blocks start at index 2 (after conv and LeakyReLU); everything else at 0.
        int base = seen.first();
        if (seen.last() - base + 1 != seen.size())
            throw notDiffIR(sd, "the indices of " + prefix + "<i>" + suffix + " have gaps: " + seen);
        return seen.size();
    }

    private static Tensor need(Map<String, Tensor> sd, String key) {
        Tensor t = sd.get(key);
        if (t == null) throw notDiffIR(sd, "missing " + key);
        return t;
    }

    private static int[] shape(Map<String, Tensor> sd, String key, int rank) {
        int[] s = need(sd, key).shape();
        if (s.length != rank) throw notDiffIR(sd, key + " has shape " + Shapes.str(s) + ", expected rank " + rank);
        return s;
    }

    private static IllegalArgumentException notDiffIR(Map<String, Tensor> sd, String why) {
        return new IllegalArgumentException("not a DiffIR state dict: " + why + sampleKeys(sd));
    }

    /** A few of the keys, so that a message shows what the file holds instead. */
    static String sampleKeys(Map<String, Tensor> sd) {
        StringBuilder b = new StringBuilder(" (" + sd.size() + " keys: ");
        Iterator<String> it = sd.keySet().iterator();
        for (int i = 0; i < 5 && it.hasNext(); i++) b.append(i > 0 ? ", " : "").append(it.next());
        return b.append(sd.size() > 5 ? ", ...)" : ")").toString();
    }
}
