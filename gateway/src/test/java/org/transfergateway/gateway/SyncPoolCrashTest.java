package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A gateway process killed with SIGKILL while uploads stream into a pool that keeps two
 * copies at once (sync): each upload has a multipart upload open on both members. Started
 * again, the gateway aborts every one of them on the member that holds it, counts the
 * transfers failed with their bytes, and the pool holds nothing: no object, no placement.
 */
class SyncPoolCrashTest {
    private static final List<String> BUCKETS = List.of("crash-pool-a", "crash-pool-b");
    private static final int SENT = 12 * 1024 * 1024; // two 5 MiB parts sent on each member, the rest buffered
    private static final int UPLOADS = 2;

    @TempDir
    Path dir;
    final ObjectMapper json = new ObjectMapper();
    final HttpClient http = HttpClient.newHttpClient();

    private String ledgerUrl() {
        return "jdbc:sqlite:" + dir.resolve("ledger/ledger.db") + "?journal_mode=WAL&synchronous=NORMAL";
    }

    private Path config(S3ProxyFixture s3) throws IOException {
        return GatewayProcess.writeConfig(dir, """
                ftp: {port: 0, passive-ports: 54960-54980}
                http: {port: 0}
                storage:
                  part-size: 5MiB
                  backends:
                    - {name: a, type: s3, bucket: %s, prefix: gw/, endpoint: "%s", access-key: %s, secret-key: %s}
                    - {name: b, type: s3, bucket: %s, prefix: gw/, endpoint: "%s", access-key: %s, secret-key: %s}
                  pools:
                    - {name: both, backends: [a, b], replicas: 2, replication: sync}
                users:
                  - {name: alice, password: secret, admin: true, backend: both}
                ledger: {url: "%s"}
                """.formatted(BUCKETS.get(0), s3.endpoint(), s3.accessKey(), s3.secretKey(),
                BUCKETS.get(1), s3.endpoint(), s3.accessKey(), s3.secretKey(), ledgerUrl()));
    }

    private JsonNode stats(GatewayProcess g) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpPort() + "/api/stats"))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(
                        "alice:secret".getBytes(StandardCharsets.UTF_8))).build();
        return json.readTree(http.send(req, HttpResponse.BodyHandlers.ofString()).body());
    }

    private static long openUploads(S3Client client, String bucket) {
        return client.listMultipartUploadsPaginator(b -> b.bucket(bucket)).uploads().stream().count();
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aKilledGatewayAbortsTheMultipartUploadsOnEveryMemberWhenItStartsAgain() throws Exception {
        S3ProxyFixture s3 = S3ProxyFixture.shared();
        S3Client client = s3.client();
        for (String bucket : BUCKETS) {
            s3.createBucket(bucket);
            client.listMultipartUploadsPaginator(b -> b.bucket(bucket)).uploads().forEach(u ->
                    client.abortMultipartUpload(b -> b.bucket(bucket).key(u.key()).uploadId(u.uploadId())));
        }
        Path config = config(s3);
        byte[] body = new byte[SENT];
        new Random(5).nextBytes(body);
        List<AutoCloseable> clients = new ArrayList<>();
        try (GatewayProcess g = GatewayProcess.start(config)) {
            for (int i = 0; i < UPLOADS; i++) {
                FTPClient ftp = new FTPClient();
                ftp.connect("127.0.0.1", g.ftpPort());
                assertTrue(ftp.login("alice", "secret"));
                ftp.enterLocalPassiveMode();
                ftp.setFileType(FTP.BINARY_FILE_TYPE);
                OutputStream out = ftp.storeFileStream("up-" + i + ".bin");
                out.write(body);
                out.flush();
                clients.add(out);
                clients.add(ftp::disconnect);
            }
            long deadline = System.currentTimeMillis() + 60_000;
            while (System.currentTimeMillis() < deadline && !(openUploads(client, BUCKETS.get(0)) == UPLOADS
                    && openUploads(client, BUCKETS.get(1)) == UPLOADS)) {
                Thread.sleep(100);
            }
            for (String bucket : BUCKETS) {
                assertEquals(UPLOADS, openUploads(client, bucket), "each upload is in parts on " + bucket + "\n" + g.log());
            }
            awaitRecorded();
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

        try (GatewayProcess g = GatewayProcess.start(config)) {
            for (String bucket : BUCKETS) {
                assertEquals(0, openUploads(client, bucket), "no multipart upload is left on " + bucket + "\n" + g.log());
                assertEquals(List.of(), client.listObjectsV2(b -> b.bucket(bucket).prefix("gw/alice/")).contents().stream()
                        .filter(o -> o.key().endsWith(".bin")).map(o -> o.key()).toList(), "nothing was stored on " + bucket);
            }
            JsonNode st = stats(g);
            assertEquals(0, st.at("/transferred/filesIn").asLong());
            assertEquals(UPLOADS, st.at("/transferred/failedIn").asLong());
            assertEquals((long) UPLOADS * SENT, st.at("/transferred/bytesIn").asLong());
            assertEquals(0, st.at("/stored/objects").asLong());
            assertEquals(0, st.at("/stored/byBackend/a/objects").asLong());
            assertEquals(0, st.at("/stored/byBackend/b/objects").asLong());
            assertEquals(0, g.terminate());
        }
    }

    /** Until the ledger records the running uploads with all {@link #SENT} bytes. */
    private void awaitRecorded() throws Exception {
        long deadline = System.currentTimeMillis() + 20_000;
        try (Connection db = DriverManager.getConnection(ledgerUrl())) {
            while (System.currentTimeMillis() < deadline) {
                try (ResultSet r = db.createStatement().executeQuery(
                        "SELECT COUNT(*) FROM transfers WHERE outcome = 'active' AND bytes = " + SENT)) {
                    if (r.next() && r.getInt(1) == UPLOADS) {
                        return;
                    }
                }
                Thread.sleep(100);
            }
        }
        throw new AssertionError("the ledger did not record the running uploads' bytes in time");
    }
}
