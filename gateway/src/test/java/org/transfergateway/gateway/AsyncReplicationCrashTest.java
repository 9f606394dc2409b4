package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real gateway process with a pool of three local backends keeping two copies of each
 * file, the second made asynchronously: uploads are confirmed with one copy while the
 * members that should take the second fail; the gateway is killed with SIGKILL while every
 * copy is still pending, then started again with the members repaired. The queue survived:
 * every file ends with exactly two copies on disk, the totals are exact, nothing is pending.
 */
class AsyncReplicationCrashTest {
    private static final List<String> MEMBERS = List.of("a", "b", "c");
    private static final int FILES = 20;

    @TempDir
    Path dir;
    final ObjectMapper json = new ObjectMapper();
    final HttpClient http = HttpClient.newHttpClient();

    private Path config() throws IOException {
        return GatewayProcess.writeConfig(dir, """
                ftp: {port: 0, passive-ports: 53300-53320}
                http: {port: 0}
                storage:
                  backends:
                    - {name: a, type: local, root: %s}
                    - {name: b, type: local, root: %s}
                    - {name: c, type: local, root: %s}
                  pools:
                    - {name: spread, backends: [a, b, c], policy: failover, replicas: 2, replication: async,
                       probe-interval: 1s}
                users:
                  - {name: alice, password: secret, backend: spread, admin: true}
                ledger: {url: %s}
                """.formatted(dir.resolve("a"), dir.resolve("b"), dir.resolve("c"), dir.resolve("ledger")));
    }

