package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.OutputStream;
import java.net.Socket;
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

/** The {@code stats} command against a running gateway, and the Prometheus metrics moving during a transfer. */
class StatsAndMetricsTest {
    @TempDir
    static Path dir;
    static Gateway gateway;
    static String url;

    @BeforeAll
    static void start() throws Exception {
        gateway = Gateway.start(new ConfigLoader(Map.of()).parse("""
                ftp: {enabled: false}
                http: {port: 0}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users:
                  - {name: alice, password: secret}
                  - {name: root, password: toor, admin: true}
                ledger: {url: %s}
                """.formatted(dir.resolve("files"), dir.resolve("ledger"))));
        url = "http://127.0.0.1:" + gateway.httpAddress().getPort();
    }

    @AfterAll
    static void stop() {
        gateway.close();
    }

    private static String auth(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    private static String get(String path, String user, String password) throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url + path))
                .header("Authorization", auth(user, password)).build(), HttpResponse.BodyHandlers.ofString()).body();
    }

    @Test
    void statsPrintsATableAndTheJson() throws Exception {
        HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(url + "/files/t.bin"))
                .header("Authorization", auth("alice", "secret"))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[777])).build(), HttpResponse.BodyHandlers.discarding());

        CommandLineTest.Result table = CommandLineTest.run("", "stats", "--url", url, "--user", "alice", "--password", "secret");
        assertEquals(0, table.status(), table.err());
        assertTrue(table.out().startsWith("Transferred since "), table.out());
        assertTrue(table.out().lines().anyMatch(l -> l.matches("\\s+user alice\\s+777 B\\s+0 B\\s+1\\s+0\\s+0\\s+0")), table.out());
        assertTrue(table.out().lines().anyMatch(l -> l.matches("\\s+backend local\\s+777 B\\s+1")), table.out());
        assertTrue(table.out().contains("Active transfers: 0"), table.out());

        CommandLineTest.Result raw = CommandLineTest.run("", "stats", "--url", url, "--user", "alice", "--password", "secret", "--json");
        JsonNode json = new ObjectMapper().readTree(raw.out());
        assertEquals(777, json.path("transferred").path("byUser").path("alice").path("bytesIn").asLong());

        CommandLineTest.Result refused = CommandLineTest.run("", "stats", "--url", url, "--user", "alice", "--password", "nope");
        assertEquals(1, refused.status());
        assertTrue(refused.err().contains("(401)"), refused.err());
    }

    @Test
    void byteCountersMoveDuringATransferNotOnlyAtItsEnd() throws Exception {
        Pattern bytes = Pattern.compile("gateway_transfer_bytes_total\\{direction=\"in\",protocol=\"http\",user=\"alice\"} ([0-9.E+]+)");
        double before = value(bytes, get("/metrics", "root", "toor"));
        try (Socket s = new Socket("127.0.0.1", gateway.httpAddress().getPort())) {
            OutputStream out = s.getOutputStream();
            out.write(("PUT /files/slow.bin HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth("alice", "secret")
                    + "\r\nContent-Length: 2000000\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            out.write(new byte[1_000_000]);
            out.flush();
            long deadline = System.currentTimeMillis() + 10_000;
            double during = before;
            while (during - before < 1_000_000 && System.currentTimeMillis() < deadline) {
                Thread.sleep(50);
                during = value(bytes, get("/metrics", "root", "toor"));
            }
            assertEquals(before + 1_000_000, during, "half the body is counted while the upload runs");
            String metrics = get("/metrics", "root", "toor");
            assertTrue(metrics.contains("gateway_transfers_active 1.0"), metrics);
            // at least the upload's connection and the scrape's own (earlier clients may keep theirs open)
            double connections = value(Pattern.compile("gateway_connections_open\\{protocol=\"http\"} ([0-9.]+)"), metrics);
            assertTrue(connections >= 2, metrics);
            out.write(new byte[1_000_000]);
            out.flush();
            s.getInputStream().read();
        }
        long deadline = System.currentTimeMillis() + 10_000;
        while (!gateway.meter().active().isEmpty() && System.currentTimeMillis() < deadline) {
            Thread.sleep(20);
        }
        String metrics = get("/metrics", "root", "toor");
        assertEquals(before + 2_000_000, value(bytes, metrics));
        assertTrue(metrics.contains("gateway_transfers_total{direction=\"in\",outcome=\"completed\",protocol=\"http\"}"), metrics);
        assertTrue(metrics.contains("gateway_stored_bytes{backend=\"local\"}"), metrics);
        assertTrue(metrics.contains("jvm_memory_used_bytes"), metrics);
    }

    private static double value(Pattern p, String text) {
        Matcher m = p.matcher(text);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }
}
