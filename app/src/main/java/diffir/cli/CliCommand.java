package diffir.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

/** A subcommand: picocli's spec of it and where its report goes. Subclasses hold their own options and work. */
abstract class CliCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    /** The writer the command reports to (tests capture it). */
    PrintWriter writer() {
        return spec.commandLine().getOut();
    }

    /** Whether {@link #writer} is the process's stdout (then a terminal may get a live progress bar). */
    boolean reportsToProcessStdout() {
        return Main.usesProcessStdout(spec);
    }
}