    private static String auth() {
        return "Basic " + Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8));
    }

    private JsonNode get(GatewayProcess g, String path) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpPort() + path))
                .header("Authorization", auth()).build();
        HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return json.readTree(r.body());
    }

    private int put(GatewayProcess g, String path, byte[] body) throws Exception {
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpPort() + "/files" + path))
                .header("Authorization", auth()).PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        return http.send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private static JsonNode pool(JsonNode backends) {
        return backends.path("pools").get(0);
    }

    private static JsonNode backend(JsonNode backends, String name) {
        for (JsonNode b : backends.path("backends")) {
            if (b.path("name").asText().equals(name)) {
                return b;
            }
        }
        throw new AssertionError(name + " is not in " + backends);
    }

    /** Makes a member refuse uploads before their first byte: its temporary folder becomes a file. */
    private void breakMember(String m) throws IOException {
        Path temp = dir.resolve(m).resolve(".transfer-gateway-tmp");
        try (Stream<Path> s = Files.list(temp)) {
            assertEquals(0, s.count());
        }
        Files.delete(temp);
        Files.writeString(temp, "not a folder");
    }

    private void repairMember(String m) throws IOException {
        Files.delete(dir.resolve(m).resolve(".transfer-gateway-tmp"));
    }

    /** The members that hold alice's {@code name}, with its content. */
    private Map<String, byte[]> copiesOnDisk(String name) throws IOException {
        Map<String, byte[]> copies = new LinkedHashMap<>();
        for (String m : MEMBERS) {
            Path f = dir.resolve(m).resolve("alice").resolve(name);
            if (Files.exists(f)) {
                copies.put(m, Files.readAllBytes(f));
            }
        }
        return copies;
    }

    @Test
    void copiesStillPendingAtAKillAreMadeAfterTheRestart() throws Exception {
        Path config = config();
        Map<String, byte[]> files = new LinkedHashMap<>();
        Random random = new Random(42);
        long total = 0;
        for (int i = 0; i < FILES; i++) {
            byte[] content = new byte[1 + random.nextInt(300_000)];
            random.nextBytes(content);
            files.put("f" + i + ".bin", content);
            total += content.length;
        }

        try (GatewayProcess g = GatewayProcess.start(config)) {
            // Both members that could take the second copies fail: the copies stay pending.
            breakMember("b");
            breakMember("c");
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                assertEquals(201, put(g, "/" + f.getKey(), f.getValue()));
            }
            for (String name : files.keySet()) {
                assertEquals(List.of("a"), new ArrayList<>(copiesOnDisk(name).keySet()), name + ": one copy when confirmed");
            }
            JsonNode backends = get(g, "/api/backends");
            JsonNode lag = pool(backends).path("replication");
            assertEquals("async", lag.path("mode").asText(), backends.toString());
            assertEquals(FILES, lag.path("pending").asLong(), backends.toString());
            assertEquals(total, lag.path("pendingBytes").asLong(), backends.toString());
            assertEquals(total, backend(backends, "a").path("storedBytes").asLong(), backends.toString());
            assertEquals(0, backend(backends, "b").path("storedBytes").asLong(), backends.toString());
            // Kill the gateway once the replicator has tried and failed on both targets.
            long tried = System.currentTimeMillis() + 30_000;
            JsonNode now = get(g, "/api/backends");
            while (backend(now, "b").path("errors").asLong() < 1 || backend(now, "c").path("errors").asLong() < 1) {
                assertTrue(System.currentTimeMillis() < tried, "the replicator made no attempt: " + now + "\n" + g.log());
                Thread.sleep(20);
                now = get(g, "/api/backends");
            }
            assertEquals(FILES, pool(get(g, "/api/backends")).path("replication").path("pending").asLong());
            g.kill();
        }

        repairMember("b");
        repairMember("c");
        try (GatewayProcess g = GatewayProcess.start(config)) {
            long deadline = System.currentTimeMillis() + 30_000;
            JsonNode backends = get(g, "/api/backends");
            while (pool(backends).path("replication").path("pending").asLong() > 0) {
                assertTrue(System.currentTimeMillis() < deadline, "still pending: " + backends + "\n" + g.log());
                Thread.sleep(100);
                backends = get(g, "/api/backends");
            }
            assertEquals(json.readTree("{\"mode\": \"async\", \"pending\": 0, \"pendingBytes\": 0, \"oldestSeconds\": 0}"),
                    pool(backends).path("replication"));

            Map<String, Long> onDisk = new LinkedHashMap<>();
            Map<String, Long> objectsOnDisk = new LinkedHashMap<>();
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                Map<String, byte[]> copies = copiesOnDisk(f.getKey());
                assertEquals(2, copies.size(), f.getKey() + " is on " + copies.keySet());
                assertTrue(copies.containsKey("a"), f.getKey());
                for (Map.Entry<String, byte[]> c : copies.entrySet()) {
                    assertArrayEquals(f.getValue(), c.getValue(), f.getKey() + " on " + c.getKey());
                    onDisk.merge(c.getKey(), (long) c.getValue().length, Long::sum);
                    objectsOnDisk.merge(c.getKey(), 1L, Long::sum);
                }
            }
            for (String m : MEMBERS) {
                try (Stream<Path> s = Files.list(dir.resolve(m).resolve(".transfer-gateway-tmp"))) {
                    assertEquals(0, s.count(), m + ": no partial copy is left");
                }
                JsonNode b = backend(backends, m);
                assertEquals(onDisk.getOrDefault(m, 0L), b.path("storedBytes").asLong(), m + ": " + backends);
                assertEquals(objectsOnDisk.getOrDefault(m, 0L), b.path("objects").asLong(), m + ": " + backends);
            }
            assertEquals(total, pool(backends).path("storedBytes").asLong());
            assertEquals(FILES, pool(backends).path("objects").asLong());

            JsonNode stats = get(g, "/api/stats");
            assertEquals(total, stats.path("stored").path("bytes").asLong(), stats.toString());
            assertEquals(FILES, stats.path("stored").path("objects").asLong(), stats.toString());
            assertEquals(total, stats.path("stored").path("byUser").path("alice").path("bytes").asLong(), stats.toString());
            long copies = 0;
            for (String m : MEMBERS) {
                JsonNode b = stats.path("stored").path("byBackend").path(m);
                assertEquals(onDisk.getOrDefault(m, 0L), b.path("bytes").asLong(), m + ": " + stats);
                copies += b.path("objects").asLong();
            }
            assertEquals(2 * FILES, copies);
            assertEquals(total, stats.path("transferred").path("bytesIn").asLong());
            assertEquals(FILES, stats.path("transferred").path("filesIn").asLong());

            String metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + g.httpPort() + "/metrics"))
                    .header("Authorization", auth()).build(), HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(metrics.contains("gateway_pool_replication_pending{pool=\"spread\"} 0.0"), metrics);
            assertEquals(0, g.terminate(), "SIGTERM stops the gateway with status 0");
        }
    }
}
