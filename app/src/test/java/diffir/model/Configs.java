package diffir.model;

import diffir.engine.nn.LayerNorm;

/** Small configs for fast tests, one per task; odd GDFN widths and heads of 1 to 4 channels. */
final class Configs {
    private Configs() {}

    static ArchConfig deblur() {
        return ArchConfig.builder(ArchTask.DEBLUR).dim(4).blocks(1, 2, 1, 1).refinement(1).heads(1, 2, 2, 4).ffnFactor(2.5)
                .layerNorm(LayerNorm.Type.WITH_BIAS).encoderRes(1).cpenFeats(4).build();
    }

    static ArchConfig sr(int scale) {
        return ArchConfig.builder(ArchTask.SR).scale(scale).dim(4).blocks(2, 1, 1, 1).refinement(1).heads(1, 1, 2, 2).ffnFactor(2.2)
                .layerNorm(LayerNorm.Type.BIAS_FREE).encoderRes(2).cpenFeats(4).denoiseRes(2).build();
    }

    static ArchConfig inpaint() {
        return ArchConfig.builder(ArchTask.INPAINT).dim(4).blocks(1, 1, 1, 2).refinement(0).heads(1, 2, 2, 2).ffnFactor(1.8)
                .layerNorm(LayerNorm.Type.WITH_BIAS).bias(true).encoderRes(1).cpenFeats(4).timesteps(3).linearStart(0.05).linearEnd(0.9).build();
    }
}
