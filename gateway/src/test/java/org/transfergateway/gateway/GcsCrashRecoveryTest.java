package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.storage.testing.FakeGcsServer;

/**
 * A gateway process killed with SIGKILL while uploads stream into GCS through resumable
 * sessions (FTP, and HTTP with a chunked body), then started again, against the fake GCS
 * server: it cancels exactly the sessions its own transfers left (the ledger recorded
 * them), records those transfers failed with the bytes they had, and leaves alone the
 * sessions that are not its own.
 */
class GcsCrashRecoveryTest {
    private static final String BUCKET = "crash-sessions";
    private static final int SENT = 12 * 1024 * 1024; // two 5 MiB chunks sent, the rest buffered
    private static final int FTP_UPLOADS = 2;
    private static final int HTTP_UPLOADS = 1;

    @TempDir
    Path dir;
    final ObjectMapper json = new ObjectMapper();
    final HttpClient http = HttpClient.newHttpClient();

    private String ledgerUrl() {
        return "jdbc:sqlite:" + dir.resolve("ledger/ledger.db") + "?journal_mode=WAL&synchronous=NORMAL";
    }

    private static String auth() {
        return "Basic " + Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8));
    }

    private JsonNode stats(GatewayProcess g) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpPort() + "/api/stats"))
                .header("Authorization", auth()).build();
        return json.readTree(http.send(req, HttpResponse.BodyHandlers.ofString()).body());
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aKilledGatewayCancelsExactlyItsOwnSessionsWhenItStartsAgain() throws Exception {
        try (FakeGcsServer fake = FakeGcsServer.start()) {
            fake.createBucket(BUCKET);
            killAndRestart(fake);
            assertEquals(List.of(), fake.takeRejected());
        }
    }

    private void killAndRestart(FakeGcsServer fake) throws Exception {
        Path config = GatewayProcess.writeConfig(dir, """
                ftp: {port: 0, passive-ports: 56150-56190}
                http: {port: 0}
                storage:
                  part-size: 5MiB
                  backends:
                    - {name: cloud, type: gcs, bucket: %s, prefix: gw/, project: test-project, endpoint: "%s"}
                users:
                  - {name: alice, password: secret, admin: true}
                ledger: {url: "%s"}
                """.formatted(BUCKET, fake.endpoint(), ledgerUrl()));
        byte[] body = new byte[SENT];
        new Random(11).nextBytes(body);
        int uploads = FTP_UPLOADS + HTTP_UPLOADS;

        List<AutoCloseable> clients = new ArrayList<>();
        try (GatewayProcess g = GatewayProcess.start(config)) {
            for (int i = 0; i < FTP_UPLOADS; i++) {
                FTPClient ftp = new FTPClient();
                ftp.connect("127.0.0.1", g.ftpPort());
                assertTrue(ftp.login("alice", "secret"));
                ftp.enterLocalPassiveMode();
                ftp.setFileType(FTP.BINARY_FILE_TYPE);
                OutputStream out = ftp.storeFileStream("ftp-" + i + ".bin");
                out.write(body);
                out.flush();
                clients.add(out);
                clients.add(ftp::disconnect);
            }
            for (int i = 0; i < HTTP_UPLOADS; i++) {
                Socket s = new Socket("127.0.0.1", g.httpPort());
                clients.add(s);
                OutputStream out = s.getOutputStream();
                out.write(("PUT /files/http-" + i + ".bin HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth()
                        + "\r\nTransfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                for (int off = 0; off < SENT; off += 1 << 20) {
                    out.write((Integer.toHexString(1 << 20) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(body, off, 1 << 20);
                    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                }
                out.flush();
            }
            long deadline = System.currentTimeMillis() + 60_000;
            while (System.currentTimeMillis() < deadline && fake.openSessions("gw/").size() < uploads) {
                Thread.sleep(100);
            }
            assertEquals(uploads, fake.openSessions("gw/").size(), "every upload has a session open\n" + g.log());
            awaitRecorded(uploads);
            g.kill();
        } finally {
            for (AutoCloseable c : clients) {
                try {
                    c.close();
                } catch (IOException e) {
                    // the gateway is gone
                }
            }
        }

        // Not the gateway's: a session opened by someone else, which it must leave alone.
        HttpResponse<Void> foreign = http.send(HttpRequest.newBuilder(URI.create(fake.endpoint() + "/upload/storage/v1/b/" + BUCKET
                + "/o?uploadType=resumable&name=other/foreign.bin")).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.discarding());
        assertEquals(200, foreign.statusCode());

        try (GatewayProcess g = GatewayProcess.start(config)) {
            assertEquals(List.of(BUCKET + "/other/foreign.bin"), fake.openSessions(""),
                    "only sessions that are not the gateway's are left\n" + g.log());
            JsonNode t = stats(g).path("transferred");
            assertEquals(0, t.path("filesIn").asLong());
            assertEquals(uploads, t.path("failedIn").asLong());
            assertEquals((long) uploads * SENT, t.path("bytesIn").asLong());
            assertEquals(0, stats(g).path("stored").path("objects").asLong());
            assertEquals(List.of(), fake.names(BUCKET, ""), "no object was stored");
            assertEquals(0, g.terminate());
        }
    }

    /** Until the ledger records {@code uploads} running transfers with all {@link #SENT} bytes. */
    private void awaitRecorded(int uploads) throws Exception {
        long deadline = System.currentTimeMillis() + 20_000;
        int recorded = 0;
        try (Connection db = DriverManager.getConnection(ledgerUrl())) {
            while (System.currentTimeMillis() < deadline) {
                try (ResultSet r = db.createStatement().executeQuery(
                        "SELECT COUNT(*) FROM transfers WHERE outcome = 'active' AND bytes = " + SENT)) {
                    recorded = r.next() ? r.getInt(1) : 0;
                }
                if (recorded == uploads) {
                    return;
                }
                Thread.sleep(50);
            }
        }
        assertEquals(uploads, recorded, "running uploads recorded in the ledger with all their bytes");
    }
}
