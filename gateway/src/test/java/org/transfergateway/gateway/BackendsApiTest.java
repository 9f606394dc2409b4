package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.storage.testing.S3ProxyFixture;

/**
 * {@code GET /api/backends} and the backends' Prometheus metrics on a real gateway: a plain
 * local backend, and two pools over a local backend and an S3 bucket (S3Proxy): one that
 * keeps a copy of each object on both, one that fails over from the disk to the bucket.
 */
class BackendsApiTest {
    static final String BUCKET = "backends-api";
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path dir;
    static Gateway gateway;
    static String url;

    @BeforeAll
    static void start() throws Exception {
        S3ProxyFixture s3 = S3ProxyFixture.sharedInMemory();
        s3.createBucket(BUCKET);
        gateway = Gateway.start(new ConfigLoader(Map.of("S3_ACCESS_KEY", s3.accessKey(), "S3_SECRET_KEY",
                s3.secretKey())).parse("""
                ftp: {enabled: false}
                http: {port: 0}
                storage:
                  backends:
                    - {name: plain, type: local, root: %s}
                    - {name: disk, type: local, root: %s}
                    - name: bucket
                      type: s3
                      bucket: %s
                      endpoint: %s
                      path-style: true
                      access-key: ${S3_ACCESS_KEY}
                      secret-key: ${S3_SECRET_KEY}
                      checksums: when-required
                  pools:
                    - {name: mirror, backends: [disk, bucket], replicas: 2}
                    - {name: standby, backends: [disk, bucket], policy: failover}
                users:
                  - {name: alice, password: secret, backend: mirror}
                  - {name: bob, password: secret, backend: standby}
                  - {name: root, password: toor, admin: true}
                ledger: {url: %s}
                """.formatted(dir.resolve("plain"), dir.resolve("disk"), BUCKET, s3.endpoint(),
                dir.resolve("ledger"))));
        url = "http://127.0.0.1:" + gateway.httpAddress().getPort();
        // alice: three objects, each on both members of mirror
        put("alice", "secret", "/a.bin", 100);
        put("alice", "secret", "/docs/b.bin", 2_000);
        put("alice", "secret", "/docs/c.bin", 30_000);
        // bob: one object, on disk (the first healthy member of standby)
        put("bob", "secret", "/d.bin", 500);
        // root: one object on the plain backend
        put("root", "toor", "/e.bin", 7);
    }

