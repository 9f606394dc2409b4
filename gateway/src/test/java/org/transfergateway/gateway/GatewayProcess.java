package org.transfergateway.gateway;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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

    private GatewayProcess(Process process) {
        this.process = process;
        Thread reader = new Thread(this::readLog, "gateway-process-log");
        reader.setDaemon(true);
        reader.start();
    }

    /** Starts {@code serve --config config} with extra JVM options and waits until both listeners are up. */
    static GatewayProcess start(Path config, String... jvmOptions) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(List.of(jvmOptions));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName(), "serve", "--config", config.toString()));
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
        return process.exitValue();
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
