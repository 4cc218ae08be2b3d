package diffir.model;

import diffir.engine.Tensor;

import java.util.Map;

/** The two DiffIR networks: S1 (pretraining, G + CPEN_S1 "E") and S2 (G + CPEN_S2 + denoise + diffusion). */
public enum Stage {
    S1, S2;

    /** Which network a state dict belongs to, from its key prefixes; fails when it is neither. */
    public static Stage of(Map<String, Tensor> state) {
        boolean s1 = state.containsKey("E.E.0.weight");
        boolean s2 = state.containsKey("condition.E.0.weight");
        if (s1 && s2) throw new IllegalArgumentException("not a DiffIR state dict: it has both E.* (S1) and condition.* (S2) keys");
        if (s1) return S1;
        if (s2) return S2;
        throw new IllegalArgumentException("not a DiffIR state dict: neither E.E.0.weight (S1) nor condition.E.0.weight (S2) is present"
                + ArchInference.sampleKeys(state));
    }

    public static Stage fromKey(String key) {
        return switch (key.toUpperCase()) {
            case "S1", "DIFFIRS1" -> S1;
            case "S2", "DIFFIRS2" -> S2;
            default -> throw new IllegalArgumentException("unknown stage '" + key + "': use S1 or S2");
        };
    }
}
