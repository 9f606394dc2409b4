package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.meter.StoredTotals;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Two gateways (nodes gw-a and gw-b) on one PostgreSQL ledger and one S3 bucket (S3Proxy):
 * a tus upload staged on S3 that one node created is continued and completed by the
 * other, whose answers agree on the offset; a PATCH from an offset the other node has
 * moved past is refused; the file is counted once.
 */
class TusClusterOverS3Test {
    private static final String URL = System.getenv("GATEWAY_TEST_POSTGRES_URL");
    private static final String BUCKET = "tus-cluster";
    private static final int MIB = 1024 * 1024;
    private static final String AUTH = "Basic " + Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8));

    @TempDir
    Path dir;
    String schema;
    String ledgerUrl;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @BeforeEach
    void ownSchema() throws Exception {
        ClusterStatsTest.assumePostgres();
        schema = "tus_cluster_" + System.nanoTime();
        try (Connection c = DriverManager.getConnection(URL); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA " + schema);
        }
        ledgerUrl = URL + (URL.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    }

    @AfterEach
    void dropSchema() throws Exception {
        if (schema != null) {
            try (Connection c = DriverManager.getConnection(URL); Statement st = c.createStatement()) {
                st.execute("DROP SCHEMA " + schema + " CASCADE");
            }
        }
    }

    private Gateway start(S3ProxyFixture s3, String node, String prefix) throws Exception {
        return Gateway.start(new ConfigLoader(Map.of("S3_ACCESS_KEY", s3.accessKey(), "S3_SECRET_KEY", s3.secretKey())).parse("""
                data-dir: %s
                cluster: {node-id: %s, lease: 3s}
                ftp: {enabled: false}
                http: {port: 0}
                storage:
                  part-size: 5MiB
                  backends:
                    - {name: archive, type: s3, bucket: %s, prefix: %s, endpoint: "%s", path-style: true,
                       access-key: "${S3_ACCESS_KEY}", secret-key: "${S3_SECRET_KEY}", checksums: when-required}
                users:
                  - {name: alice, password: secret, backend: archive}
                ledger: {url: "%s"}
                """.formatted(dir.resolve("data-" + node), node, BUCKET, prefix, s3.endpoint(), ledgerUrl)));
    }

    private HttpResponse<String> patch(Gateway g, String upload, long offset, byte[] bytes, int from, int to) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpAddress().getPort() + upload))
                .header("Authorization", AUTH).header("Tus-Resumable", "1.0.0").header("Upload-Offset", Long.toString(offset))
                .header("Content-Type", "application/offset+octet-stream")
                .method("PATCH", HttpRequest.BodyPublishers.ofByteArray(bytes, from, to - from)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private long offset(Gateway g, String upload) throws Exception {
        HttpResponse<Void> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpAddress().getPort()
                + upload)).header("Authorization", AUTH).header("Tus-Resumable", "1.0.0")
                .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
        assertEquals(200, r.statusCode());
        return Long.parseLong(r.headers().firstValue("Upload-Offset").orElseThrow());
    }

    @Test
    void anUploadStartedOnOneNodeIsFinishedOnTheOther() throws Exception {
        S3ProxyFixture s3 = S3ProxyFixture.shared();
        s3.createBucket(BUCKET);
        S3Client s3client = s3.client();
        String prefix = "cluster" + System.nanoTime() + "/";
        byte[] bytes = new byte[11 * MIB + 5];
        new Random(9).nextBytes(bytes);
        try (Gateway a = start(s3, "gw-a", prefix); Gateway b = start(s3, "gw-b", prefix)) {
            HttpResponse<String> created = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                    + a.httpAddress().getPort() + "/tus/")).header("Authorization", AUTH).header("Tus-Resumable", "1.0.0")
                    .header("Upload-Length", Integer.toString(bytes.length))
                    .header("Upload-Metadata", "filename " + Base64.getEncoder().encodeToString("c.bin".getBytes(StandardCharsets.UTF_8)))
                    .POST(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(201, created.statusCode(), created.body());
            String upload = created.headers().firstValue("Location").orElseThrow();

            assertEquals(204, patch(a, upload, 0, bytes, 0, 3 * MIB).statusCode());
            assertEquals(3 * MIB, offset(b, upload), "the other node reads the offset from the ledger");
            HttpResponse<String> onB = patch(b, upload, 3 * MIB, bytes, 3 * MIB, 8 * MIB);
            assertEquals(204, onB.statusCode(), onB.body());
            assertEquals(8 * MIB, offset(a, upload));
            // A client that still believes the old offset is refused on either node.
            HttpResponse<String> stale = patch(a, upload, 3 * MIB, bytes, 3 * MIB, 8 * MIB);
            assertEquals(409, stale.statusCode(), stale.body());
            HttpResponse<String> last = patch(a, upload, 8 * MIB, bytes, 8 * MIB, bytes.length);
            assertEquals(204, last.statusCode(), last.body());
            assertEquals(bytes.length, offset(b, upload));

            assertArrayEquals(bytes, s3client.getObjectAsBytes(r -> r.bucket(BUCKET).key(prefix + "alice/c.bin")).asByteArray());
            assertEquals(List.of("alice/c.bin"), s3client.listObjectsV2Paginator(r -> r.bucket(BUCKET).prefix(prefix)).contents()
                    .stream().map(S3Object::key).filter(k -> !k.endsWith("/")).map(k -> k.substring(prefix.length())).toList(),
                    "the object, no side object");
            assertEquals(List.of(), s3client.listMultipartUploads(r -> r.bucket(BUCKET).prefix(prefix)).uploads());
            // Counted once, on the node that committed it; every node's totals agree (read from the shared ledger).
            long deadline = System.currentTimeMillis() + 10_000;
            while (!a.meter().statistics(u -> true).byProtocol().getOrDefault("http", Counters.ZERO)
                    .equals(b.meter().statistics(u -> true).byProtocol().getOrDefault("http", Counters.ZERO))
                    && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
            }
            for (Gateway g : List.of(a, b)) {
                assertEquals(new Counters(bytes.length, 0, 1, 0, 0, 0), g.meter().statistics(u -> true).byProtocol().get("http"));
                assertEquals(new StoredTotals(bytes.length, 1), g.meter().statistics(u -> true).stored());
            }
        }
    }
}
