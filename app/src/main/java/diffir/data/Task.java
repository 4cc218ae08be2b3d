package diffir.data;

import diffir.image.Image;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Collectors;

/** The restoration tasks, each with its scale and the synthesiser of its degraded inputs. */
public enum Task {
    /** Motion deblurring (GoPro-like): same size in and out. */
    DEBLUR(1, 16, Degradations::motionBlur),
    /** Real-world-like super-resolution x2. */
    SR2(2, 20, Degradations.realEsrganLite(2)),
    /** Real-world-like super-resolution x4. */
    SR4(4, 20, Degradations.realEsrganLite(4)),
    /** Free-form inpainting: the input is the masked image plus the mask. */
    INPAINT(1, 0, Degradations::inpaint);

    private final int scale, contextMargin;
    private final Degradation degradation;

    Task(int scale, int contextMargin, Degradation degradation) {
        this.scale = scale;
        this.contextMargin = contextMargin;
        this.degradation = degradation;
    }

    /** GT size / LQ size. */
    public int scale() {
        return scale;
    }

    /**
     * GT pixels around a training patch that the synthesiser's filters reach (a multiple of scale):
     * patches are degraded with this much real context where the image has it, so their borders are
     * not mirror artefacts.
     */
    public int contextMargin() {
        return contextMargin;
    }

    /** Channels of the degraded input for a GT with the given channels. */
    public int lqChannels(int gtChannels) {
        return this == INPAINT ? gtChannels + 1 : gtChannels;
    }

    /**
     * Whether PSNR/SSIM are reported on the Y channel: yes for super-resolution (the reference RealSR
     * configurations use {@code test_y_channel: true}, {@code crop_border: 0}), RGB otherwise.
     */
    public boolean metricsOnY() {
        return scale > 1;
    }

    /** The lower-case name used on command lines: deblur, sr2, sr4, inpaint. */
    public String id() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** A degraded input for gt (whose sides must be multiples of the scale), deterministic in rng. */
    public LqGt synthesise(Image gt, SplittableRandom rng) {
        if (gt.height() % scale != 0 || gt.width() % scale != 0)
            throw new IllegalArgumentException(id() + ": GT " + gt.shapeString() + " must have sides divisible by " + scale);
        return degradation.apply(gt, rng);
    }

    public static Task parse(String name) {
        for (Task t : values()) if (t.id().equalsIgnoreCase(name.trim())) return t;
        throw new IllegalArgumentException("unknown task '" + name + "'; expected one of "
                + Arrays.stream(values()).map(Task::id).collect(Collectors.joining(", ")));
    }
}
