package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.meter.TransferMeter;

/** The statistics API beyond the totals (windows, user filter, transfer records) and login abuse over HTTP. */
class HttpApiTest {
    @TempDir
    static Path dir;
    static HttpFrontEnd http;
    static InetSocketAddress address;
    static final ObjectMapper json = new ObjectMapper();

    @BeforeAll
    static void start() throws Exception {
        GatewayConfig config = new ConfigLoader(Map.of()).parse("""
                http: {port: 0}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users:
                  - {name: alice, password: secret}
                  - {name: bob, password: bobpw}
                  - {name: admin, password: adminpw, admin: true}
                security: {login-failure-delay: 300ms, max-login-failures: 3, ban-duration: 10m}
                """.formatted(dir.resolve("files")));
        Accounts accounts = new Accounts(config, Map.of("local", new LocalStorage("local", dir.resolve("files"))),
                TransferMeter.inMemory());
        http = new HttpFrontEnd(config.http(), accounts, () -> "");
        address = http.start();
    }

    @AfterAll
    static void stop() {
        http.close();
    }

    record Answer(int status, String body) {
    }

    /** One request on a fresh connection from {@code from}, read to the end. */
    static Answer request(String from, String method, String path, String auth, String body) throws IOException {
        try (Socket s = new Socket(address.getAddress(), address.getPort(), InetAddress.getByName(from), 0)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
            String head = method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    + (auth == null ? "" : "Authorization: " + auth + "\r\n")
                    + "Content-Length: " + b.length + "\r\n\r\n";
            out.write(head.getBytes(StandardCharsets.UTF_8));
            out.write(b);
            out.flush();
            HttpFixture.RawResponse r = HttpFixture.read(s.getInputStream());
            return new Answer(r.status(), r.body());
        }
    }

    static Answer as(String user, String password, String method, String path, String body) throws IOException {
        return request("127.0.0.1", method, path, HttpFixture.basic(user, password), body);
    }

    @Test
    void transfersAreListedNewestFirstAndUsersSeeOnlyTheirOwn() throws IOException {
        assertEquals(201, as("alice", "secret", "PUT", "/files/t1.txt", "one").status());
        assertEquals(201, as("bob", "bobpw", "PUT", "/files/t2.txt", "two!").status());
        assertEquals(200, as("alice", "secret", "GET", "/files/t1.txt", null).status());

        JsonNode mine = json.readTree(as("alice", "secret", "GET", "/api/transfers?limit=10", null).body()).path("transfers");
        assertTrue(mine.size() >= 2);
        for (JsonNode t : mine) {
            assertEquals("alice", t.path("user").asText());
        }
        assertEquals("out", mine.get(0).path("direction").asText());
        assertEquals("/t1.txt", mine.get(0).path("path").asText());
        assertEquals(3, mine.get(0).path("bytes").asLong());
        assertEquals("completed", mine.get(0).path("outcome").asText());
        assertEquals("http", mine.get(0).path("protocol").asText());

        JsonNode bobs = json.readTree(as("admin", "adminpw", "GET", "/api/transfers?user=bob", null).body()).path("transfers");
        assertEquals("/t2.txt", bobs.get(0).path("path").asText());
        assertEquals(4, bobs.get(0).path("bytes").asLong());
        assertEquals(1, json.readTree(as("admin", "adminpw", "GET", "/api/transfers?limit=1", null).body()).path("transfers").size());

        assertEquals(403, as("alice", "secret", "GET", "/api/transfers?user=bob", null).status());
        assertEquals(400, as("alice", "secret", "GET", "/api/transfers?limit=-1", null).status());
    }

    @Test
    void statsWindowsCountOnlyTheTransfersThatEndedInThem() throws Exception {
        Instant before = Instant.now();
        Thread.sleep(5);
        assertEquals(201, as("bob", "bobpw", "PUT", "/files/w.txt", "12345").status());
        JsonNode window = json.readTree(as("bob", "bobpw", "GET", "/api/stats?since=" + before, null).body());
        assertEquals(5, window.path("transferred").path("bytesIn").asLong());
        assertEquals(1, window.path("transferred").path("filesIn").asLong());
        JsonNode earlier = json.readTree(as("bob", "bobpw", "GET", "/api/stats?until=" + before, null).body());
        JsonNode all = json.readTree(as("bob", "bobpw", "GET", "/api/stats", null).body());
        // before + after the cut = everything, and the upload lies after it
        assertEquals(all.path("transferred").path("bytesIn").asLong(),
                earlier.path("transferred").path("bytesIn").asLong() + window.path("transferred").path("bytesIn").asLong());
        JsonNode onlyBob = json.readTree(as("admin", "adminpw", "GET", "/api/stats?user=bob&since=" + before, null).body());
        assertEquals(5, onlyBob.path("transferred").path("byUser").path("bob").path("bytesIn").asLong());
        assertTrue(onlyBob.path("transferred").path("byUser").path("alice").isMissingNode());
        assertEquals(400, as("bob", "bobpw", "GET", "/api/stats?since=yesterday", null).status());
        assertEquals(403, as("bob", "bobpw", "GET", "/api/stats?user=alice", null).status());
    }

    @Test
    void failedLoginsAreDelayedAndBanTheirAddressOnly() throws IOException {
        long t0 = System.nanoTime();
        Answer wrong = request("127.0.0.5", "GET", "/api/stats", HttpFixture.basic("alice", "nope"), null);
        assertEquals(401, wrong.status());
        assertTrue(System.nanoTime() - t0 >= 300_000_000L, "a wrong password is answered after the delay");
        request("127.0.0.5", "GET", "/api/stats", HttpFixture.basic("alice", "nope2"), null);
        request("127.0.0.5", "GET", "/api/stats", HttpFixture.basic("alice", "nope3"), null);
        Answer banned = request("127.0.0.5", "GET", "/api/stats", HttpFixture.basic("alice", "secret"), null);
        assertEquals(429, banned.status(), banned.body());
        assertTrue(banned.body().contains("\"error\":\"banned\""), banned.body());
        assertEquals(200, request("127.0.0.6", "GET", "/api/stats", HttpFixture.basic("alice", "secret"), null).status());
    }
}
