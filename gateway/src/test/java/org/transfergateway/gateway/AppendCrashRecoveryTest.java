package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.MultipartUpload;

/**
 * A gateway process killed with SIGKILL in the middle of an FTP APPE onto an S3 object,
 * whose kept bytes S3 is copying into a multipart upload: started again, it aborts that
 * upload (recorded in the ledger like any other), the object is as it was, and the append
 * is counted failed with the bytes that had arrived.
 */
class AppendCrashRecoveryTest {
    private static final String BUCKET = "crash-append";
    private static final int STORED = 12 * 1024 * 1024;
    private static final int SENT = 1024 * 1024;

    @TempDir
    Path dir;
    final ObjectMapper json = new ObjectMapper();
    final HttpClient http = HttpClient.newHttpClient();

    /** The embedded SQLite ledger, not held exclusively, so that the test sees the running append's bytes recorded. */
    private String ledgerUrl() {
        return "jdbc:sqlite:" + dir.resolve("ledger/ledger.db") + "?journal_mode=WAL&synchronous=NORMAL";
    }

    private JsonNode stats(GatewayProcess g) throws Exception {
        String auth = "Basic " + Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8));
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpPort() + "/api/stats"))
                .header("Authorization", auth).build();
        return json.readTree(http.send(req, HttpResponse.BodyHandlers.ofString()).body());
    }

    private static List<String> openUploads(S3Client client) {
        return client.listMultipartUploadsPaginator(b -> b.bucket(BUCKET)).uploads().stream().map(MultipartUpload::key).toList();
    }

    private static FTPClient login(GatewayProcess g) throws IOException {
        FTPClient ftp = new FTPClient();
        ftp.connect("127.0.0.1", g.ftpPort());
        assertTrue(ftp.login("alice", "secret"));
        ftp.enterLocalPassiveMode();
        ftp.setFileType(FTP.BINARY_FILE_TYPE);
        return ftp;
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aGatewayKilledMidAppendAbortsItsUploadAndKeepsTheObjectWhenItStartsAgain() throws Exception {
        S3ProxyFixture s3 = S3ProxyFixture.shared();
        s3.createBucket(BUCKET);
        S3Client client = s3.client();
        Path config = GatewayProcess.writeConfig(dir, """
                ftp: {port: 0, passive-ports: 55550-55570}
                http: {port: 0}
                storage:
                  part-size: 5MiB
                  backends:
                    - {name: s3, type: s3, bucket: %s, prefix: gw/, endpoint: "%s", access-key: %s, secret-key: %s}
                users:
                  - {name: alice, password: secret, admin: true}
                ledger: {url: "%s"}
                """.formatted(BUCKET, s3.endpoint(), s3.accessKey(), s3.secretKey(), ledgerUrl()));
        byte[] stored = new byte[STORED];
        new Random(1).nextBytes(stored);

        FTPClient ftp = null;
        OutputStream out = null;
        try (GatewayProcess g = GatewayProcess.start(config)) {
            ftp = login(g);
            assertTrue(ftp.storeFile("a.bin", new ByteArrayInputStream(stored)), ftp.getReplyString());
            out = ftp.appendFileStream("a.bin");
            out.write(new byte[SENT]);
            out.flush();
            // The first bytes opened the multipart upload that S3 copies the kept bytes into.
            long deadline = System.currentTimeMillis() + 30_000;
            while (openUploads(client).isEmpty() && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(List.of("gw/alice/a.bin"), openUploads(client), g.log());
            awaitRecorded();
            g.kill();
        } finally {
            try {
                if (out != null) {
                    out.close();
                }
                if (ftp != null) {
                    ftp.disconnect();
                }
            } catch (IOException e) {
                // the gateway is gone
            }
        }

        try (GatewayProcess g = GatewayProcess.start(config)) {
            assertEquals(List.of(), openUploads(client), "the append's upload is left open\n" + g.log());
            assertArrayEquals(stored, client.getObjectAsBytes(b -> b.bucket(BUCKET).key("gw/alice/a.bin")).asByteArray());
            JsonNode s = stats(g);
            JsonNode ftpTotals = s.path("transferred").path("byProtocol").path("ftp");
            assertEquals(1, ftpTotals.path("filesIn").asLong(), "the first upload");
            assertEquals(1, ftpTotals.path("failedIn").asLong(), "the append");
            assertEquals(STORED + SENT, ftpTotals.path("bytesIn").asLong());
            assertEquals(STORED, s.path("stored").path("bytes").asLong());
            assertEquals(1, s.path("stored").path("objects").asLong());
            assertEquals(0, g.terminate());
        }
    }

    /** Until the ledger records the running append with all {@link #SENT} bytes. */
    private void awaitRecorded() throws Exception {
        long deadline = System.currentTimeMillis() + 20_000;
        int recorded = 0;
        try (Connection db = DriverManager.getConnection(ledgerUrl())) {
            while (System.currentTimeMillis() < deadline && recorded == 0) {
                try (ResultSet r = db.createStatement().executeQuery(
                        "SELECT COUNT(*) FROM transfers WHERE outcome = 'active' AND bytes = " + SENT)) {
                    recorded = r.next() ? r.getInt(1) : 0;
                }
                if (recorded == 0) {
                    Thread.sleep(50);
                }
            }
        }
        assertEquals(1, recorded, "the running append recorded in the ledger with all its bytes");
    }
}
