package diffir.cli;

import diffir.engine.Device;
import diffir.engine.nn.LayerNorm;
import diffir.model.ArchConfig;
import diffir.model.ArchTask;
import diffir.model.DiffIRModel;
import diffir.model.ModelInfo;
import diffir.model.Stage;

import java.io.PrintWriter;
import java.util.Locale;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** What a checkpoint holds: architecture, parameter count and the cost of one forward pass. */
@Command(name = "info", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Shows the network in a checkpoint: architecture, parameters, GFLOP.",
                "Reads our .safetensors and the reference's .pth files."})
final class InfoCommand extends CliCommand {
    @Mixin
    WeightsOption weights;

    @Option(names = "--size", defaultValue = "256x256", paramLabel = "HxW", converter = Converters.Size.class,
            description = "Input size for the GFLOP figure (default ${DEFAULT-VALUE}); rounded up to the model's multiple.")
    Converters.HeightWidth size;

    @Override
    public Integer call() throws Exception {
        DiffIRModel m = weights.load(Device.CPU);
        ArchConfig c = m.config();
        int w = c.window(), h = (size.height() + w - 1) / w * w, wd = (size.width() + w - 1) / w * w;
        ModelInfo info = ModelInfo.of(c, m.stage(), h, wd);
        PrintWriter out = writer();
        out.printf(Locale.ROOT, "file          %s%n", weights.file);
        out.printf(Locale.ROOT, "network       DiffIR %s, task %s%s%n", m.stage(), c.task().key(), c.task() == ArchTask.SR ? " x" + c.scale() : "");
        out.printf(Locale.ROOT, "channels      in %d, out %d%n", c.inChannels(), c.outChannels());
        out.printf(Locale.ROOT, "DIRformer     dim %d, blocks %s, refinement %d, heads %s, ffn %s (hidden %s), LayerNorm %s, bias %s%n",
                c.dim(), c.blocks(), c.refinement(), c.heads(), trim(c.ffnFactor()), c.ffnHidden(),
                c.layerNorm() == LayerNorm.Type.BIAS_FREE ? "BiasFree" : "WithBias", c.bias());
        out.printf(Locale.ROOT, "CPEN          n_feats %d (prior vector of %d), %d residual block%s%n", c.cpenFeats(), c.iprDim(), c.encoderRes(),
                c.encoderRes() == 1 ? "" : "s");
        out.printf(Locale.ROOT, "diffusion     T = %d, betas %s..%s, denoise MLP of %d layers%n", c.timesteps(), trim(c.linearStart()), trim(c.linearEnd()),
                c.denoiseRes() + 1);
        out.printf(Locale.ROOT, "parameters    %,d (%.2fM)%n", m.parameterCount(), m.parameterCount() / 1e6);
        out.printf(Locale.ROOT, "compute       %.2f GFLOP per %dx%d image (%s)%n", info.gflop(), h, wd,
                m.stage() == Stage.S1 ? "CPEN_S1 + DIRformer" : "CPEN_S2, " + c.timesteps() + " denoise steps, DIRformer");
        out.printf(Locale.ROOT, "input sizes   any; padded to multiples of %d%n", w);
        return 0;
    }

    private static String trim(double v) {
        String s = Double.toString(v);
        return s.endsWith(".0") ? s.substring(0, s.length() - 2) : s;
    }
}
