package diffir.train;

import diffir.engine.Tensor;
import diffir.engine.io.CheckpointFormatException;
import diffir.engine.io.SafeTensors;
import diffir.engine.optim.Optimizer;
import diffir.model.Checkpoints;
import diffir.model.DiffIRModel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A run's resumable state in one safetensors file, written atomically: the weights
 * ({@code params.*}), their EMA ({@code ema.*}), each optimiser's state ({@code optim_<name>.*}),
 * and in the metadata the completed iteration (which is also the data stream's position: batch k
 * is a pure function of the seed and k) and the {@link TrainSpec}.
 */
public final class TrainState {
    public static final String FORMAT = "diffir-java-train";
    private static final String META_FORMAT = "format", META_STEP = "step", META_SPEC = "spec";

    private TrainState() {}

    /** What a checkpoint file holds, read back. */
    public record Saved(long step, TrainSpec spec, Map<String, Tensor> tensors, Path file) {
        /** The tensors under a prefix ("params.", "ema.", "optim_g."), prefix removed. */
        public Map<String, Tensor> section(String prefix) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            tensors.forEach((k, v) -> {
                if (k.startsWith(prefix)) out.put(k.substring(prefix.length()), v);
            });
            return out;
        }
    }

    public static void save(Path file, long step, TrainSpec spec, DiffIRModel model, DiffIRModel ema, Map<String, Optimizer> optimizers)
            throws IOException {
        Map<String, Tensor> all = new LinkedHashMap<>();
        put(all, "params.", unique(model));
        put(all, "ema.", unique(ema));
        optimizers.forEach((name, opt) -> put(all, "optim_" + name + ".", opt.stateDict()));
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put(META_FORMAT, FORMAT);
        meta.put(META_STEP, Long.toString(step));
        meta.put(META_SPEC, spec.toJson());
        SafeTensors.write(file, all, meta);
    }

    /** Parameters and buffers, each tensor once (S2's duplicated keys are the same tensors). */
    private static Map<String, Tensor> unique(DiffIRModel m) {
        Map<String, Tensor> out = new LinkedHashMap<>(m.namedParameters());
        out.putAll(m.namedBuffers());
        return out;
    }

    private static void put(Map<String, Tensor> all, String prefix, Map<String, Tensor> part) {
        part.forEach((k, v) -> all.put(prefix + k, v));
    }

    public static Saved load(Path file) throws IOException {
        checkExists(file);
        Map<String, String> meta = new LinkedHashMap<>();
        Map<String, Tensor> tensors = SafeTensors.read(file, diffir.engine.Device.CPU, meta);
        return new Saved(step(file, meta), spec(file, meta), tensors, file);
    }

    /** Only the run's spec, from the file's header (no weights read): what --resume needs to rebuild its options. */
    public static TrainSpec spec(Path file) throws IOException {
        checkExists(file);
        Map<String, String> meta = SafeTensors.metadata(file);
        step(file, meta);
        return spec(file, meta);
    }

    private static void checkExists(Path file) throws NoSuchFileException {
        if (!Files.isRegularFile(file)) throw new NoSuchFileException(file.toString(), null, "no training checkpoint to resume from");
    }

    /** The completed iteration; checks first that the metadata is this program's. */
    private static long step(Path file, Map<String, String> meta) throws CheckpointFormatException {
        if (!FORMAT.equals(meta.get(META_FORMAT)))
            throw new CheckpointFormatException(file, "not a training checkpoint of this program (format " + meta.get(META_FORMAT) + ")");
        try {
            long step = Long.parseLong(meta.get(META_STEP));
            if (step < 0) throw new NumberFormatException("negative");
            return step;
        } catch (RuntimeException e) {
            throw corrupt(file, e);
        }
    }

    private static TrainSpec spec(Path file, Map<String, String> meta) throws CheckpointFormatException {
        try {
            return TrainSpec.fromJson(meta.get(META_SPEC));
        } catch (RuntimeException e) {
            throw corrupt(file, e);
        }
    }

    private static CheckpointFormatException corrupt(Path file, RuntimeException e) {
        return new CheckpointFormatException(file, "corrupt training checkpoint metadata (" + e.getMessage() + ")", e);
    }

    /** Copies a saved run into freshly built networks and optimisers. */
    public static void restore(Saved saved, DiffIRModel model, DiffIRModel ema, Map<String, Optimizer> optimizers) throws IOException {
        Checkpoints.loadInto(model, saved.section("params."), saved.file(), true);
        Checkpoints.loadInto(ema, saved.section("ema."), saved.file(), true);
        for (Map.Entry<String, Optimizer> e : optimizers.entrySet()) {
            try {
                e.getValue().loadStateDict(saved.section("optim_" + e.getKey() + "."));
            } catch (IllegalArgumentException ex) {
                throw new CheckpointFormatException(saved.file(), ex.getMessage(), ex);
            }
        }
        List<String> known = new java.util.ArrayList<>(List.of("params.", "ema."));
        optimizers.keySet().forEach(k -> known.add("optim_" + k + "."));
        for (String k : saved.tensors().keySet())
            if (known.stream().noneMatch(k::startsWith)) throw new CheckpointFormatException(saved.file(), "unexpected entry '" + k + "'");
    }
}
