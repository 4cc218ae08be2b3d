package diffir.model;

import diffir.engine.Device;
import diffir.engine.Tensor;
import diffir.engine.io.CheckpointFormatException;
import diffir.engine.io.PthReader;
import diffir.engine.io.SafeTensors;
import diffir.engine.nn.Init;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Loading and saving DiffIR networks.
 *
 * <p>Reads the reference's PyTorch checkpoints ({@code .pth}: basicsr's {@code params_ema}, else
 * {@code params}; PyTorch-Lightning inpainting files with {@code state_dict} and {@code generator.} keys)
 * and our own {@code .safetensors} (config JSON and stage in {@code __metadata__}). The architecture comes
 * from an option file when one is given, else from our metadata, else from the key names and shapes.
 * Weights load strictly: every missing, unexpected or mis-shaped key is listed in one message that
 * names the file.
 */
public final class Checkpoints {
    private Checkpoints() {}

    /** Metadata keys of our safetensors checkpoints. */
    public static final String META_FORMAT = "format", META_STAGE = "stage", META_CONFIG = "config";
    public static final String FORMAT = "diffir-java";

    /** Duplicate key prefixes of an S2 state dict and the primary ones they mirror. */
    private static final String[][] DUPLICATES = {{"diffusion.model.", "denoise."}, {"diffusion.condition.", "condition."}};

    /** Loads a checkpoint and builds the network it holds, on a device. */
    public static DiffIRModel load(Path file, Device device) throws IOException {
        return load(file, null, device);
    }

    /**
     * Loads a checkpoint, taking the architecture from a reference option file when optionFile is not
     * null (its {@code network_g:} section for S2 and {@code network_S1:}, when present, for S1).
     */
    public static DiffIRModel load(Path file, Path optionFile, Device device) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>();
        Map<String, Tensor> state = readStateDict(file, meta);
        Stage stage;
        ArchConfig cfg;
        try {
            stage = meta.containsKey(META_STAGE) ? Stage.fromKey(meta.get(META_STAGE)) : Stage.of(state);
            if (optionFile != null) cfg = configFromOptions(optionFile, stage);
            else if (meta.containsKey(META_CONFIG)) cfg = ArchConfig.fromJson(meta.get(META_CONFIG));
            else cfg = ArchConfig.fromStateDict(state);
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(file, e.getMessage(), e);
        }
        // Built without random draws: the strict load below overwrites every parameter.
        DiffIRModel model = DiffIRModel.create(stage, cfg, Init.forLoading(device));
        loadInto(model, state, file, true);
        state = null;
        // Reading left about twice the weights in garbage (the file's bytes, the state dict's copies), much of
        // it too large for the young generation: collect it now, or the heap would grow around it for good.
        System.gc();
        return model;
    }

    private static ArchConfig configFromOptions(Path optionFile, Stage stage) throws IOException {
        if (stage == Stage.S1) {
            try {
                return ArchConfig.fromYaml(optionFile, "network_S1");
            } catch (IOException e) {
                if (!String.valueOf(e.getMessage()).contains("has no 'network_S1:' section")) throw e;
            }
        }
        return ArchConfig.fromYaml(optionFile);
    }

    /**
     * Copies a state dict into a built network. Strict: the keys must match exactly (the S2 duplicates
     * may be absent; they are the same tensors). Not strict: only keys present on both sides are copied
     * (the reference's S2 initialisation from an S1 checkpoint); shapes must still agree.
     */
    public static void loadInto(DiffIRModel model, Map<String, Tensor> state, Path file, boolean strict) throws CheckpointFormatException {
        Map<String, Tensor> s = withDuplicates(state, model, file);
        try {
            model.loadStateDict(s, strict);
        } catch (IllegalArgumentException e) {
            throw new CheckpointFormatException(file, e.getMessage() + " (model: " + model.stage() + " " + model.config().task().key() + ")", e);
        }
    }

    /**
     * The tensors of a checkpoint by key, on the CPU: {@code .pth} (zip) or {@code .safetensors}, told
     * apart by their first bytes. meta receives a safetensors file's metadata.
     */
    public static Map<String, Tensor> readStateDict(Path file, Map<String, String> meta) throws IOException {
        if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString(), null, "no such checkpoint");
        byte[] head = new byte[4];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, 4);
        }
        if (n == 4 && head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) return fromPth(file);
        return SafeTensors.read(file, Device.CPU, meta);
    }

    private static Map<String, Tensor> fromPth(Path file) throws IOException {
        Map<String, Tensor> sd = PthReader.readStateDict(file, "params_ema", "params", "state_dict");
        // PyTorch-Lightning inpainting checkpoints: the network's keys carry "generator." (S2 training files
        // also hold generatorS1., discriminator. and loss entries, which are not part of the network).
        if (sd.keySet().stream().anyMatch(k -> k.startsWith("generator.G."))) {
            Map<String, Tensor> g = new LinkedHashMap<>();
            sd.forEach((k, v) -> {
                if (k.startsWith("generator.")) g.put(k.substring("generator.".length()), v);
            });
            return g;
        }
        return sd;
    }

    /**
     * Checks that duplicate S2 entries agree with their primaries (they load into the same tensors) and
     * adds any the file leaves out.
     */
    private static Map<String, Tensor> withDuplicates(Map<String, Tensor> state, DiffIRModel model, Path file) throws CheckpointFormatException {
        if (model.stage() != Stage.S2) return state;
        Map<String, Tensor> out = new LinkedHashMap<>(state);
        List<String> differ = new ArrayList<>();
        for (String[] d : DUPLICATES) {
            for (Map.Entry<String, Tensor> e : state.entrySet()) {
                if (!e.getKey().startsWith(d[1])) continue;
                String dup = d[0] + e.getKey().substring(d[1].length());
                Tensor copy = state.get(dup);
                if (copy == null) out.put(dup, e.getValue());
                else if (copy != e.getValue() && !Arrays.equals(copy.toFloatArray(), e.getValue().toFloatArray())) differ.add(dup);
            }
            for (Map.Entry<String, Tensor> e : state.entrySet()) {
                if (!e.getKey().startsWith(d[0])) continue;
                String primary = d[1] + e.getKey().substring(d[0].length());
                if (!state.containsKey(primary)) out.put(primary, e.getValue());
            }
        }
        if (!differ.isEmpty())
            throw new CheckpointFormatException(file, differ.size() + " duplicate entries differ from the ones they mirror (" + String.join(", ",
                    differ.subList(0, Math.min(5, differ.size()))) + (differ.size() > 5 ? ", ..." : "") + "); the file is inconsistent");
        return out;
    }

    /** Saves a network's weights with its config and stage, atomically. */
    public static void save(Path file, DiffIRModel model) throws IOException {
        save(file, model.config(), model.stage(), model.stateDict(), Map.of());
    }

    /**
     * Saves a state dict (for example EMA weights) with a config and stage, atomically, as safetensors;
     * extra metadata (iteration, notes) is stored alongside.
     */
    public static void save(Path file, ArchConfig cfg, Stage stage, Map<String, Tensor> state, Map<String, String> extra) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>(extra);
        meta.put(META_FORMAT, FORMAT);
        meta.put(META_STAGE, stage.name());
        meta.put(META_CONFIG, cfg.toJson());
        SafeTensors.write(file, state, meta);
    }
}
