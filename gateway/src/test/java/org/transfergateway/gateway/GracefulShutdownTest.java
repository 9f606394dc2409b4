package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM: the gateway stops accepting, lets running transfers finish within
 * {@code shutdown-grace}, aborts the rest cleanly and exits 0.
 */
class GracefulShutdownTest {
    @TempDir
    Path dir;

    private Path config(String grace) throws IOException {
        return GatewayProcess.writeConfig(dir, """
                ftp: {port: 0, passive-ports: 53600-53620}
                http: {port: 0}
                shutdown-grace: %s
                storage: {backends: [{name: local, type: local, root: %s}]}
                users: [{name: alice, password: secret}]
                ledger: {url: %s}
                """.formatted(grace, dir.resolve("files"), dir.resolve("ledger")));
    }

    private static Socket startUpload(GatewayProcess g, String name, int length, int sendNow) throws IOException {
        Socket s = new Socket("127.0.0.1", g.httpPort());
        s.setSoTimeout(20_000);
        OutputStream out = s.getOutputStream();
        out.write(("PUT /files/" + name + " HTTP/1.1\r\nHost: x\r\nAuthorization: Basic "
                + Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8))
                + "\r\nContent-Length: " + length + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
        out.write(new byte[sendNow]);
        out.flush();
        return s;
    }

    private static String statusLine(InputStream in) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int c; (c = in.read()) >= 0 && c != '\n'; ) {
            sb.append((char) c);
        }
        return sb.toString().trim();
    }

    @Test
    void aTransferRunningAtSigtermFinishesWithinTheGrace() throws Exception {
        try (GatewayProcess g = GatewayProcess.start(config("20s"))) {
            Socket s = startUpload(g, "finishing.bin", 2_000_000, 1_000_000);
            long deadline = System.currentTimeMillis() + 10_000;
            while (!get(g, "/api/stats").contains("\"path\":\"/finishing.bin\"") && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
            }
            long pid = g.pid();
            new ProcessBuilder("kill", "-TERM", Long.toString(pid)).start().waitFor();
            // no new connections once stopping
            assertTrue(refusedWithin(g.httpPort(), 10_000), "new connections are refused while stopping");
            s.getOutputStream().write(new byte[1_000_000]);
            s.getOutputStream().flush();
            assertEquals("HTTP/1.1 201 Created", statusLine(s.getInputStream()));
            s.close();
            assertEquals(0, g.terminate());
            assertEquals(2_000_000, Files.size(dir.resolve("files/alice/finishing.bin")));
        }
    }

    @Test
    void aTransferStillRunningAfterTheGraceIsAbortedAndLeavesNothing() throws Exception {
        Path config = config("1s");
        try (GatewayProcess g = GatewayProcess.start(config)) {
            Socket s = startUpload(g, "cut.bin", 2_000_000, 500_000);
            long deadline = System.currentTimeMillis() + 10_000;
            while (activeUploads(g) == 0 && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(1, activeUploads(g));
            assertEquals(0, g.terminate());
            s.close();
        }
        assertFalse(Files.exists(dir.resolve("files/alice/cut.bin")));
        try (Stream<Path> tmp = Files.list(dir.resolve("files/.transfer-gateway-tmp"))) {
            assertEquals(0, tmp.count());
        }
        try (GatewayProcess g = GatewayProcess.start(config)) {
            String stats = get(g, "/api/stats");
            assertTrue(stats.contains("\"failedIn\":1"), stats);
            assertTrue(stats.contains("\"bytesIn\":500000"), stats);
        }
    }

    private static boolean refusedWithin(int port, long millis) throws InterruptedException {
        long deadline = System.currentTimeMillis() + millis;
        while (System.currentTimeMillis() < deadline) {
            try (Socket probe = new Socket("127.0.0.1", port)) {
                Thread.sleep(50);
            } catch (IOException e) {
                return true;
            }
        }
        return false;
    }

    private static int activeUploads(GatewayProcess g) throws Exception {
        String stats = get(g, "/api/stats");
        return stats.contains("\"path\":\"/cut.bin\"") ? 1 : 0;
    }

    private static String get(GatewayProcess g, String path) throws Exception {
        var req = java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + g.httpPort() + path))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8)))
                .build();
        return java.net.http.HttpClient.newHttpClient().send(req, java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }
}