    @AfterAll
    static void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    private static String auth(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private static void put(String user, String password, String path, int size) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url + "/files" + path))
                .header("Authorization", auth(user, password))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[size])).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(201, r.statusCode(), r.body());
    }

    private static HttpResponse<String> get(String path, String user, String password) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path));
        if (user != null) {
            b.header("Authorization", auth(user, password));
        }
        return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void anAdminSeesEveryBackendAndPoolWithExactTotals() throws Exception {
        HttpResponse<String> r = get("/api/backends", "root", "toor");
        assertEquals(200, r.statusCode(), r.body());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/json"), r.headers().toString());
        JsonNode body = JSON.readTree(r.body());

        // Latencies are measured: a pooled backend has some, the plain one none.
        for (JsonNode b : body.path("backends")) {
            double p50 = b.path("latencyMs").path("p50").asDouble(-1);
            double p99 = b.path("latencyMs").path("p99").asDouble(-1);
            if (b.path("name").asText().equals("plain")) {
                assertEquals(0.0, p50, r.body());
                assertEquals(0.0, p99, r.body());
            } else {
                assertTrue(p50 > 0 && p99 >= p50, r.body());
            }
            ((ObjectNode) b.path("latencyMs")).put("p50", 0.0).put("p99", 0.0);
        }
        assertEquals(JSON.readTree("""
                {"backends": [
                  {"name": "plain", "type": "local", "healthy": true, "storedBytes": 7, "objects": 1,
                   "outstandingBytes": 0, "latencyMs": {"p50": 0.0, "p99": 0.0}, "errors": 0},
                  {"name": "disk", "type": "local", "healthy": true, "storedBytes": 32600, "objects": 4,
                   "outstandingBytes": 0, "latencyMs": {"p50": 0.0, "p99": 0.0}, "errors": 0},
                  {"name": "bucket", "type": "s3", "healthy": true, "storedBytes": 32100, "objects": 3,
                   "outstandingBytes": 0, "latencyMs": {"p50": 0.0, "p99": 0.0}, "errors": 0}
                 ],
                 "pools": [
                  {"name": "mirror", "policy": "round-robin", "backends": ["disk", "bucket"], "replicas": 2,
                   "storedBytes": 32100, "objects": 3,
                   "replication": {"mode": "sync", "pending": 0, "pendingBytes": 0, "oldestSeconds": 0}},
                  {"name": "standby", "policy": "failover", "backends": ["disk", "bucket"], "replicas": 1,
                   "storedBytes": 500, "objects": 1,
                   "replication": {"mode": "sync", "pending": 0, "pendingBytes": 0, "oldestSeconds": 0}}
                 ]}
                """), body);
    }

    @Test
    void aUserIsRefusedAndAStrangerAskedForCredentials() throws Exception {
        HttpResponse<String> forbidden = get("/api/backends", "alice", "secret");
        assertEquals(403, forbidden.statusCode(), forbidden.body());
        JsonNode error = JSON.readTree(forbidden.body());
        assertEquals("forbidden", error.path("error").asText(), forbidden.body());
        assertEquals(JSON.readTree(get("/metrics", "alice", "secret").body()).path("error"), error.path("error"));

        HttpResponse<String> anonymous = get("/api/backends", null, null);
        assertEquals(401, anonymous.statusCode(), anonymous.body());
        assertTrue(anonymous.headers().firstValue("WWW-Authenticate").isPresent(), anonymous.headers().toString());
    }

    @Test
    void metricsShowEachBackendsStateAndEachPoolsLag() throws Exception {
        String metrics = get("/metrics", "root", "toor").body();
        for (String b : new String[] {"plain", "disk", "bucket"}) {
            assertEquals(1.0, value(metrics, "gateway_backend_healthy{backend=\"" + b + "\"}"), metrics);
            assertEquals(0.0, value(metrics, "gateway_backend_outstanding_bytes{backend=\"" + b + "\"}"), metrics);
            assertEquals(0.0, value(metrics, "gateway_backend_errors_total{backend=\"" + b + "\"}"), metrics);
            double p50 = value(metrics, "gateway_backend_latency_ms{backend=\"" + b + "\",quantile=\"0.5\"}");
            double p99 = value(metrics, "gateway_backend_latency_ms{backend=\"" + b + "\",quantile=\"0.99\"}");
            assertTrue(b.equals("plain") ? p50 == 0 && p99 == 0 : p50 > 0 && p99 >= p50, metrics);
        }
        assertEquals(7.0, value(metrics, "gateway_stored_bytes{backend=\"plain\"}"), metrics);
        assertEquals(32_600.0, value(metrics, "gateway_stored_bytes{backend=\"disk\"}"), metrics);
        assertEquals(32_100.0, value(metrics, "gateway_stored_bytes{backend=\"bucket\"}"), metrics);
        assertEquals(4.0, value(metrics, "gateway_stored_objects{backend=\"disk\"}"), metrics);
        assertEquals(3.0, value(metrics, "gateway_stored_objects{backend=\"bucket\"}"), metrics);
        assertEquals(0.0, value(metrics, "gateway_pool_replication_pending{pool=\"mirror\"}"), metrics);
        assertEquals(0.0, value(metrics, "gateway_pool_replication_pending{pool=\"standby\"}"), metrics);
    }

    /** The value of the sample named exactly {@code sample} (name and labels), which must be there. */
    private static double value(String metrics, String sample) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(sample) + " (\\S+)$").matcher(metrics);
        assertTrue(m.find(), sample + " is missing from\n" + metrics);
        return Double.parseDouble(m.group(1));
    }
}
