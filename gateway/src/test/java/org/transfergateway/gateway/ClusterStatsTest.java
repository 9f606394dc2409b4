package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.Base64;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;

/**
 * Two gateways (gw-a, gw-b) in one JVM on one PostgreSQL ledger, each on a disk of its own:
 * uploads to both, and within a second of the last one {@code /api/stats} on each node
 * equals, to the byte, the sum of what the clients sent; {@code /api/nodes} lists both.
 * Runs where GATEWAY_TEST_POSTGRES_URL names a database (required with
 * GATEWAY_TEST_REQUIRE_CLIENTS=1); each run keeps to a schema of its own.
 */
class ClusterStatsTest {
    static final String URL = System.getenv("GATEWAY_TEST_POSTGRES_URL");
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient CLIENT = HttpClient.newHttpClient();

    @TempDir
    Path dir;
    String schema;
    String ledgerUrl;

    /** Skips without a database, unless the run requires every client and server. */
    static void assumePostgres() {
        if (URL == null && "1".equals(System.getenv("GATEWAY_TEST_REQUIRE_CLIENTS"))) {
            Assertions.fail("GATEWAY_TEST_POSTGRES_URL is not set but GATEWAY_TEST_REQUIRE_CLIENTS=1");
        }
        Assumptions.assumeTrue(URL != null, "GATEWAY_TEST_POSTGRES_URL is not set");
    }

    @BeforeEach
    void ownSchema() throws Exception {
        assumePostgres();
        schema = "cluster_stats_" + System.nanoTime();
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

    Gateway start(String node) throws Exception {
        return Gateway.start(new ConfigLoader().parse("""
                cluster: {node-id: %s, lease: 3s}
                ftp: {enabled: false}
                sftp: {enabled: false}
                http: {port: 0}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users:
                  - {name: alice, password: secret, admin: true}
                  - {name: bob, password: secret}
                ledger: {url: "%s"}
                """.formatted(node, dir.resolve("files-" + node), ledgerUrl)));
    }

    static String auth(String user) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":secret").getBytes(StandardCharsets.UTF_8));
    }

    static int put(Gateway g, String user, String path, int size) throws Exception {
        return CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpAddress().getPort() + path))
                .header("Authorization", auth(user)).PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[size])).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    static JsonNode get(Gateway g, String path) throws Exception {
        HttpResponse<String> r = CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + g.httpAddress().getPort() + path)).header("Authorization", auth("alice")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    @Test
    void statsOnEveryNodeAreTheExactUnionWithinASecond() throws Exception {
        try (Gateway a = start("gw-a"); Gateway b = start("gw-b")) {
            long sent = 0;
            long aliceBytes = 0;
            for (int i = 0; i < 10; i++) {
                int size = 1000 * (i + 1) + i;
                Gateway g = i % 2 == 0 ? a : b;
                String user = i % 3 == 0 ? "bob" : "alice";
                assertEquals(201, put(g, user, "/files/f" + i + ".bin", size));
                sent += size;
                aliceBytes += user.equals("alice") ? size : 0;
            }
            // Each node reads the others' additions twice a second: wait for that, not for a fixed time.
            long deadline = System.nanoTime() + 10_000_000_000L;
            for (Gateway g : new Gateway[] {a, b}) {
                while (get(g, "/api/stats").get("transferred").get("filesIn").asLong() < 10 && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
            }
            for (Gateway g : new Gateway[] {a, b}) {
                JsonNode t = get(g, "/api/stats").get("transferred");
                assertEquals(sent, t.get("bytesIn").asLong(), t.toString());
                assertEquals(10, t.get("filesIn").asLong());
                assertEquals(aliceBytes, t.get("byUser").get("alice").get("bytesIn").asLong());
                assertEquals(sent, t.get("byProtocol").get("http").get("bytesIn").asLong());
                JsonNode stored = get(g, "/api/stats").get("stored");
                assertEquals(sent, stored.get("bytes").asLong());
                assertEquals(10, stored.get("objects").asLong());
                JsonNode nodes = get(g, "/api/nodes").get("nodes");
                assertEquals(2, nodes.size(), nodes.toString());
                for (JsonNode n : nodes) {
                    assertTrue(n.get("alive").asBoolean(), nodes.toString());
                }
            }
        }
    }
}
