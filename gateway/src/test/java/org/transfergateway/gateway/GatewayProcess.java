package org.transfergateway.gateway;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A gateway in a JVM of its own, started as a user starts it ({@code serve --config}), so
 * that tests can limit its heap and kill it with SIGKILL. Ports come from its log lines.
 */
final class GatewayProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening: (ftp|http) on [^:]+:(\\d+)");

    private final Process process;
    private final List<String> log = new ArrayList<>();
    private int ftpPort = -1;
    private int httpPort = -1;
    private final Thread reader;

    private GatewayProcess(Process process) {
        this.process = process;
        this.reader = new Thread(this::readLog, "gateway-process-log");
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts {@code serve --config config} with extra JVM options and waits until both listeners are up. */
    static GatewayProcess start(Path config, String... jvmOptions) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(jvmOptions));
        cmd.addAll(List.of("-cp", runtimeClasspath(), Main.class.getName(), "serve", "--config", config.toString()));
        GatewayProcess g = new GatewayProcess(new ProcessBuilder(cmd).redirectErrorStream(true).start());
        long deadline = System.currentTimeMillis() + 60_000;
        while (!g.ready()) {
            if (!g.process.isAlive() || System.currentTimeMillis() > deadline) {
                g.close();
                throw new IllegalStateException("the gateway did not start:\n" + g.log());
            }
            Thread.sleep(50);
        }
        return g;
    }

    /**
     * Runs {@code serve --config config} in a JVM of its own, with {@code env} over an
     * environment that holds no Azure credential settings, until it exits (a start-up that
     * fails): its exit status, standard output (the log) and standard error.
     */
    static CommandLineTest.Result runToExit(Path config, Map<String, String> env, Path dir) throws Exception {
        Path out = dir.resolve("gateway-" + System.nanoTime() + ".out");
        Path err = dir.resolve("gateway-" + System.nanoTime() + ".err");
        ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", runtimeClasspath(), Main.class.getName(), "serve", "--config", config.toString())
                .redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("AZURE_") || k.startsWith("IDENTITY_") || k.startsWith("MSI_")
                || k.equals("IMDS_ENDPOINT"));
        pb.environment().putAll(env);
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("the gateway did not exit within 120 s:\n" + Files.readString(out));
        }
        return new CommandLineTest.Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    /**
     * The gateway's own classes and runtime dependencies, as the build wrote them: the test
     * classpath's extra jars (S3Proxy's server stack) change how the JVM handles signals.
     */
    private static String runtimeClasspath() throws IOException {
        Path classes = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().getPath());
        Path listed = classes.resolveSibling("runtime-classpath.txt");
        return classes + java.io.File.pathSeparator + Files.readString(listed).trim();
    }

    static Path writeConfig(Path dir, String yaml) throws IOException {
        Path f = dir.resolve("gateway-" + System.nanoTime() + ".yaml");
        Files.writeString(f, yaml);
        return f;
    }

    private void readLog() {
        try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                synchronized (log) {
                    log.add(line);
                }
                Matcher m = LISTENING.matcher(line);
                if (m.find()) {
                    int port = Integer.parseInt(m.group(2));
                    if (m.group(1).equals("ftp")) {
                        ftpPort = port;
                    } else {
                        httpPort = port;
                    }
                }
            }
        } catch (IOException e) {
            // the process ended
        }
    }

    private boolean ready() {
        return ftpPort > 0 && httpPort > 0;
    }

    int ftpPort() {
        return ftpPort;
    }

    int httpPort() {
        return httpPort;
    }

    long pid() {
        return process.pid();
    }

    String log() {
        synchronized (log) {
            return String.join("\n", log);
        }
    }

    /** SIGKILL: no shutdown hook, no cleanup; as a crash. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    /** SIGTERM, then the exit status. */
    int terminate() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            return -1;
        }
        reader.join(5_000); // the last lines of its log
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
