package diffir.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of ./diffir: one picocli subcommand per job. */
@Command(name = "diffir", mixinStandardHelpOptions = true, version = "diffir 0.1.0",
        description = "DiffIR (ICCV 2023) image restoration in Java: train, restore, evaluate.",
        subcommands = {CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns the exit code (tests call this directly). */
    public static int run(String... args) {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            // One line that says what is wrong; the stack trace only on request.
            cmd.getErr().println("error: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            if (System.getenv("DIFFIR_DEBUG") != null) e.printStackTrace(cmd.getErr());
            return 1;
        });
        return cl.execute(args);
    }
}
