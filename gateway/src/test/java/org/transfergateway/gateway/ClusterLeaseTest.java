package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.MultipartUpload;

/**
 * Three nodes on one PostgreSQL ledger with a 3 s lease (short, yet above the pauses of a
 * loaded 2-core test machine): gw-a a process, gw-b and gw-c in this JVM. gw-a is killed
 * (SIGKILL) with an upload in flight; after the lease one of the live nodes fails that
 * upload, once, with the bytes last recorded for it, and counts gw-a dead; both live
 * nodes' totals then equal what the clients sent, to the byte. On S3, the live node also
 * aborts the dead node's open multipart upload.
 * Runs where GATEWAY_TEST_POSTGRES_URL names a database (required with
 * GATEWAY_TEST_REQUIRE_CLIENTS=1); each run keeps to a schema of its own.
 */
class ClusterLeaseTest {
    private static final int FIRST = 500_000;

    @TempDir
    Path dir;
    String schema;
    String ledgerUrl;

    @BeforeEach
    void ownSchema() throws Exception {
        ClusterStatsTest.assumePostgres();
        schema = "cluster_lease_" + System.nanoTime();
        try (Connection c = DriverManager.getConnection(ClusterStatsTest.URL); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA " + schema);
        }
        String url = ClusterStatsTest.URL;
        ledgerUrl = url + (url.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    }

    @AfterEach
    void dropSchema() throws Exception {
        if (schema != null) {
            try (Connection c = DriverManager.getConnection(ClusterStatsTest.URL); Statement st = c.createStatement()) {
                st.execute("DROP SCHEMA " + schema + " CASCADE");
            }
        }
    }

    /** Set by a test on S3: the nodes' one backend, else each node's own local folder. */
    String storage;

    private String yaml(String node, String ftp) {
        return """
                cluster: {node-id: %s, lease: 3s}
                ftp: %s
                sftp: {enabled: false}
                http: {port: 0}
                storage: %s
                users:
                  - {name: alice, password: secret, admin: true}
                  - {name: bob, password: secret}
                ledger: {url: "%s"}
                """.formatted(node, ftp, storage != null ? storage
                : "{backends: [{name: local, type: local, root: %s}]}".formatted(dir.resolve("files-" + node)), ledgerUrl);
    }

    private Gateway inJvm(String node) throws Exception {
        return Gateway.start(new ConfigLoader().parse(yaml(node, "{enabled: false}")));
    }

    private static int put(int port, String user, String path, int size) throws Exception {
        return ClusterStatsTest.CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", ClusterStatsTest.auth(user))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[size])).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    /** The ledger's rows: "node outcome bytes", by id. */
    private List<String> rows(String where) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(ledgerUrl); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT node, outcome, bytes FROM transfers WHERE " + where + " ORDER BY id")) {
            while (rs.next()) {
                out.add(rs.getString(1) + " " + rs.getString(2) + " " + rs.getLong(3));
            }
        }
        return out;
    }

