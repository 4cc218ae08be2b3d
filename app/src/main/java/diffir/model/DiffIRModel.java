package diffir.model;

import diffir.engine.Device;
import diffir.engine.nn.Init;
import diffir.engine.nn.Module;

/** What both DiffIR networks share: the config, the stage and the generator G. */
public abstract sealed class DiffIRModel extends Module permits DiffIRS1, DiffIRS2 {
    private final ArchConfig config;
    private final Device device;

    DiffIRModel(ArchConfig config, Init init) {
        this.config = config;
        this.device = init.device();
    }

    public ArchConfig config() {
        return config;
    }

    public abstract Stage stage();

    /** The DIRformer. */
    public abstract DIRformer generator();

    /** A freshly initialised network of the given stage (PyTorch's default initialisation, seeded). */
    public static DiffIRModel create(Stage stage, ArchConfig config, Init init) {
        return stage == Stage.S1 ? new DiffIRS1(init, config) : new DiffIRS2(init, config);
    }

    /** The device the parameters live on. */
    public Device device() {
        return device;
    }
}
