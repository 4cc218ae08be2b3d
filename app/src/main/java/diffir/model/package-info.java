/**
 * The DiffIR networks (Xia et al., ICCV 2023) on the engine, with the reference's state-dict keys.
 *
 * <ul>
 *   <li>{@link diffir.model.ArchConfig}: every hyper-parameter; presets, builder, reference YAML option
 *       files, our config JSON, and inference from a checkpoint's keys and shapes.</li>
 *   <li>{@link diffir.model.DiffIRS1} (G, E) and {@link diffir.model.DiffIRS2} (G, condition, denoise,
 *       diffusion), both {@link diffir.model.DiffIRModel}s built from a config and an
 *       {@link diffir.engine.nn.Init} (device and seed).</li>
 *   <li>{@link diffir.model.Checkpoints}: reference {@code .pth} and our {@code .safetensors}, strict
 *       loading with one-line errors, atomic saving.</li>
 *   <li>{@link diffir.model.ModelInfo}: parameters and GFLOP from a config.</li>
 * </ul>
 *
 * <p>Where DESIGN.md and the reference code differ, the code is followed; see
 * {@code app/src/test/python/REFERENCE_NOTES.md}.
 */
package diffir.model;
