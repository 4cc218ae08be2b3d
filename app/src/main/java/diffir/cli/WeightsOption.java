package diffir.cli;

import diffir.engine.Device;
import diffir.model.Checkpoints;
import diffir.model.DiffIRModel;

import java.io.IOException;
import java.nio.file.Path;

import picocli.CommandLine.Option;

/** --weights, the checkpoint of the commands that run a trained network. */
final class WeightsOption {
    @Option(names = "--weights", required = true, paramLabel = "CKPT", description = "Checkpoint (.safetensors, or the reference's .pth).")
    Path file;

    /** The network in the checkpoint, on a device. */
    DiffIRModel load(Device device) throws IOException {
        return Checkpoints.load(file, device);
    }
}
