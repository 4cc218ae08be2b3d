package diffir.cli;

import diffir.data.ImageFolders;
import diffir.image.ImageFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import picocli.CommandLine.Option;

/**
 * The file-or-folder convention of the image commands, and their flags (a picocli mixin): --input FILE
 * with --output FILE (or an existing folder), or --input DIR with --output DIR (PNG files of the same
 * names). Every input's header is read before anything is written, and a run that fails midway says
 * which outputs it had written.
 */
final class ImageJobs {
    @Option(names = "--input", required = true, paramLabel = "FILE|DIR", description = "Input image, or folder of images.")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "FILE|DIR", description = "Output PNG, or folder for them.")
    Path output;

    /** One input image, the PNG it becomes, and the input's size as its header gives it. */
    record Job(Path input, Path output, int height, int width) {}

    /** Work on one image; may throw. */
    @FunctionalInterface
    interface Work {
        void run(Job job) throws IOException;
    }

    /** The jobs --input and --output name; fails, before anything is written, on any input that is not an image. */
    List<Job> plan() throws IOException {
        if (!Files.exists(input)) throw new NoSuchFileException(input.toString(), null, "no such file or folder (--input)");
        Map<Path, Path> inputOf = new LinkedHashMap<>(); // output -> input
        if (Files.isDirectory(input)) {
            if (Files.exists(output) && !Files.isDirectory(output))
                throw new UserException("--output " + output + " is a file; with a folder as --input, give a folder");
            for (Path f : ImageFolders.list(input)) {
                Path other = inputOf.putIfAbsent(output.resolve(pngName(f)), f);
                if (other != null) throw new UserException(other + " and " + f + " would both be written as " + pngName(f) + "; rename one of them");
            }
        } else {
            Path out = Files.isDirectory(output) ? output.resolve(pngName(input)) : output;
            if (!out.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".png"))
                throw new UserException("--output " + output + ": outputs are written as PNG; give a name ending in .png or a folder");
            inputOf.put(out, input);
        }
        List<Job> jobs = new ArrayList<>();
        for (Map.Entry<Path, Path> e : inputOf.entrySet()) {
            Path in = e.getValue(), out = e.getKey();
            if (Files.exists(out) && Files.isSameFile(in, out)) throw new UserException(out + " is also an input; choose another --output");
            int[] hw = ImageFiles.dimensions(in); // not an image, or a broken header: fail before writing anything
            jobs.add(new Job(in, out, hw[0], hw[1]));
        }
        return jobs;
    }

    /** Where a run's outputs went: its one output file, or the --output folder. */
    Path destination(List<Job> jobs) {
        return jobs.size() == 1 ? jobs.getFirst().output() : output;
    }

    static String pngName(Path file) {
        String n = file.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return (dot > 0 ? n.substring(0, dot) : n) + ".png";
    }

    /** Runs work on every job; on a failure, the message also says which outputs were already written. */
    static void runAll(List<Job> jobs, Work work) {
        List<Path> written = new ArrayList<>();
        for (Job j : jobs) {
            try {
                work.run(j);
                written.add(j.output());
            } catch (IOException | RuntimeException e) {
                if (jobs.size() == 1) throw e instanceof IOException io ? new UncheckedIOException(io) : (RuntimeException) e;
                throw new UserException(Errors.describe(e) + "; " + writtenSummary(written, jobs.size()));
            }
        }
    }

    private static String writtenSummary(List<Path> written, int total) {
        if (written.isEmpty()) return "no output was written";
        List<String> names = written.stream().limit(5).map(p -> p.getFileName().toString()).toList();
        return written.size() + " of " + total + " outputs were written before it (" + String.join(", ", names)
                + (written.size() > 5 ? ", ..." : "") + ")";
    }
}
