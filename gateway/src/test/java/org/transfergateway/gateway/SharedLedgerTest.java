package org.transfergateway.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two gateway processes (nodes gw-a and gw-b) on one PostgreSQL ledger: neither a second
 * gateway starting nor a {@code reconcile} touches the transfers another gateway is
 * running, which end as completed exactly once; a gateway killed and started again
 * fails its own unfinished transfers only. Runs where GATEWAY_TEST_POSTGRES_URL names a
 * database; each run keeps to a schema of its own.
 */
class SharedLedgerTest {
    private static final String URL = System.getenv("GATEWAY_TEST_POSTGRES_URL");
    private static final int SIZE = 3_000_000;
    private static final int FIRST = 1_000_000;

    @TempDir
    Path dir;
    String schema;
    String ledgerUrl;

    @BeforeEach
    void ownSchema() throws Exception {
        Assumptions.assumeTrue(URL != null, "GATEWAY_TEST_POSTGRES_URL is not set");
        schema = "shared_ledger_" + System.nanoTime();
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

    /** Each node on a disk of its own (a local backend clears its own temporary files at start), one ledger. */
    private Path config(String node, String passivePorts) throws IOException {
        return GatewayProcess.writeConfig(dir, """
                cluster: {node-id: %s}
                ftp: {port: 0, passive-ports: %s}
                http: {port: 0}
                storage: {backends: [{name: local, type: local, root: %s}]}
                users:
                  - {name: alice, password: secret, admin: true}
                ledger: {url: "%s"}
                """.formatted(node, passivePorts, dir.resolve("files-" + node), ledgerUrl));
    }

    /** An HTTP PUT whose body is sent in two goes, so that it runs while the test acts. */
    private static final class SlowPut implements AutoCloseable {
        private final Socket socket;
        private final byte[] body;

        SlowPut(GatewayProcess g, String path, byte[] body) throws IOException {
            this.body = body;
            socket = new Socket("127.0.0.1", g.httpPort());
            OutputStream out = socket.getOutputStream();
            String auth = Base64.getEncoder().encodeToString("alice:secret".getBytes(StandardCharsets.UTF_8));
            out.write(("PUT /files" + path + " HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " + auth
                    + "\r\nContent-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body, 0, FIRST);
            out.flush();
        }

        /** Sends the rest; the status of the answer. */
        int finish() throws IOException {
            socket.getOutputStream().write(body, FIRST, body.length - FIRST);
            socket.getOutputStream().flush();
            String status = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)).readLine();
            return Integer.parseInt(status.split(" ")[1]);
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    /** The ledger's rows of {@code path}: "node outcome bytes". */
    private List<String> rows(String path) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(ledgerUrl);
             PreparedStatement ps = c.prepareStatement("SELECT node, outcome, bytes FROM transfers WHERE path = ? ORDER BY id")) {
            ps.setString(1, path);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1) + " " + rs.getString(2) + " " + rs.getLong(3));
                }
            }
        }
        return out;
    }

    /** Waits until the ledger holds {@code expected} for {@code path} (a start is committed a moment after it happens). */
    private void awaitRows(String path, List<String> expected) throws Exception {
        long deadline = System.currentTimeMillis() + 20_000;
        while (!rows(path).equals(expected) && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(expected, rows(path), path);
    }

    /** The rows of {@code path} without their byte counts, which progress updates move. */
    private List<String> owners(String path) throws Exception {
        return rows(path).stream().map(r -> r.substring(0, r.lastIndexOf(' '))).toList();
    }

    private void awaitOwners(String path, List<String> expected) throws Exception {
        long deadline = System.currentTimeMillis() + 20_000;
        while (!owners(path).equals(expected) && System.currentTimeMillis() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(expected, owners(path), path);
    }

    private static byte[] random(long seed) {
        byte[] b = new byte[SIZE];
        new Random(seed).nextBytes(b);
        return b;
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void gatewaysOnOneLedgerRecoverOnlyTheirOwnTransfers() throws Exception {
        Path configA = config("gw-a", "54200-54220");
        Path configB = config("gw-b", "54221-54240");
        GatewayProcess a = GatewayProcess.start(configA);
        GatewayProcess b = null;
        try {
            // A reconcile while gateway A runs an upload.
            try (SlowPut put = new SlowPut(a, "/during-reconcile.bin", random(1))) {
                awaitOwners("/during-reconcile.bin", List.of("gw-a active"));
                CommandLineTest.Result r = CommandLineTest.run("", "reconcile", "--config", configA.toString());
                assertEquals(0, r.status(), r.out() + r.err());
                assertEquals(List.of("gw-a active"), owners("/during-reconcile.bin"), "reconcile recovers nothing");
                assertEquals(201, put.finish());
            }
            awaitRows("/during-reconcile.bin", List.of("gw-a completed " + SIZE));

            // A second gateway starting while A runs an upload.
            try (SlowPut put = new SlowPut(a, "/during-start.bin", random(2))) {
                awaitOwners("/during-start.bin", List.of("gw-a active"));
                b = GatewayProcess.start(configB);
                assertEquals(List.of("gw-a active"), owners("/during-start.bin"), "gateway B recovers nothing of A's");
                assertEquals(201, put.finish());
            }
            awaitRows("/during-start.bin", List.of("gw-a completed " + SIZE));

            // A killed with an upload of its own and one of B's running; A starts again.
            try (SlowPut cut = new SlowPut(a, "/cut-on-a.bin", random(3)); SlowPut onB = new SlowPut(b, "/running-on-b.bin", random(4))) {
                // Progress is recorded every second: wait until both rows hold their bytes.
                awaitRows("/cut-on-a.bin", List.of("gw-a active " + FIRST));
                awaitRows("/running-on-b.bin", List.of("gw-b active " + FIRST));
                a.kill();
                a = GatewayProcess.start(configA);
                assertEquals(List.of("gw-a failed " + FIRST), rows("/cut-on-a.bin"), "A's own interrupted upload is failed");
                assertEquals(List.of("gw-b active " + FIRST), rows("/running-on-b.bin"), "B's upload runs on");
                assertEquals(201, onB.finish());
            }
            awaitRows("/running-on-b.bin", List.of("gw-b completed " + SIZE));
            try (Connection c = DriverManager.getConnection(ledgerUrl); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT outcome, COUNT(*), SUM(bytes) FROM transfers GROUP BY outcome ORDER BY outcome")) {
                List<String> totals = new ArrayList<>();
                while (rs.next()) {
                    totals.add(rs.getString(1) + " " + rs.getLong(2) + " " + rs.getLong(3));
                }
                assertEquals(List.of("completed 3 " + 3L * SIZE, "failed 1 " + FIRST), totals);
            }
            assertEquals(0, a.terminate());
            assertEquals(0, b.terminate());
        } finally {
            a.close();
            if (b != null) {
                b.close();
            }
        }
    }
}
