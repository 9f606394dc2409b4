package org.transfergateway.protocols.ftp;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * Real FTP clients (rclone, curl) run as processes. A test that needs one is skipped when it
 * is not installed, unless GATEWAY_TEST_REQUIRE_CLIENTS=1 (as in CI), where it fails.
 */
final class RealClients {
    private RealClients() {
    }

    /** The executable {@code name} on the PATH; skips or fails the test when there is none. */
    static Path require(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, name);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        if ("1".equals(System.getenv("GATEWAY_TEST_REQUIRE_CLIENTS"))) {
            fail(name + " is not installed, and GATEWAY_TEST_REQUIRE_CLIENTS=1 requires it");
        }
        Assumptions.abort(name + " is not installed");
        throw new AssertionError("unreachable");
    }

    /** What a finished process wrote and its exit status. */
    record Result(int status, String output) {
    }

    /** Runs a command with extra environment variables; its standard output and error together. */
    static Result run(Map<String, String> env, long timeoutSeconds, String... command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(List.of(command)).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        List<byte[]> chunks = new ArrayList<>();
        Thread reader = new Thread(() -> {
            try {
                chunks.add(p.getInputStream().readAllBytes());
            } catch (IOException e) {
                // the process was killed
            }
        });
        reader.start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            reader.join(5000);
            fail(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s");
        }
        reader.join(5000);
        String out = chunks.isEmpty() ? "" : new String(chunks.get(0), StandardCharsets.UTF_8);
        return new Result(p.exitValue(), out);
    }
}
