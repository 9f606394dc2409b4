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
import java.time.Instant;
import java.util.Base64;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;

/**
 * {@code GET /api/nodes} on the embedded ledger: the list is this node, alive, with a
 * heartbeat at most about a second old; for admins only.
 */
class NodesApiTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;

    static HttpResponse<String> get(String url, String user, String password) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(
                        (user + ":" + password).getBytes(StandardCharsets.UTF_8))).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theEmbeddedLedgerListsThisNodeAloneWithItsHeartbeat() throws Exception {
        // An earlier run under another name leaves a row that the embedded ledger drops.
        for (String node : new String[] {"old-name", "gw-solo"}) {
            try (Gateway g = Gateway.start(new ConfigLoader().parse("""
                    cluster: {node-id: %s, lease: 3s}
                    ftp: {enabled: false}
                    sftp: {enabled: false}
                    http: {port: 0}
                    storage: {backends: [{name: local, type: local, root: %s}]}
                    users:
                      - {name: root, password: toor, admin: true}
                      - {name: alice, password: secret}
                    ledger: {url: %s}
                    """.formatted(node, dir.resolve("files"), dir.resolve("ledger"))))) {
                if (node.equals("old-name")) {
                    continue;
                }
                String url = "http://127.0.0.1:" + g.httpAddress().getPort() + "/api/nodes";
                // Until the first heartbeat after start-up has recorded what the node serves.
                String serves = "http 127.0.0.1:" + g.httpAddress().getPort();
                HttpResponse<String> r = get(url, "root", "toor");
                for (long deadline = System.nanoTime() + 10_000_000_000L; System.nanoTime() < deadline; ) {
                    JsonNode first = JSON.readTree(r.body()).path("nodes").path(0);
                    if (serves.equals(first.path("serves").asText()) && Instant.parse(first.get("lastHeartbeat").asText())
                            .isAfter(Instant.parse(first.get("startedAt").asText()))) {
                        break;
                    }
                    Thread.sleep(50);
                    r = get(url, "root", "toor");
                }
                assertEquals(200, r.statusCode(), r.body());
                JsonNode body = JSON.readTree(r.body());
                assertEquals("gw-solo", body.get("self").asText());
                assertEquals(1, body.get("nodes").size(), r.body());
                JsonNode n = body.get("nodes").get(0);
                assertEquals("gw-solo", n.get("id").asText());
                assertTrue(n.get("alive").asBoolean(), r.body());
                assertTrue(n.get("ageSeconds").asDouble() < 1.5, r.body());
                assertEquals(3.0, n.get("leaseSeconds").asDouble());
                assertEquals(serves, n.get("serves").asText());
                assertTrue(Instant.parse(n.get("lastHeartbeat").asText()).isAfter(Instant.parse(n.get("startedAt").asText())),
                        r.body());
                assertTrue(n.get("deadAt").isNull());
                assertEquals(403, get(url, "alice", "secret").statusCode());
            }
        }
    }
}
