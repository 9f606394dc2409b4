package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code GET /api/users}: each user's quota beside its stored and transferred totals, exact
 * after real uploads; every user for an admin, only oneself for anyone else.
 */
class UsersApiTest {
    @TempDir
    static Path dir;
    static HttpFixture http;
    static final HttpClient client = HttpClient.newHttpClient();
    static final ObjectMapper json = new ObjectMapper();

    @BeforeAll
    static void start() throws Exception {
        http = HttpFixture.withMoreUsers(dir, """
                  - name: carol
                    password: carol-secret
                    quota: {bytes: 1000, files: 5}
                  - name: dave
                    password: dave-secret
                    quota: {files: 3}
                """);
        put("alice", "secret", "/files/a.bin", 100);
        put("alice", "secret", "/files/b.bin", 20);
        put("carol", "carol-secret", "/files/c.bin", 300);
        // Over carol's quota: refused, counted as a failed upload, nothing stored.
        assertEquals(413, put("carol", "carol-secret", "/files/big.bin", 800));
        HttpResponse<byte[]> r = client.send(HttpRequest.newBuilder(URI.create(http.url("/files/a.bin")))
                .header("Authorization", HttpFixture.basic("alice", "secret")).build(), HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(100, r.body().length);
    }

    @AfterAll
    static void stop() {
        http.close();
    }

    static int put(String user, String password, String path, int size) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(http.url(path)))
                .header("Authorization", HttpFixture.basic(user, password))
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[size])).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    static HttpResponse<String> get(String user, String password, String path) throws Exception {
        return client.send(HttpRequest.newBuilder(URI.create(http.url(path)))
                .header("Authorization", HttpFixture.basic(user, password)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static String alice = """
            {"name":"alice","admin":false,"backend":"local","quota":null,
             "stored":{"bytes":120,"objects":2},
             "transferred":{"bytesIn":120,"bytesOut":100,"filesIn":2,"filesOut":1,"failedIn":0,"failedOut":0}}""";

    @Test
    void anAdminSeesEveryUserInConfigOrderWithQuotas() throws Exception {
        HttpResponse<String> r = get("admin", "admin-secret", "/api/users");
        assertEquals(200, r.statusCode());
        // carol's upload over quota was refused before it began: no transfer, nothing stored.
        assertEquals(json.readTree("""
                {"users":[%s,
                 {"name":"admin","admin":true,"backend":"local","quota":null,
                  "stored":{"bytes":0,"objects":0},
                  "transferred":{"bytesIn":0,"bytesOut":0,"filesIn":0,"filesOut":0,"failedIn":0,"failedOut":0}},
                 {"name":"carol","admin":false,"backend":"local","quota":{"bytes":1000,"files":5},
                  "stored":{"bytes":300,"objects":1},
                  "transferred":{"bytesIn":300,"bytesOut":0,"filesIn":1,"filesOut":0,"failedIn":0,"failedOut":0}},
                 {"name":"dave","admin":false,"backend":"local","quota":{"bytes":null,"files":3},
                  "stored":{"bytes":0,"objects":0},
                  "transferred":{"bytesIn":0,"bytesOut":0,"filesIn":0,"filesOut":0,"failedIn":0,"failedOut":0}}]}
                """.formatted(alice)), json.readTree(r.body()));
        assertEquals(json.readTree("{\"users\":[" + alice + "]}"),
                json.readTree(get("admin", "admin-secret", "/api/users?user=alice").body()));
    }

    @Test
    void aUserSeesOnlyItself() throws Exception {
        HttpResponse<String> r = get("alice", "secret", "/api/users");
        assertEquals(200, r.statusCode());
        assertEquals(json.readTree("{\"users\":[" + alice + "]}"), json.readTree(r.body()));
        assertEquals(403, get("alice", "secret", "/api/users?user=carol").statusCode());
        assertEquals(401, client.send(HttpRequest.newBuilder(URI.create(http.url("/api/users"))).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode());
    }
}
