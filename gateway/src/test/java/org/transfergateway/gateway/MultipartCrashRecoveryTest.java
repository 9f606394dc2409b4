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
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.commons.net.ftp.FTP;
import org.apache.commons.net.ftp.FTPClient;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.MultipartUpload;

/**
 * A gateway process killed with SIGKILL while several uploads stream into S3 in parts
 * (FTP, and HTTP with a chunked body), then started again: it aborts exactly the
 * multipart uploads its own transfers left open, however young (S3Proxy reports every
 * upload as started at the time of the listing, so no age-based sweep could find them),
 * records those transfers failed with the bytes they had, and leaves alone the uploads
 * that are not its own.
 */
class MultipartCrashRecoveryTest {
    private static final String BUCKET = "crash-multipart";
    private static final int SENT = 12 * 1024 * 1024; // two 5 MiB parts sent, the rest buffered
    private static final int FTP_UPLOADS = 3;
    private static final int HTTP_UPLOADS = 2;

    @TempDir
    Path dir;
    final ObjectMapper json = new ObjectMapper();
    /** One client: a new one per request would leave its connections open, up to the gateway's limit. */
    final HttpClient http = HttpClient.newHttpClient();

    private Path config(S3ProxyFixture s3) throws IOException {
        // No checksums key: with an endpoint the default must suit S3Proxy.
        return GatewayProcess.writeConfig(dir, """
                ftp: {port: 0, passive-ports: 54100-54140}
                http: {port: 0}
                storage:
                  part-size: 5MiB
                  backends:
                    - {name: s3, type: s3, bucket: %s, prefix: gw/, endpoint: "%s", access-key: %s, secret-key: %s}
                users:
                  - {name: alice, password: secret, admin: true}
                ledger: {url: "%s"}
                """.formatted(BUCKET, s3.endpoint(), s3.accessKey(), s3.secretKey(), ledgerUrl()));
    }

    /**
     * The embedded SQLite ledger in WAL mode as the default has it, but not held exclusively,
     * so that the test can see when the bytes of the running uploads are recorded.
     */
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

    private static Set<String> openUploads(S3Client client) {
        return client.listMultipartUploadsPaginator(b -> b.bucket(BUCKET)).uploads().stream()
                .map(u -> u.key() + " " + u.uploadId()).collect(Collectors.toCollection(TreeSet::new));
    }

    private static long openUploadsUnder(S3Client client, String prefix) {
        return client.listMultipartUploadsPaginator(b -> b.bucket(BUCKET).prefix(prefix)).uploads().stream()
                .map(MultipartUpload::key).count();
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aKilledGatewayAbortsExactlyItsOwnMultipartUploadsWhenItStartsAgain() throws Exception {
        S3ProxyFixture s3 = S3ProxyFixture.shared();
        s3.createBucket(BUCKET);
        S3Client client = s3.client();
        for (MultipartUpload u : client.listMultipartUploadsPaginator(b -> b.bucket(BUCKET)).uploads()) {
            client.abortMultipartUpload(b -> b.bucket(BUCKET).key(u.key()).uploadId(u.uploadId())); // an earlier run's
        }
        Path config = config(s3);
        byte[] body = new byte[SENT];
        new Random(11).nextBytes(body);

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
                // Held: a data socket that is collected gets closed, and that ends the file.
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
            int uploads = FTP_UPLOADS + HTTP_UPLOADS;
            long deadline = System.currentTimeMillis() + 60_000;
            while (System.currentTimeMillis() < deadline) {
                JsonNode active = stats(g).path("active");
                long full = 0;
                for (JsonNode t : active) {
                    full += t.path("bytes").asLong() == SENT ? 1 : 0;
                }
                if (full == uploads && openUploadsUnder(client, "gw/") == uploads) {
                    break;
                }
                Thread.sleep(100);
            }
            assertEquals(uploads, openUploadsUnder(client, "gw/"), "every upload is in parts on S3: "
                    + openUploads(client) + "\n" + g.log());
            // The ledger records the running uploads' bytes every second: the crash comes once it has them all.
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

        // Not the gateway's: one under another prefix, one under its own but just begun.
        String other = client.createMultipartUpload(b -> b.bucket(BUCKET).key("other/foreign.bin")).uploadId();
        String young = client.createMultipartUpload(b -> b.bucket(BUCKET).key("gw/alice/young.bin")).uploadId();
        Set<String> foreign = new TreeSet<>(Set.of("other/foreign.bin " + other, "gw/alice/young.bin " + young));

        try (GatewayProcess g = GatewayProcess.start(config)) {
            assertEquals(foreign, openUploads(client), "only uploads that are not the gateway's are left open\n" + g.log());
            JsonNode t = stats(g).path("transferred");
            assertEquals(0, t.path("filesIn").asLong());
            assertEquals(FTP_UPLOADS + HTTP_UPLOADS, t.path("failedIn").asLong());
            assertEquals((long) (FTP_UPLOADS + HTTP_UPLOADS) * SENT, t.path("bytesIn").asLong());
            assertEquals((long) FTP_UPLOADS * SENT, t.path("byProtocol").path("ftp").path("bytesIn").asLong());
            assertEquals((long) HTTP_UPLOADS * SENT, t.path("byProtocol").path("http").path("bytesIn").asLong());
            assertEquals(0, stats(g).path("stored").path("objects").asLong());
            assertEquals(List.of(), client.listObjectsV2(b -> b.bucket(BUCKET).prefix("gw/alice/")).contents().stream()
                    .filter(o -> o.key().endsWith(".bin")).map(o -> o.key()).toList(), "no object was stored");
            assertEquals(0, g.terminate());
        } finally {
            client.abortMultipartUpload(b -> b.bucket(BUCKET).key("other/foreign.bin").uploadId(other));
            client.abortMultipartUpload(b -> b.bucket(BUCKET).key("gw/alice/young.bin").uploadId(young));
        }
        assertEquals(Set.of(), openUploads(client));
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
