package diffir.model;

import diffir.engine.nn.LayerNorm;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.YAMLException;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads architecture options with the reference's names: the {@code network_g:} / {@code network_S1:}
 * sections of a basicsr option file, a flat inpainting generator file, or our config JSON.
 */
final class OptionFile {
    private OptionFile() {}

    /** Keys the reference's files carry that say nothing about the architecture we build. */
    private static final Set<String> IGNORED = Set.of("type", "kind", "dual_pixel_task");

    private static final Set<String> KNOWN = Set.of("task", "scale", "inp_channels", "out_channels", "dim", "num_blocks",
            "num_refinement_blocks", "heads", "ffn_expansion_factor", "ffn_hidden", "bias", "LayerNorm_type", "n_feats",
            "n_encoder_res", "n_denoise_res", "timesteps", "linear_start", "linear_end");

    static ArchConfig read(Path file, String section) throws IOException {
        if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString(), null, "no such option file");
        Object root;
        try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            root = new Yaml(new SafeConstructor(new LoaderOptions())).load(r);
        } catch (YAMLException e) {
            throw new IOException(file + ": not a readable YAML file: " + firstLine(e.getMessage()), e);
        }
        if (!(root instanceof Map<?, ?> top)) throw new IOException(file + ": not a YAML mapping of options");
        Map<?, ?> net;
        String where;
        if (section != null) {
            if (!(top.get(section) instanceof Map<?, ?> m)) throw new IOException(file + ": has no '" + section + ":' section");
            net = m;
            where = section;
        } else if (top.get("network_g") instanceof Map<?, ?> m) {
            net = m;
            where = "network_g";
        } else if (top.get("network_S1") instanceof Map<?, ?> m) {
            net = m;
            where = "network_S1";
        } else if (top.containsKey("dim") || top.containsKey("num_blocks")) {
            net = top; // an inpainting generator file: the options at top level
            where = "top level";
        } else {
            throw new IOException(file + ": no 'network_g:' or 'network_S1:' section and no architecture options at top level");
        }
        try {
            Object topScale = top.get("scale");
            return fromOptions(net, taskOf(net, topScale), topScale, where);
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Which reference tree the options are for: an explicit {@code task}; else SR when the section names a
     * scale or the file's top-level scale is 2 or 4; else inpainting when the input is not the output's
     * channels (masked image + mask); else deblurring.
     */
    private static ArchTask taskOf(Map<?, ?> net, Object topScale) {
        if (net.get("task") instanceof String t) return ArchTask.fromKey(t);
        if (net.containsKey("scale")) return ArchTask.SR;
        if (topScale instanceof Number n && (n.intValue() == 2 || n.intValue() == 4)) return ArchTask.SR;
        int in = net.get("inp_channels") instanceof Number n ? n.intValue() : 3;
        int out = net.get("out_channels") instanceof Number n ? n.intValue() : 3;
        return in != out ? ArchTask.INPAINT : ArchTask.DEBLUR;
    }

    /** Builds a config from an option map; absent options take the reference's class defaults. */
    static ArchConfig fromOptions(Map<?, ?> o, ArchTask task, Object fallbackScale, String where) {
        List<String> unknown = new ArrayList<>();
        for (Object k : o.keySet()) if (!KNOWN.contains(String.valueOf(k)) && !IGNORED.contains(String.valueOf(k))) unknown.add(String.valueOf(k));
        if (!unknown.isEmpty()) throw new IllegalArgumentException("unknown option(s) " + unknown + " in " + where);
        ArchConfig.Builder b = ArchConfig.builder(task);
        if (o.containsKey("scale")) b.scale(integer(o, "scale", where));
        else if (task == ArchTask.SR && fallbackScale != null) b.scale(number(fallbackScale, "scale", where).intValue());
        if (o.containsKey("inp_channels")) b.inChannels(integer(o, "inp_channels", where));
        if (o.containsKey("out_channels")) b.outChannels(integer(o, "out_channels", where));
        if (o.containsKey("dim")) b.dim(integer(o, "dim", where));
        if (o.containsKey("num_blocks")) b.blocks(ints(o, "num_blocks", where));
        if (o.containsKey("num_refinement_blocks")) b.refinement(integer(o, "num_refinement_blocks", where));
        if (o.containsKey("heads")) b.heads(ints(o, "heads", where));
        if (o.containsKey("ffn_expansion_factor")) b.ffnFactor(number(o.get("ffn_expansion_factor"), "ffn_expansion_factor", where).doubleValue());
        if (o.containsKey("ffn_hidden")) {
            List<Integer> hidden = ints(o, "ffn_hidden", where);
            if (o.containsKey("ffn_expansion_factor")) b.ffn(number(o.get("ffn_expansion_factor"), "ffn_expansion_factor", where).doubleValue(), hidden);
            else b.ffnHidden(hidden);
        }
        if (o.containsKey("bias")) b.bias(bool(o, "bias", where));
        if (o.containsKey("LayerNorm_type")) {
            Object v = o.get("LayerNorm_type");
            if (!(v instanceof String s)) throw new IllegalArgumentException("LayerNorm_type in " + where + " must be WithBias or BiasFree, got " + v);
            if (!s.equals("WithBias") && !s.equals("BiasFree"))
                throw new IllegalArgumentException("LayerNorm_type in " + where + " must be WithBias or BiasFree, got '" + s + "'");
            b.layerNorm(LayerNorm.Type.fromConfig(s));
        }
        if (o.containsKey("n_feats")) b.cpenFeats(integer(o, "n_feats", where));
        if (o.containsKey("n_encoder_res")) b.encoderRes(integer(o, "n_encoder_res", where));
        if (o.containsKey("n_denoise_res")) b.denoiseRes(integer(o, "n_denoise_res", where));
        if (o.containsKey("timesteps")) b.timesteps(integer(o, "timesteps", where));
        if (o.containsKey("linear_start")) b.linearStart(number(o.get("linear_start"), "linear_start", where).doubleValue());
        if (o.containsKey("linear_end")) b.linearEnd(number(o.get("linear_end"), "linear_end", where).doubleValue());
        return b.build();
    }

    private static Number number(Object v, String key, String where) {
        if (v instanceof Number n) return n;
        if (v instanceof String s) { // YAML 1.1 reads "2e-4" (no dot) as a string
            try {
                return Double.parseDouble(s);
            } catch (NumberFormatException ignored) {
                // reported below
            }
        }
        throw new IllegalArgumentException(key + " in " + where + " must be a number, got " + v);
    }

    private static int integer(Map<?, ?> o, String key, String where) {
        Number n = number(o.get(key), key, where);
        if (n.doubleValue() != Math.rint(n.doubleValue()) || Math.abs(n.doubleValue()) > Integer.MAX_VALUE)
            throw new IllegalArgumentException(key + " in " + where + " must be an integer, got " + n);
        return n.intValue();
    }

    private static boolean bool(Map<?, ?> o, String key, String where) {
        if (o.get(key) instanceof Boolean v) return v;
        throw new IllegalArgumentException(key + " in " + where + " must be true or false, got " + o.get(key));
    }

    private static List<Integer> ints(Map<?, ?> o, String key, String where) {
        if (!(o.get(key) instanceof List<?> l)) throw new IllegalArgumentException(key + " in " + where + " must be a list, got " + o.get(key));
        List<Integer> out = new ArrayList<>();
        for (Object v : l) {
            Number n = number(v, key, where);
            if (n.doubleValue() != Math.rint(n.doubleValue())) throw new IllegalArgumentException(key + " in " + where + " must hold integers, got " + l);
            out.add(n.intValue());
        }
        return out;
    }

    private static String firstLine(String s) {
        if (s == null) return "parse error";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
