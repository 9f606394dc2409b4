package org.transfergateway.gateway;

import java.io.PrintWriter;
import org.transfergateway.config.ConfigException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code gateway.jar} command line: {@code serve}, {@code stats}, {@code reconcile}, {@code hash-password}, {@code gen-cert}.
 * User mistakes end with status 2 and one line on standard error, never a stack trace.
 */
@Command(name = "gateway", mixinStandardHelpOptions = true, version = "Transfer Gateway 0.1.0",
        description = "Accepts FTP and HTTP uploads into S3 or local disk and counts every byte.",
        subcommands = {ServeCommand.class, StatsCommand.class, ReconcileCommand.class, HashPasswordCommand.class,
            GenCertCommand.class})
public final class Main implements Runnable {
    /** Exit status of a user mistake: bad config, port in use, unreachable backend. */
    static final int USAGE = 2;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    static int run(String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            PrintWriter err = cmd.getErr();
            if (e instanceof ConfigException) {
                err.println("gateway: " + e.getMessage());
                return USAGE;
            }
            if (e instanceof CommandFailure f) {
                err.println("gateway: " + f.getMessage());
                return f.status;
            }
            err.println("gateway: " + e);
            return 1;
        });
        return cli.execute(args);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    /** A command failed in a way the user can act on; its message says how. */
    static final class CommandFailure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final int status;

        CommandFailure(int status, String message) {
            super(message);
            this.status = status;
        }
    }
}
