package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.commons.net.ftp.FTPClient;
import org.apache.commons.net.ftp.FTPConnectionClosedException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.ConfigLoader;

/**
 * Limits that hold across the nodes sharing one PostgreSQL ledger (SPEC section 11): two
 * nodes racing uploads for a user's last free bytes (one wins, totals exact), one session
 * per user across two nodes, a login ban made on one node refusing on the other, and the
 * quota and sessions a killed node held freed once its lease ran out. Runs where
 * GATEWAY_TEST_POSTGRES_URL names a database (required with GATEWAY_TEST_REQUIRE_CLIENTS=1);
 * each run keeps to a schema of its own. {@code -Draces=N} runs the race N times.
 */
class ClusterLimitsTest {
    private static final int QUOTA = 1_000_000;
    private static final int BIG = 600_000;

    @TempDir
    Path dir;
    String schema;
    String ledgerUrl;

    @BeforeEach
    void ownSchema() throws Exception {
        ClusterStatsTest.assumePostgres();
        schema = "cluster_limits_" + System.nanoTime();
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

    private String yaml(String node, String ftp, String extra) {
        return """
                cluster: {node-id: %s, lease: 3s}
                ftp: %s
                sftp: {enabled: false}
                http: {port: 0}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users:
                  - {name: alice, password: secret, admin: true}
                  - {name: carol, password: secret, quota: {bytes: %d, files: 10}}
                ledger: {url: "%s"}
                %s
                """.formatted(node, ftp, dir.resolve("files"), QUOTA, ledgerUrl, extra);
    }

    private Gateway inJvm(String node, String extra) throws Exception {
        // Passive ports of their own per node: no data connection is opened, but ranges must not meet.
        String ports = node.equals("gw-a") ? "54640-54650" : "54660-54670";
        return Gateway.start(new ConfigLoader().parse(yaml(node, "{port: 0, passive-ports: " + ports + "}", extra)));
    }

    private long single(String sql) throws Exception {
        try (Connection c = DriverManager.getConnection(ledgerUrl); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(sql)) {
            assertTrue(rs.next());
            return rs.getLong(1);
        }
    }

    private static void await(String what, BooleanSupplier condition, long millis) throws Exception {
        long deadline = System.nanoTime() + millis * 1_000_000;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + millis + " ms: " + what);
            }
            Thread.sleep(20);
        }
    }

    private long rows(String sql) {
        try {
            return single(sql);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A PUT of {@code size} bytes, announced (Content-Length) or chunked. */
    private static int put(int port, String user, String path, int size, boolean announced) throws Exception {
        HttpRequest.BodyPublisher body = announced ? HttpRequest.BodyPublishers.ofByteArray(new byte[size])
                : HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(new byte[size]));
        return ClusterStatsTest.CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/files" + path))
                .header("Authorization", ClusterStatsTest.auth(user)).PUT(body).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private static int delete(int port, String user, String path) throws Exception {
        return ClusterStatsTest.CLIENT.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/files" + path))
                .header("Authorization", ClusterStatsTest.auth(user)).DELETE().build(),
                HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    private static long storedOf(Gateway g, String user) throws Exception {
        var byUser = ClusterStatsTest.get(g, "/api/stats").get("stored").get("byUser").get(user);
        return byUser == null ? 0 : byUser.get("bytes").asLong();
    }

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void twoNodesRacingForTheLastFreeBytesLetExactlyOneUploadIn() throws Exception {
        int races = Integer.getInteger("races", 2);
        try (Gateway a = inJvm("gw-a", ""); Gateway b = inJvm("gw-b", "")) {
            int[] ports = {a.httpAddress().getPort(), b.httpAddress().getPort()};
            for (int i = 0; i < races; i++) {
                // Announced sizes reserve at once; chunked bodies reserve in steps as they arrive.
                boolean announced = i % 2 == 0;
                CyclicBarrier together = new CyclicBarrier(2);
                List<CompletableFuture<Integer>> answers = new ArrayList<>();
                for (int n = 0; n < 2; n++) {
                    int port = ports[n];
                    String path = "/race-" + i + "-" + n + ".bin";
                    answers.add(CompletableFuture.supplyAsync(() -> {
                        try {
                            together.await();
                            return put(port, "carol", path, BIG, announced);
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    }));
                }
                List<Integer> codes = new ArrayList<>();
                for (CompletableFuture<Integer> f : answers) {
                    codes.add(f.get(60, TimeUnit.SECONDS));
                }
                codes.sort(null);
                assertEquals(List.of(201, 413), codes, "race " + i + (announced ? " (announced)" : " (chunked)"));
                int winner = answers.get(0).get() == 201 ? 0 : 1;
                // Exactly the winner's bytes are stored, in the ledger and on both nodes.
                assertEquals(BIG, single("SELECT SUM(bytes) FROM stored_totals WHERE user_name = 'carol'"));
                await("no reservation left", () -> rows("SELECT COUNT(*) FROM quota_reservations") == 0, 5_000);
                for (Gateway g : new Gateway[] {a, b}) {
                    long deadline = System.nanoTime() + 5_000_000_000L;
                    while (storedOf(g, "carol") != BIG && System.nanoTime() < deadline) {
                        Thread.sleep(20);
                    }
                    assertEquals(BIG, storedOf(g, "carol"));
                }
                assertFalse(dir.resolve("files/carol/race-" + i + "-" + (1 - winner) + ".bin").toFile().exists());
                assertEquals(204, delete(ports[winner], "carol", "/race-" + i + "-" + winner + ".bin"));
                assertEquals(0, single("SELECT SUM(bytes) FROM stored_totals WHERE user_name = 'carol'"));
            }
            // The room left after the races is exactly the quota.
            assertEquals(201, put(ports[0], "carol", "/full.bin", QUOTA, true));
            assertEquals(413, put(ports[1], "carol", "/one-more.bin", 1, true));
        }
    }

    private static FTPClient ftp(int port) throws IOException {
        FTPClient c = new FTPClient();
        c.connect("127.0.0.1", port);
        return c;
    }

    /**
     * The HTTP status of a GET on a connection of its own, with {@code user}'s credentials;
     * the connection closes after the answer (so its session ends with it).
     */
    private static int getStatus(int port, String user, String password) throws Exception {
        String auth = "Basic " + java.util.Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.getOutputStream().write(("GET /files/ HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            return Integer.parseInt(answer.substring(9, 12));
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void oneSessionPerUserHoldsAcrossTwoNodes() throws Exception {
        String limit = "limits: {max-connections-per-user: 1}";
        try (Gateway a = inJvm("gw-a", limit); Gateway b = inJvm("gw-b", limit)) {
            FTPClient onA = ftp(a.ftpAddress().getPort());
            assertTrue(onA.login("carol", "secret"), onA.getReplyString());
            assertEquals(1, single("SELECT COUNT(*) FROM user_sessions WHERE user_name = 'carol' AND node = 'gw-a'"));
            // The second session of carol, on the other node: FTP 421, HTTP 429.
            FTPClient onB = ftp(b.ftpAddress().getPort());
            FTPConnectionClosedException closed = assertThrows(FTPConnectionClosedException.class,
                    () -> onB.login("carol", "secret"));
            assertTrue(closed.getMessage().contains("421"), closed.getMessage());
            assertEquals(429, getStatus(b.httpAddress().getPort(), "carol", "secret"));
            // Another user is not limited by carol's session.
            assertEquals(200, getStatus(b.httpAddress().getPort(), "alice", "secret"));
            // A wrong password is still a wrong password, not a refused session.
            FTPClient wrong = ftp(b.ftpAddress().getPort());
            assertFalse(wrong.login("carol", "nope"));
            assertEquals(530, wrong.getReplyCode(), wrong.getReplyString());
            wrong.disconnect();
            onA.logout();
            onA.disconnect();
            await("carol's session on gw-a ended",
                    () -> rows("SELECT COUNT(*) FROM user_sessions WHERE user_name = 'carol'") == 0, 5_000);
            FTPClient again = ftp(b.ftpAddress().getPort());
            assertTrue(again.login("carol", "secret"), again.getReplyString());
            assertEquals(429, getStatus(a.httpAddress().getPort(), "carol", "secret"));
            again.logout();
            again.disconnect();
            await("carol's session on gw-b ended",
                    () -> rows("SELECT COUNT(*) FROM user_sessions WHERE user_name = 'carol'") == 0, 5_000);
            // An HTTP connection counts as one session for all its requests, until it closes.
            assertEquals(200, getStatus(a.httpAddress().getPort(), "carol", "secret"));
            await("the HTTP connection's session ended",
                    () -> rows("SELECT COUNT(*) FROM user_sessions WHERE user_name = 'carol'") == 0, 10_000);
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aBanMadeOnOneNodeRefusesOnTheOtherWithinASecond() throws Exception {
        String security = "security: {max-login-failures: 3, ban-duration: 60s, login-failure-delay: 0s}";
        try (Gateway a = inJvm("gw-a", security); Gateway b = inJvm("gw-b", security)) {
            int portA = a.httpAddress().getPort();
            int portB = b.httpAddress().getPort();
            assertEquals(200, getStatus(portB, "carol", "secret"));
            for (int i = 0; i < 3; i++) {
                assertEquals(401, getStatus(portA, "carol", "wrong"));
            }
            assertEquals(429, getStatus(portA, "carol", "secret"));
            long banned = System.nanoTime();
            await("gw-b refuses the banned address", () -> {
                try {
                    return getStatus(portB, "carol", "secret") == 429;
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, 5_000);
            long tookMillis = (System.nanoTime() - banned) / 1_000_000;
            assertTrue(tookMillis <= 1_500, "gw-b refused " + tookMillis + " ms after the ban");
            // FTP on gw-b turns the address away at connect, as its own ban would.
            FTPConnectionClosedException closed = assertThrows(FTPConnectionClosedException.class,
                    () -> ftp(b.ftpAddress().getPort()));
            assertTrue(closed.getMessage().contains("421"), closed.getMessage());
            assertEquals(1, single("SELECT COUNT(*) FROM login_failures WHERE banned_until_millis > 0"));
        }
    }

    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void aKilledNodesReservationAndSessionsAreFreedAfterTheLease() throws Exception {
        // Two: carol's held upload is one of her sessions, and alice holds two on gw-a.
        String limit = "limits: {max-connections-per-user: 2}";
        GatewayProcess a = GatewayProcess.start(GatewayProcess.writeConfig(dir,
                yaml("gw-a", "{port: 0, passive-ports: 54600-54620}", limit)));
        try (Gateway b = inJvm("gw-b", limit)) {
            int portB = b.httpAddress().getPort();
            for (int i = 0; i < 2; i++) {
                FTPClient session = ftp(a.ftpPort());
                assertTrue(session.login("alice", "secret"), session.getReplyString());
            }
            // An upload on gw-a that announced 800,000 bytes holds them while it runs.
            try (Socket s = new Socket("127.0.0.1", a.httpPort())) {
                OutputStream out = s.getOutputStream();
                out.write(("PUT /files/held.bin HTTP/1.1\r\nHost: x\r\nAuthorization: " + ClusterStatsTest.auth("carol")
                        + "\r\nContent-Length: 800000\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(new byte[1000]);
                out.flush();
                await("gw-a holds the upload's reservation",
                        () -> rows("SELECT COALESCE(SUM(bytes), 0) FROM quota_reservations WHERE node = 'gw-a'") == 800_000, 10_000);
                assertEquals(413, put(portB, "carol", "/b.bin", 300_000, true));
                assertEquals(429, getStatus(portB, "alice", "secret"));
                a.kill();
                long killed = System.nanoTime();
                await("gw-a's reservation dropped",
                        () -> rows("SELECT COUNT(*) FROM quota_reservations WHERE node = 'gw-a'") == 0, 20_000);
                long tookMillis = (System.nanoTime() - killed) / 1_000_000;
                assertTrue(tookMillis >= 2_000, "freed " + tookMillis + " ms after the kill, before the lease");
                drain(s.getInputStream());
            }
            assertEquals(0, single("SELECT COUNT(*) FROM user_sessions WHERE node = 'gw-a'"));
            assertEquals(201, put(portB, "carol", "/b.bin", 300_000, true));
            assertEquals(200, getStatus(portB, "alice", "secret"));
            assertEquals(300_000, single("SELECT SUM(bytes) FROM stored_totals WHERE user_name = 'carol'"));
        } finally {
            a.close();
        }
    }

    private static void drain(InputStream in) {
        try {
            in.readAllBytes();
        } catch (IOException e) {
            // the killed node's socket is gone
        }
    }
}
