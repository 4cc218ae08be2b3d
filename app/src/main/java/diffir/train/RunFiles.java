package diffir.train;

import java.nio.file.Path;

/** The files of a training run folder. */
public record RunFiles(Path dir) {
    /** The EMA weights in the model checkpoint format: what restore, info and S2's --s1 read. */
    public Path model() {
        return dir.resolve("model.safetensors");
    }

    /** Everything --resume needs: weights, EMA, optimiser states, iteration. */
    public Path checkpoint() {
        return dir.resolve("checkpoint.safetensors");
    }

    public Path log() {
        return dir.resolve("log.csv");
    }

    public Path chart() {
        return dir.resolve("loss.png");
    }

    /** S2 runs keep a copy of their frozen S1, so the run folder is self-contained. */
    public Path s1Copy() {
        return dir.resolve("s1.safetensors");
    }
}