    private long single(String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(ledgerUrl); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getLong(1);
        }
    }

    private void await(String where, List<String> expected, long millis) throws Exception {
        long deadline = System.currentTimeMillis() + millis;
        while (!rows(where).equals(expected) && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(expected, rows(where), where);
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aKilledNodesUploadIsFailedOnceAfterTheLeaseAndTotalsStayExact() throws Exception {
        GatewayProcess a = GatewayProcess.start(GatewayProcess.writeConfig(dir, yaml("gw-a", "{port: 0, passive-ports: 54500-54520}")));
        try (Gateway b = inJvm("gw-b"); Gateway c = inJvm("gw-c")) {
            assertEquals(201, put(a.httpPort(), "alice", "/files/a.bin", 5_000));
            assertEquals(201, put(b.httpAddress().getPort(), "bob", "/files/b.bin", 7_001));
            assertEquals(201, put(c.httpAddress().getPort(), "alice", "/files/c.bin", 3_003));
            long sent = 5_000 + 7_001 + 3_003;
            try (Socket s = new Socket("127.0.0.1", a.httpPort())) {
                OutputStream out = s.getOutputStream();
                out.write(("PUT /files/cut.bin HTTP/1.1\r\nHost: x\r\nAuthorization: " + ClusterStatsTest.auth("alice")
                        + "\r\nContent-Length: 2000000\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(new byte[FIRST]);
                out.flush();
                // Progress is recorded every second: wait until the row holds the bytes sent.
                await("path = '/cut.bin'", List.of("gw-a active " + FIRST), 20_000);
                // The live nodes show it running on gw-a.
                JsonNode active = ClusterStatsTest.get(b, "/api/stats").get("active");
                for (int i = 0; i < 20 && active.size() == 0; i++) {
                    Thread.sleep(100);
                    active = ClusterStatsTest.get(b, "/api/stats").get("active");
                }
                assertEquals(1, active.size(), active.toString());
                assertEquals("gw-a", active.get(0).get("node").asText(), active.toString());
                a.kill();
                long killed = System.nanoTime();
                await("path = '/cut.bin'", List.of("gw-a failed " + FIRST), 20_000);
                long tookMillis = (System.nanoTime() - killed) / 1_000_000;
                assertTrue(tookMillis >= 2_000, "failed " + tookMillis + " ms after the kill, before the lease");
            }
            sent += FIRST;
            // Exactly once: one failure counted, under gw-a, in its minute and in the totals.
            assertEquals(1, single("SELECT SUM(failed) FROM throughput_minutes"));
            assertEquals(1, single("SELECT SUM(failed) FROM node_transferred WHERE node = 'gw-a'"));
            assertEquals(1, single("SELECT COUNT(*) FROM nodes WHERE node_id = 'gw-a' AND dead_millis IS NOT NULL"));
            // The live nodes read the failure from the ledger twice a second: wait for it there.
            long deadline = System.nanoTime() + 10_000_000_000L;
            for (Gateway g : new Gateway[] {b, c}) {
                while (ClusterStatsTest.get(g, "/api/stats").get("transferred").get("failedIn").asLong() < 1
                        && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
            }
            for (Gateway g : new Gateway[] {b, c}) {
                JsonNode stats = ClusterStatsTest.get(g, "/api/stats");
                JsonNode t = stats.get("transferred");
                assertEquals(sent, t.get("bytesIn").asLong(), t.toString());
                assertEquals(3, t.get("filesIn").asLong());
                assertEquals(1, t.get("failedIn").asLong());
                assertEquals(0, stats.get("active").size(), stats.toString());
                assertEquals(5_000 + 7_001 + 3_003, stats.get("stored").get("bytes").asLong());
                JsonNode nodes = ClusterStatsTest.get(g, "/api/nodes").get("nodes");
                assertEquals(List.of("gw-a", "gw-b", "gw-c"), ids(nodes));
                assertFalse(nodes.get(0).get("alive").asBoolean(), nodes.toString());
                assertFalse(nodes.get(0).get("deadAt").isNull(), nodes.toString());
                assertTrue(nodes.get(1).get("alive").asBoolean() && nodes.get(2).get("alive").asBoolean(), nodes.toString());
            }
            // Still once after more leases.
            Thread.sleep(3_500);
            assertEquals(1, single("SELECT SUM(failed) FROM throughput_minutes"));
        } finally {
            a.close();
        }
    }

    /**
     * On S3: gw-a is killed with a multipart upload open (12 MiB sent: two 5 MiB parts
     * uploaded, the rest buffered). After the lease a live node fails that transfer once and aborts its
     * multipart upload: nothing is left in the bucket, open or complete, and the ledger
     * forgets the upload.
     */
    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aKilledNodesMultipartUploadIsAbortedByALiveNodeAfterTheLease() throws Exception {
        S3ProxyFixture s3 = S3ProxyFixture.shared();
        String bucket = "cluster-lease";
        s3.createBucket(bucket);
        S3Client client = s3.client();
        for (MultipartUpload u : client.listMultipartUploadsPaginator(b -> b.bucket(bucket)).uploads()) {
            client.abortMultipartUpload(b -> b.bucket(bucket).key(u.key()).uploadId(u.uploadId())); // an earlier run's
        }
        storage = """
                {part-size: 5MiB, backends: [{name: s3, type: s3, bucket: %s, prefix: %s/, endpoint: "%s",
                  access-key: %s, secret-key: %s}]}""".formatted(bucket, schema, s3.endpoint(), s3.accessKey(), s3.secretKey());
        int sent = 12 * 1024 * 1024;
        GatewayProcess a = GatewayProcess.start(GatewayProcess.writeConfig(dir, yaml("gw-a", "{port: 0, passive-ports: 54521-54540}")));
        try (Gateway b = inJvm("gw-b"); Gateway c = inJvm("gw-c")) {
            try (Socket s = new Socket("127.0.0.1", a.httpPort())) {
                OutputStream out = s.getOutputStream();
                // Chunked, of unknown length: an announced size up to 100 MiB would be one PutObject.
                out.write(("PUT /files/cut.bin HTTP/1.1\r\nHost: x\r\nAuthorization: " + ClusterStatsTest.auth("alice")
                        + "\r\nTransfer-Encoding: chunked\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                for (int off = 0; off < sent; off += 1 << 20) {
                    out.write((Integer.toHexString(1 << 20) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(new byte[1 << 20]);
                    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                }
                out.flush();
                await("path = '/cut.bin'", List.of("gw-a active " + sent), 20_000);
                long deadline = System.nanoTime() + 20_000_000_000L;
                while (single("SELECT COUNT(*) FROM transfer_uploads") < 1 && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertEquals(1, single("SELECT COUNT(*) FROM transfer_uploads"));
                assertEquals(List.of(schema + "/alice/cut.bin"), openUploads(client, bucket));
                a.kill();
                await("path = '/cut.bin'", List.of("gw-a failed " + sent), 20_000);
            }
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (!openUploads(client, bucket).isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(List.of(), openUploads(client, bucket));
            deadline = System.nanoTime() + 10_000_000_000L;
            while (single("SELECT COUNT(*) FROM transfer_uploads") > 0 && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(0, single("SELECT COUNT(*) FROM transfer_uploads"));
            assertEquals(0, client.listObjectsV2(r -> r.bucket(bucket).prefix(schema + "/")).keyCount());
            assertEquals(1, single("SELECT SUM(failed) FROM throughput_minutes"));
        } finally {
            a.close();
        }
    }

    private static List<String> openUploads(S3Client client, String bucket) {
        List<String> keys = new ArrayList<>();
        client.listMultipartUploadsPaginator(r -> r.bucket(bucket)).uploads().forEach(u -> keys.add(u.key()));
        return keys;
    }

    private static List<String> ids(JsonNode nodes) {
        List<String> out = new ArrayList<>();
        nodes.forEach(n -> out.add(n.get("id").asText()));
        return out;
    }
}
