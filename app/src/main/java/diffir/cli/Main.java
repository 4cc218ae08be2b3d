package diffir.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;

/** Entry point of ./diffir: one picocli subcommand per job. */
@Command(name = "diffir", mixinStandardHelpOptions = true, version = "diffir 0.1.0",
        description = "DiffIR (ICCV 2023) image restoration in Java: train, restore, evaluate.",
        subcommands = {CommandLine.HelpCommand.class, DemoCommand.class, TrainCommand.class, RestoreCommand.class,
                ForwardCommand.class, DegradeCommand.class, EvalCommand.class, InfoCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Whether the command's output goes to the process's stdout (then a terminal may get a live progress bar). */
    private boolean processStdout;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static boolean usesProcessStdout(CommandLine.Model.CommandSpec spec) {
        return spec.root().userObject() instanceof Main m && m.processStdout;
    }

    public static void main(String[] args) {
        Threads.configureFrom(args);
        System.exit(run(args));
    }

    /** Runs a command line with the process's stdout and stderr and returns the exit code. */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), true, args);
    }

    /** Runs a command line with the given output streams (tests capture them) and returns the exit code. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        return run(out, err, false, args);
    }

    private static int run(PrintWriter out, PrintWriter err, boolean processStdout, String... args) {
        Main main = new Main();
        main.processStdout = processStdout;
        CommandLine cl = new CommandLine(main);
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((e, a) -> {
            // One line: what is wrong and where to look, rather than picocli's message plus the whole usage.
            CommandLine cmd = e.getCommandLine();
            String name = cmd.getCommandSpec().qualifiedName();
            cmd.getErr().println("error: " + Errors.oneLine(e.getMessage()) + " (see '" + name + " --help')");
            return 2;
        });
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> failed(e, cmd.getErr()));
        int code;
        try {
            code = cl.execute(args);
        } catch (OutOfMemoryError e) {
            // picocli hands only Exceptions to the handler above; running out of memory is the one Error users meet.
            code = failed(e, err);
        }
        out.flush();
        err.flush();
        return code;
    }

    private static int failed(Throwable e, PrintWriter err) {
        err.println("error: " + Errors.describe(e));
        if (System.getenv("DIFFIR_DEBUG") != null) e.printStackTrace(err);
        return 1;
    }
}
