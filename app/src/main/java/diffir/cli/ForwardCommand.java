package diffir.cli;

import diffir.engine.Device;
import diffir.engine.Shapes;
import diffir.engine.Tensor;
import diffir.engine.autograd.Autograd;
import diffir.engine.io.Npy;
import diffir.model.ArchConfig;
import diffir.model.DiffIRModel;
import diffir.model.DiffIRS1;
import diffir.model.DiffIRS2;

import java.nio.file.Path;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** One evaluation-mode pass on raw arrays, for comparisons with other implementations. */
@Command(name = "forward", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Runs one evaluation pass on raw .npy arrays.",
                "Input and output are NCHW float32 arrays; no padding, no clamping. S1 needs --gt; S2 starts its reverse chain " +
                "from --noise (B x prior length) or from seeded Gaussian noise."})
final class ForwardCommand extends CliCommand {
    @Mixin
    WeightsOption weights;

    @Option(names = "--lq", required = true, paramLabel = "LQ.npy", description = "Input batch, N x C x H x W float32.")
    Path lq;

    @Option(names = "--gt", paramLabel = "GT.npy", description = "S1: ground truth batch.")
    Path gt;

    @Option(names = "--noise", paramLabel = "NOISE.npy", description = "S2: initial chain state x_{T-1}, N x prior length.")
    Path noise;

    @Option(names = "--seed", defaultValue = "0", description = "S2 without --noise: seed of the start noise (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", required = true, paramLabel = "OUT.npy", description = "Output array.")
    Path out;

    @Option(names = "--ipr-out", paramLabel = "IPR.npy", description = "Also write the prior vector the DIRformer was modulated with.")
    Path iprOut;

    @Mixin
    ComputeOptions compute;

    @Override
    public Integer call() throws Exception {
        Device device = compute.device();
        DiffIRModel m = weights.load(device);
        ArchConfig c = m.config();
        Tensor x = Npy.read(lq, device);
        int[] s = x.shape();
        int win = c.window();
        if (s.length != 4 || s[1] != c.inChannels() || s[2] % win != 0 || s[3] % win != 0 || s[0] < 1)
            throw new UserException("--lq " + lq + " has shape " + Shapes.str(s) + "; the network takes N x " + c.inChannels()
                    + " x H x W with H and W multiples of " + win);
        m.eval();
        Tensor result, ipr;
        try (var scope = Autograd.noGrad()) {
            if (m instanceof DiffIRS1 s1) {
                if (gt == null) throw new UserException("this is an S1 network: it needs --gt GT.npy");
                if (noise != null) throw new UserException("--noise is for S2 networks; this is S1");
                Tensor g = Npy.read(gt, device);
                int sc = c.outputScale();
                int[] want = {s[0], c.outChannels(), s[2] * sc, s[3] * sc};
                if (!Shapes.same(g.shape(), want))
                    throw new UserException("--gt " + gt + " has shape " + Shapes.str(g.shape()) + "; it must be " + Shapes.str(want));
                DiffIRS1.Output o = s1.forward(x, g);
                result = o.out();
                ipr = o.ipr();
            } else {
                DiffIRS2 s2 = (DiffIRS2) m;
                if (gt != null) throw new UserException("--gt is for S1 networks; this is S2");
                Tensor z;
                if (noise != null) {
                    z = Npy.read(noise, device);
                    int[] want = {s[0], c.iprDim()};
                    if (!Shapes.same(z.shape(), want))
                        throw new UserException("--noise " + noise + " has shape " + Shapes.str(z.shape()) + "; it must be " + Shapes.str(want));
                } else {
                    z = s2.startNoise(s[0], seed);
                }
                DiffIRS2.Output o = s2.infer(x, z);
                result = o.out();
                ipr = o.ipr();
            }
        }
        if (iprOut != null) Npy.write(iprOut, ipr);
        Npy.write(out, result);
        writer().println("wrote " + out + " " + Shapes.str(result.shape()));
        return 0;
    }
}
