package diffir.model;

/**
 * The restoration task a DiffIR architecture is built for: one per tree of the reference repository (the
 * SR scale is in {@link ArchConfig#scale()}). Not to be confused with {@code diffir.data.Task}, which
 * names a training data synthesiser.
 */
public enum ArchTask {
    /** Motion deblurring (GoPro): output conv plus the input image. */
    DEBLUR("deblur"),
    /** Real-world super-resolution x4/x2/x1 (RealSR): the x4 upsampling tail plus a nearest upsampling of the input. */
    SR("sr"),
    /** Inpainting (Places2, CelebA): input is the masked image and the mask; raw output conv, no refinement. */
    INPAINT("inpaint");

    private final String key;

    ArchTask(String key) {
        this.key = key;
    }

    /** The name used in config JSON and on the command line. */
    public String key() {
        return key;
    }

    public static ArchTask fromKey(String key) {
        for (ArchTask t : values()) if (t.key.equalsIgnoreCase(key)) return t;
        throw new IllegalArgumentException("unknown task '" + key + "': use deblur, sr or inpaint");
    }
}
