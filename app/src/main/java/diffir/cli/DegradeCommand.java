package diffir.cli;

import diffir.data.LqGt;
import diffir.data.Seeds;
import diffir.data.Task;
import diffir.image.Image;
import diffir.image.ImageFiles;

import java.nio.file.Path;
import java.util.List;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Makes degraded inputs from clean images with a task's synthetic degradation. */
@Command(name = "degrade", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Makes degraded inputs from clean images.",
                "The same synthesis as training: camera-shake blur, real-world-like downscaling, or inpainting masks. Each " +
                "image's degradation depends only on --seed and its file name, so reruns give the same files."})
final class DegradeCommand extends CliCommand {
    @Option(names = "--task", required = true, paramLabel = "deblur|sr2|sr4|inpaint", converter = Converters.TaskConverter.class,
            description = "Degradation: deblur (motion blur), sr2/sr4 (blur, downscale, noise, JPEG), inpaint (free-form holes).")
    Task task;

    @Mixin
    ImageJobs files;

    @Option(names = "--seed", defaultValue = "0", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--gt-output", paramLabel = "DIR",
            description = "Also write the ground truth each output pairs with (cropped to a multiple of the scale) into this folder.")
    Path gtOutput;

    @Override
    public Integer call() throws Exception {
        List<ImageJobs.Job> jobs = files.plan();
        int s = task.scale();
        for (ImageJobs.Job job : jobs) // every size checked before anything is written
            if (job.height() < 8 * s || job.width() < 8 * s)
                throw new UserException(job.input() + " is " + job.height() + "x" + job.width() + "; " + task.id() + " needs at least "
                        + 8 * s + "x" + 8 * s);
        ImageJobs.runAll(jobs, job -> {
            Image gt = ImageFiles.readRgb(job.input()).modCrop(s);
            LqGt pair = task.synthesise(gt, Seeds.rng(seed, job.input().getFileName().toString().hashCode()));
            if (gtOutput != null) ImageFiles.writePng(gtOutput.resolve(job.output().getFileName()), pair.gt());
            Image lq = pair.lq();
            if (task == Task.INPAINT) {
                // The model input is the masked image plus the mask: written as the image and <name>_mask.png.
                ImageFiles.writePng(maskPath(job.output()), lq.channels(3, 1));
                lq = lq.channels(0, 3);
            }
            ImageFiles.writePng(job.output(), lq);
        });
        writer().println("degraded " + jobs.size() + (jobs.size() == 1 ? " image" : " images") + " (" + task.id() + ", seed " + seed
                + ") into " + files.destination(jobs));
        return 0;
    }

    /** Where the inpainting mask of an output image goes: name_mask.png beside it. */
    static Path maskPath(Path image) {
        String n = image.getFileName().toString();
        return image.resolveSibling(n.substring(0, n.length() - 4) + "_mask.png");
    }
}
