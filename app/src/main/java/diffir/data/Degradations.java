package diffir.data;

import diffir.image.Convolution;
import diffir.image.Image;
import diffir.image.Kernel;
import diffir.image.Quantize;
import diffir.image.Resize;

import java.util.SplittableRandom;

/** The synthetic degradation of each task. */
public final class Degradations {
    private Degradations() {}

    /**
     * Deblurring: a random camera-shake kernel (7-31 pixels) convolved with reflect borders, faint
     * Gaussian noise (sigma up to 2/255), then 8-bit quantisation as a saved photograph has.
     */
    public static LqGt motionBlur(Image gt, SplittableRandom rng) {
        return motionBlur(BlurKernels.MOTION_MAX).apply(gt, rng);
    }

    /** {@link #motionBlur(Image, SplittableRandom)} with camera-shake kernels of 7 to maxKernel pixels (milder blur). */
    public static Degradation motionBlur(int maxKernel) {
        return (gt, rng) -> blurred(gt, BlurKernels.motion(rng, BlurKernels.MOTION_MIN, maxKernel), rng);
    }

    private static LqGt blurred(Image gt, Kernel k, SplittableRandom rng) {
        Image lq = Convolution.reflect(gt, k);
        lq = Noise.gaussian(lq, Seeds.uniform(rng, 0, 2.0 / 255), false, rng);
        return new LqGt(Quantize.to8Bit(lq), gt);
    }

    /**
     * A one-pass, simplified Real-ESRGAN chain for super-resolution by scale: Gaussian blur
     * (isotropic or anisotropic, sigma in [0.2, 1.5 * scale / 2]), shrinking by scale (MATLAB bicubic
     * or area, equally likely), Gaussian noise (sigma 1-25 on the 255 scale, shared by the channels
     * 40% of the time), then JPEG at quality 30-95. The GT side must be a multiple of scale.
     */
    public static Degradation realEsrganLite(int scale) {
        if (scale != 2 && scale != 4) throw new IllegalArgumentException("super-resolution scale must be 2 or 4, got " + scale);
        double sigmaMax = 0.75 * scale;
        return (gt, rng) -> {
            Image lq = Convolution.reflect(gt, BlurKernels.randomGaussian(rng, 0.2, sigmaMax));
            lq = rng.nextBoolean() ? Resize.bicubicDown(lq, scale) : Resize.area(lq, scale);
            lq = Noise.gaussian(lq, Seeds.uniform(rng, 1, 25) / 255, rng.nextDouble() < 0.4, rng);
            lq = Jpeg.compress(lq, rng.nextInt(30, 96));
            return new LqGt(lq, gt);
        };
    }

    /** Inpainting: a random free-form mask; the input is the masked image plus the mask (4 channels for RGB). */
    public static LqGt inpaint(Image gt, SplittableRandom rng) {
        Image mask = InpaintMasks.random(gt.height(), gt.width(), rng);
        return new LqGt(InpaintMasks.maskedInput(gt, mask), gt);
    }
}
