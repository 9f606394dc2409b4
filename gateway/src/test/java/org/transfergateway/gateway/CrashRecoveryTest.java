package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Random;
import java.util.stream.Stream;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real gateway process killed with SIGKILL, after transfers completed and in the middle
 * of one, then started again on the same ledger: nothing completed is lost or counted
 * twice, and the interrupted transfer is recorded as failed with the bytes it had.
 */
class CrashRecoveryTest {
    @TempDir
    Path dir;
    final ObjectMapper json = new ObjectMapper();

    private Path config() throws IOException {
        return GatewayProcess.writeConfig(dir, """
                ftp: {port: 0, passive-ports: 53200-53250}
                http: {port: 0}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users:
                  - {name: alice, password: secret, admin: true}
                ledger: {url: %s}
                """.formatted(dir.resolve("files"), dir.resolve("ledger")));
    }

    private JsonNode stats(GatewayProcess g) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpPort() + "/api/stats"))
                .header("Authorization", auth()).build();
        return json.readTree(HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.ofString()).body());
    }

    private static String auth() {
        return "Basic " + Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8));
    }

    private int put(GatewayProcess g, String path, byte[] body) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpPort() + "/files" + path))
                .header("Authorization", auth()).PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        return HttpClient.newHttpClient().send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    void completedTransfersSurviveAKillAndAnInterruptedOneIsRecordedAsFailed() throws Exception {
        Path config = config();
        JsonNode beforeCrash;
        try (GatewayProcess g = GatewayProcess.start(config)) {
            assertEquals(201, put(g, "/a.bin", random(100_000, 1)));
            assertEquals(201, put(g, "/b.bin", random(200_000, 2)));
            assertEquals(200, put(g, "/a.bin", random(50_000, 3)));
            FTPClient ftp = new FTPClient();
            ftp.connect("127.0.0.1", g.ftpPort());
            assertTrue(ftp.login("alice", "secret"));
            ftp.enterLocalPassiveMode();
            ftp.setFileType(FTP.BINARY_FILE_TYPE);
            assertTrue(ftp.storeFile("c.bin", new ByteArrayInputStream(random(30_000, 4))));
            ftp.disconnect();
            beforeCrash = stats(g);
            g.kill(); // right after completion: nothing may be lost
        }
        assertEquals(380_000, beforeCrash.path("transferred").path("bytesIn").asLong());
        assertEquals(4, beforeCrash.path("transferred").path("filesIn").asLong());
        assertEquals(280_000, beforeCrash.path("stored").path("bytes").asLong());
        assertEquals(3, beforeCrash.path("stored").path("objects").asLong());

        long cutAt = 3_000_000;
        try (GatewayProcess g = GatewayProcess.start(config)) {
            JsonNode after = stats(g);
            assertEquals(beforeCrash.path("transferred"), after.path("transferred"));
            assertEquals(beforeCrash.path("stored"), after.path("stored"));
            assertEquals(beforeCrash.path("since"), after.path("since"));

            // An upload in flight when the process dies.
            try (Socket s = new Socket("127.0.0.1", g.httpPort())) {
                OutputStream out = s.getOutputStream();
                out.write(("PUT /files/inflight.bin HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth()
                        + "\r\nContent-Length: 10000000\r\n\r\n").getBytes(StandardCharsets.UTF_8));
                out.write(random((int) cutAt, 5));
                out.flush();
                long deadline = System.currentTimeMillis() + 10_000;
                while (System.currentTimeMillis() < deadline) {
                    JsonNode active = stats(g).path("active");
                    if (active.size() == 1 && active.get(0).path("bytes").asLong() == cutAt) {
                        break;
                    }
                    Thread.sleep(50);
                }
                assertEquals(cutAt, stats(g).path("active").get(0).path("bytes").asLong());
                Thread.sleep(1_500); // the ledger records progress every second
                g.kill();
            }
        }

        try (GatewayProcess g = GatewayProcess.start(config)) {
            JsonNode t = stats(g).path("transferred");
            JsonNode was = beforeCrash.path("transferred");
            assertEquals(was.path("bytesIn").asLong() + cutAt, t.path("bytesIn").asLong());
            assertEquals(was.path("filesIn").asLong(), t.path("filesIn").asLong());
            assertEquals(was.path("failedIn").asLong() + 1, t.path("failedIn").asLong());
            assertEquals(beforeCrash.path("stored"), stats(g).path("stored"));
            assertFalse(Files.exists(dir.resolve("files/alice/inflight.bin")));
            try (Stream<Path> tmp = Files.list(dir.resolve("files/.transfer-gateway-tmp"))) {
                assertEquals(0, tmp.count(), "no partial file is left behind");
            }
            assertEquals(0, g.terminate(), "SIGTERM stops the gateway with status 0");
        }
    }
}
