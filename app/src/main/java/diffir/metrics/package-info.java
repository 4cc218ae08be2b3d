/**
 * Image-quality metrics with basicsr's exact definitions, so numbers compare with published ones.
 *
 * <p>Convention: metrics take [0, 1] float images (channels RGB or gray, CHW) and first quantise
 * them as basicsr's {@code tensor2img} does before saving/evaluating: clamp to [0, 1], multiply by
 * 255 in float32, round half to even ({@link diffir.image.Quantize}). PSNR is over all remaining
 * values on the [0, 255] scale; SSIM is the per-channel mean of the Gaussian-window SSIM map over
 * 'valid' positions, averaged over channels. {@code cropBorder} removes that many pixels on every
 * side first; {@code yChannel} replaces RGB by the BT.601 Y channel as basicsr's
 * {@code to_y_channel} computes it (including its float32 roundings). The reference values in the
 * tests come from app/src/test/python/gen_metrics.py.
 */
package diffir.metrics;
