package org.transfergateway.storage.meter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.LedgerConfig;

/**
 * Ledgers written by earlier releases keep working on SQLite, H2 and PostgreSQL. Those of
 * schema version 3 (no nodes, no recorded uploads): their totals are kept, the transfers a
 * crash left active are recovered, and new rows name their node. On a shared database
 * each node recovers its own transfers only. Those of version 4 (no placements) keep their
 * transfers, totals and recorded uploads, and record the copies of pools from then on.
 * Those of version 5 (no replication queue) keep their placements and queue the copies of
 * async pools from then on. Those of version 6 (no per-minute throughput) get the minutes
 * of the transfers already ended, then count each new one in the minute it ends. Those of
 * version 11 (no digests) keep their totals, know no digest of the objects stored before,
 * and record the SHA-256 of each object committed from then on. Those of version 12 (no
 * resumable uploads) keep their totals and record tus uploads from then on: created,
 * advanced only from the offset they are at, finished once, expired by node, removed.
 */
class JdbcLedgerMigrationTest {
    private static final String POSTGRES = System.getenv("GATEWAY_TEST_POSTGRES_URL");
    /** The schema version of this release. */
    private static final int LATEST = 14;

    @TempDir
    Path dir;

    /** The schema of version 3, as the previous release created it, with a crash's leftovers. */
    private static void writeVersion3(String url) throws Exception {
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement()) {
            for (String sql : List.of(
                    "CREATE TABLE schema_version (version INT NOT NULL)",
                    "INSERT INTO schema_version (version) VALUES (3)",
                    "CREATE TABLE ledger_info (name VARCHAR(64) PRIMARY KEY, val VARCHAR(256) NOT NULL)",
                    "INSERT INTO ledger_info (name, val) VALUES ('since', '2026-01-01T00:00:00Z')",
                    "CREATE TABLE transfers (id VARCHAR(64) PRIMARY KEY, user_name VARCHAR(128) NOT NULL,"
                            + " protocol VARCHAR(8) NOT NULL, direction VARCHAR(3) NOT NULL, path VARCHAR(4096) NOT NULL,"
                            + " backend VARCHAR(64) NOT NULL, bytes BIGINT NOT NULL, outcome VARCHAR(16) NOT NULL,"
                            + " started_at BIGINT NOT NULL, ended_at BIGINT)",
                    "CREATE INDEX transfers_started ON transfers (started_at)",
                    "CREATE TABLE stored_totals (backend VARCHAR(64) NOT NULL, user_name VARCHAR(128) NOT NULL,"
                            + " bytes BIGINT NOT NULL, objects BIGINT NOT NULL, PRIMARY KEY (backend, user_name))",
                    "CREATE TABLE adjustments (at_millis BIGINT NOT NULL, backend VARCHAR(64) NOT NULL,"
                            + " user_name VARCHAR(128) NOT NULL, bytes_delta BIGINT NOT NULL, objects_delta BIGINT NOT NULL,"
                            + " reason VARCHAR(256) NOT NULL)",
                    "INSERT INTO transfers VALUES ('t1', 'alice', 'FTP', 'IN', '/a.bin', 'local', 1000, 'completed', 1, 2)",
                    "INSERT INTO transfers VALUES ('t2', 'alice', 'HTTP', 'IN', '/b.bin', 'local', 77, 'active', 3, NULL)",
                    "INSERT INTO stored_totals VALUES ('local', 'alice', 1000, 1)")) {
                st.execute(sql);
            }
        }
    }

    private static void assertMigrated(String url) throws Exception {
        JdbcLedger ledger = JdbcLedger.open(url, Clock.systemUTC(), "gw-1");
        try {
            TransferMeter m = new TransferMeter(ledger);
            Statistics s = m.statistics(u -> true);
            assertEquals("2026-01-01T00:00:00Z", s.since().toString());
            assertEquals(new Counters(1077, 0, 1, 0, 1, 0), s.transferred(), "the crash's transfer is recovered as failed");
            assertEquals(new StoredTotals(1000, 1), s.stored());
            Transfer t = m.start("alice", Protocol.of("ftp"), Direction.IN, "/c.bin", "local");
            t.add(5);
            m.end(t, true, new StoredChange("local", "alice", 5, 1));
        } finally {
            ledger.close();
        }
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT version FROM schema_version")) {
                rs.next();
                assertEquals(LATEST, rs.getInt(1));
            }
            try (ResultSet rs = st.executeQuery("SELECT node, outcome FROM transfers ORDER BY started_at")) {
                StringBuilder rows = new StringBuilder();
                while (rs.next()) {
                    rows.append(rs.getString(1)).append(' ').append(rs.getString(2)).append(';');
                }
                assertEquals("null completed;null failed;gw-1 completed;", rows.toString());
            }
        }
    }

    /** The schema of version 4, as the previous release created it, with a crash's leftovers. */
    private static void writeVersion4(String url) throws Exception {
        writeVersion3(url);
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement()) {
            for (String sql : List.of(
                    "ALTER TABLE transfers ADD COLUMN node VARCHAR(128)",
                    "CREATE TABLE transfer_uploads (backend VARCHAR(64) NOT NULL, upload_id VARCHAR(1024) NOT NULL,"
                            + " transfer_id VARCHAR(64) NOT NULL, object_key VARCHAR(4096) NOT NULL,"
                            + " PRIMARY KEY (backend, upload_id))",
                    "UPDATE schema_version SET version = 4",
                    "UPDATE transfers SET node = 'gw-1' WHERE id = 't2'",
                    "INSERT INTO transfers VALUES ('t3', 'bob', 'HTTP', 'IN', '/p.bin', 'pool', 500, 'completed', 4, 5, 'gw-1')",
                    "INSERT INTO stored_totals VALUES ('pool', 'bob', 500, 1)",
                    "INSERT INTO adjustments VALUES (6, 'local', 'alice', 0, 0, 'reconcile')",
                    "INSERT INTO transfer_uploads VALUES ('s3', 'upload-1', 't2', 'gw/alice/b.bin')")) {
                st.execute(sql);
            }
        }
    }

    private static void assertMigratedFrom4(String url) throws Exception {
        Placement copy = new Placement("pool", "bob/q.bin", "m1", 20, Instant.ofEpochMilli(1_000));
        try (JdbcLedger ledger = JdbcLedger.open(url, Clock.systemUTC(), "gw-1")) {
            TransferMeter m = new TransferMeter(ledger);
            Statistics s = m.statistics(u -> true);
            assertEquals("2026-01-01T00:00:00Z", s.since().toString());
            assertEquals(new Counters(1577, 0, 2, 0, 1, 0), s.transferred(), "the crash's transfer is recovered as failed");
            assertEquals(new StoredTotals(1500, 2), s.stored());
            assertEquals(List.of(new BackendUpload("s3", "gw/alice/b.bin", "upload-1")), ledger.abandonedUploads());
            assertEquals(1, ledger.adjustments());
            assertEquals(Map.of(), ledger.load().copies());
            assertEquals(List.of(), ledger.under("pool", "", null, 10));
            Transfer t = m.start("bob", Protocol.of("ftp"), Direction.IN, "/q.bin", "pool");
            t.add(20);
            m.end(t, true, new StoredChange("pool", "bob", 20, 1, List.of(), List.of(copy)));
            assertEquals(List.of(copy), ledger.copies("pool", "bob/q.bin"));
            ledger.adopt("local", "alice", new StoredTotals(900, 1), "reconcile");
            assertEquals(2, ledger.adjustments());
        }
        try (JdbcLedger reopened = JdbcLedger.open(url, Clock.systemUTC(), "gw-1")) {
            Ledger.State state = reopened.load();
            assertEquals(Map.of("m1", Map.of("bob", new StoredTotals(20, 1))), state.copies());
            assertEquals(Map.of("local", Map.of("alice", new StoredTotals(900, 1)), "pool", Map.of("bob", new StoredTotals(520, 2))),
                    state.stored());
            assertEquals(List.of(copy), reopened.under("pool", "bob/", null, 10));
        }
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT version FROM schema_version")) {
                assertTrue(rs.next());
                assertEquals(LATEST, rs.getInt(1));
            }
            try (ResultSet rs = st.executeQuery("SELECT pool, object_key, backend, user_name, size, modified_millis FROM placements")) {
                assertTrue(rs.next());
                assertEquals("pool bob/q.bin m1 bob 20 1000", rs.getString(1) + " " + rs.getString(2) + " " + rs.getString(3)
                        + " " + rs.getString(4) + " " + rs.getLong(5) + " " + rs.getLong(6));
            }
        }
    }

    @Test
    void aVersion4SqliteLedgerIsMigrated() throws Exception {
        String url = new LedgerConfig(dir.toString()).jdbcUrl();
        writeVersion4(url.substring(0, url.indexOf('?'))); // without exclusive locking, so it can be reopened
        assertMigratedFrom4(url);
    }

    @Test
    void aVersion4H2LedgerIsMigrated() throws Exception {
        String url = "jdbc:h2:file:" + dir.resolve("ledger") + ";WRITE_DELAY=0";
        writeVersion4(url);
        assertMigratedFrom4(url);
    }

    @Test
    void aVersion4PostgresLedgerIsMigrated() throws Exception {
        inOwnPostgresSchema(url -> {
            writeVersion4(url);
            assertMigratedFrom4(url);
        });
    }

    /** The schema of version 5, as the previous release created it, with a copy of a pool's object. */
    private static void writeVersion5(String url, boolean postgres) throws Exception {
        writeVersion4(url);
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement()) {
            String binary = postgres ? " COLLATE \"C\"" : "";
            for (String sql : List.of(
                    "CREATE TABLE placements (pool VARCHAR(64) NOT NULL, object_key VARCHAR(1024)" + binary + " NOT NULL,"
                            + " backend VARCHAR(64)" + binary + " NOT NULL, user_name VARCHAR(128) NOT NULL,"
                            + " size BIGINT NOT NULL, modified_millis BIGINT NOT NULL, seq BIGINT DEFAULT 0 NOT NULL,"
                            + " PRIMARY KEY (pool, object_key, backend))",
                    "UPDATE schema_version SET version = 5",
                    "INSERT INTO placements VALUES ('pool', 'bob/p.bin', 'm1', 'bob', 500, 1000, 1)")) {
                st.execute(sql);
            }
        }
    }

    private static void assertMigratedFrom5(String url) throws Exception {
        Placement old = new Placement("pool", "bob/p.bin", "m1", 500, Instant.ofEpochMilli(1_000));
        Placement fresh = new Placement("pool", "bob/r.bin", "m1", 30, Instant.ofEpochMilli(2_000));
        try (JdbcLedger ledger = JdbcLedger.open(url, Clock.systemUTC(), "gw-1")) {
            TransferMeter m = new TransferMeter(ledger);
            assertEquals(new StoredTotals(500, 1), m.storedOf("m1"));
            assertEquals(List.of(old), ledger.copies("pool", "bob/p.bin"));
            assertEquals(Map.of(), ledger.pendingTotals());
            m.changed(new StoredChange("pool", "bob", 30, 1, List.of(), List.of(fresh),
                    List.of(new PendingCopy(fresh, "m2"))));
        }
        try (JdbcLedger reopened = JdbcLedger.open(url, Clock.systemUTC(), "gw-1")) {
            List<CopyTask> pending = reopened.pendingCopies("pool", "bob/r.bin");
            assertEquals(1, pending.size());
            assertEquals(fresh, pending.get(0).source());
            assertEquals("m2", pending.get(0).target());
            assertEquals("bob", pending.get(0).user());
            assertEquals(List.of(old), reopened.copies("pool", "bob/p.bin"));
        }
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT version FROM schema_version")) {
            assertTrue(rs.next());
            assertEquals(LATEST, rs.getInt(1));
        }
    }

    @Test
    void aVersion5SqliteLedgerIsMigrated() throws Exception {
        String url = new LedgerConfig(dir.toString()).jdbcUrl();
        writeVersion5(url.substring(0, url.indexOf('?')), false);
        assertMigratedFrom5(url);
    }

    @Test
    void aVersion5H2LedgerIsMigrated() throws Exception {
        String url = "jdbc:h2:file:" + dir.resolve("ledger") + ";WRITE_DELAY=0";
        writeVersion5(url, false);
        assertMigratedFrom5(url);
    }

    @Test
    void aVersion5PostgresLedgerIsMigrated() throws Exception {
        inOwnPostgresSchema(url -> {
            writeVersion5(url, true);
            assertMigratedFrom5(url);
        });
    }

    @Test
    void aVersion3SqliteLedgerIsMigrated() throws Exception {
        String url = new LedgerConfig(dir.toString()).jdbcUrl();
        writeVersion3(url.substring(0, url.indexOf('?'))); // without exclusive locking, so it can be reopened
        assertMigrated(url);
    }

    @Test
    void aVersion3H2LedgerIsMigrated() throws Exception {
        String url = "jdbc:h2:file:" + dir.resolve("ledger") + ";WRITE_DELAY=0";
        writeVersion3(url);
        assertMigrated(url);
    }

    @Test
    void aVersion3PostgresLedgerIsMigratedAndEachNodeRecoversItsOwn() throws Exception {
        inOwnPostgresSchema(url -> {
            writeVersion3(url);
            assertMigrated(url);

            // Node gw-2 runs a transfer with a multipart upload; gw-1 starts again meanwhile.
            JdbcLedger second = JdbcLedger.open(url, Clock.systemUTC(), "gw-2");
            TransferMeter onSecond = new TransferMeter(second);
            Transfer running = onSecond.start("bob", Protocol.of("http"), Direction.IN, "/d.bin", "s3");
            onSecond.uploadOpened(running, new BackendUpload("s3", "gw/bob/d.bin", "upload-2"));
            JdbcLedger first = JdbcLedger.open(url, Clock.systemUTC(), "gw-1");
            TransferMeter onFirst = new TransferMeter(first);
            assertEquals(List.of(), first.abandonedUploads(), "gw-2's upload is not gw-1's to abort");
            running.add(300);
            onSecond.end(running, true, new StoredChange("s3", "bob", 300, 1));
            assertEquals(List.of(), onFirst.active());
            first.close();

            // gw-2 crashes with the upload open; its next start finds it.
            Transfer cut = onSecond.start("bob", Protocol.of("ftp"), Direction.IN, "/e.bin", "s3");
            onSecond.uploadOpened(cut, new BackendUpload("s3", "gw/bob/e.bin", "upload-3"));
            cut.add(40);
            onSecond.flushProgress();
            second.close();
            JdbcLedger again = JdbcLedger.open(url, Clock.systemUTC(), "gw-2");
            TransferMeter restarted = new TransferMeter(again);
            // d.bin's record was never forgotten (as when a crash follows the completion at
            // once): it is named too, and aborting it finds it gone.
            List<BackendUpload> left = List.of(new BackendUpload("s3", "gw/bob/d.bin", "upload-2"),
                    new BackendUpload("s3", "gw/bob/e.bin", "upload-3"));
            assertEquals(left, again.abandonedUploads());
            assertEquals(new Counters(340, 0, 1, 0, 1, 0), restarted.statistics(u -> u.equals("bob")).transferred(),
                    "d.bin completed once, e.bin failed with its bytes");
            left.forEach(again::uploadClosed);
            again.close();
            JdbcLedger last = JdbcLedger.open(url, Clock.systemUTC(), "gw-2");
            assertEquals(List.of(), last.abandonedUploads());
            last.close();
        });
    }

    /** The schema of version 6, as the previous release created it, with a queued copy. */
    private static void writeVersion6(String url, boolean postgres) throws Exception {
        writeVersion5(url, postgres);
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement()) {
            String binary = postgres ? " COLLATE \"C\"" : "";
            for (String sql : List.of(
                    "CREATE TABLE replication_queue (id VARCHAR(36) PRIMARY KEY, pool VARCHAR(64) NOT NULL,"
                            + " object_key VARCHAR(1024)" + binary + " NOT NULL, target VARCHAR(64) NOT NULL,"
                            + " source VARCHAR(64) NOT NULL, user_name VARCHAR(128) NOT NULL, size BIGINT NOT NULL,"
                            + " modified_millis BIGINT NOT NULL, enqueued_millis BIGINT NOT NULL,"
                            + " attempts INT DEFAULT 0 NOT NULL, next_attempt_millis BIGINT NOT NULL,"
                            + " claimed_by VARCHAR(128), claimed_until_millis BIGINT)",
                    "CREATE INDEX replication_queue_key ON replication_queue (pool, object_key)",
                    "CREATE INDEX replication_queue_due ON replication_queue (next_attempt_millis)",
                    "UPDATE schema_version SET version = 6",
                    // one more ended transfer, in the next minute of the epoch
                    "INSERT INTO transfers VALUES ('t4', 'bob', 'FTP', 'OUT', '/p.bin', 'pool', 500, 'failed', 60000, 60001, 'gw-1')")) {
                st.execute(sql);
            }
        }
    }

    /**
     * The transfers already ended fill their minutes (t1 and t3 in the epoch's first, t4 in
     * the next); the crash's transfer counts as failed in the minute of its recovery, and a
     * new one in the minute it ends.
     */
    private static void assertMigratedFrom6(String url) throws Exception {
        SettableClock clock = new SettableClock(Instant.ofEpochSecond(150)); // 00:02:30, days before any deletion
        Protocol ftp = Protocol.of("ftp");
        Protocol http = Protocol.of("http");
        List<ThroughputMinute> minutes = List.of(
                new ThroughputMinute(Instant.EPOCH, ftp, Direction.IN, "alice", 1000, 1, 0),
                new ThroughputMinute(Instant.EPOCH, http, Direction.IN, "bob", 500, 1, 0),
                new ThroughputMinute(Instant.ofEpochSecond(60), ftp, Direction.OUT, "bob", 500, 0, 1),
                new ThroughputMinute(Instant.ofEpochSecond(120), ftp, Direction.IN, "carol", 9, 1, 0),
                new ThroughputMinute(Instant.ofEpochSecond(120), http, Direction.IN, "alice", 77, 0, 1));
        try (JdbcLedger ledger = JdbcLedger.open(url, clock, "gw-1")) {
            TransferMeter m = new TransferMeter(ledger, clock);
            assertEquals(new Counters(1577, 500, 2, 0, 1, 1), m.statistics(u -> true).transferred());
            Transfer t = m.start("carol", ftp, Direction.IN, "/c.bin", "local");
            t.add(9);
            m.end(t, true, null);
            assertEquals(minutes, ledger.throughput(null, null));
        }
        try (JdbcLedger reopened = JdbcLedger.open(url, clock, "gw-1")) {
            assertEquals(minutes, reopened.throughput(Instant.EPOCH, Instant.ofEpochSecond(180)));
            assertEquals(1, reopened.pendingCopies("pool", "bob/p.bin").size() + reopened.copies("pool", "bob/p.bin").size());
        }
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT version FROM schema_version")) {
            assertTrue(rs.next());
            assertEquals(LATEST, rs.getInt(1));
        }
    }

    @Test
    void aVersion6SqliteLedgerIsMigrated() throws Exception {
        String url = new LedgerConfig(dir.toString()).jdbcUrl();
        writeVersion6(url.substring(0, url.indexOf('?')), false);
        assertMigratedFrom6(url);
    }

    @Test
    void aVersion6H2LedgerIsMigrated() throws Exception {
        String url = "jdbc:h2:file:" + dir.resolve("ledger") + ";WRITE_DELAY=0";
        writeVersion6(url, false);
        assertMigratedFrom6(url);
    }

    @Test
    void aVersion6PostgresLedgerIsMigrated() throws Exception {
        inOwnPostgresSchema(url -> {
            writeVersion6(url, true);
            assertMigratedFrom6(url);
        });
    }

    /** The schema of version 7, as the previous release created it: version 6 with the per-minute throughput. */
    private static void writeVersion7(String url, boolean postgres) throws Exception {
        writeVersion6(url, postgres);
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement()) {
            for (String sql : List.of(
                    "CREATE TABLE throughput_minutes (minute_millis BIGINT NOT NULL, protocol VARCHAR(32) NOT NULL,"
                            + " direction VARCHAR(3) NOT NULL, user_name VARCHAR(128) NOT NULL, bytes BIGINT NOT NULL,"
                            + " files BIGINT NOT NULL, failed BIGINT NOT NULL,"
                            + " PRIMARY KEY (minute_millis, protocol, direction, user_name))",
                    "UPDATE schema_version SET version = 7")) {
                st.execute(sql);
            }
        }
    }

    /** A ledger of version 7 gains the node registry: a node registers, beats and lists itself. */
    private static void assertMigratedFrom7(String url) throws Exception {
        SettableClock clock = new SettableClock(Instant.ofEpochSecond(150));
        try (JdbcLedger ledger = JdbcLedger.open(url, clock, "gw-1")) {
            new TransferMeter(ledger, clock);
            ledger.register("http 127.0.0.1:8080", "test", java.time.Duration.ofSeconds(10));
            clock.set(Instant.ofEpochSecond(151));
            ledger.heartbeat();
            List<NodeRecord> nodes = ledger.nodes();
            assertEquals(List.of(new NodeRecord("gw-1", Instant.ofEpochSecond(150), Instant.ofEpochSecond(151), 1,
                    java.time.Duration.ofSeconds(10), "http 127.0.0.1:8080", "test", null)), nodes);
        }
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT version FROM schema_version")) {
            assertTrue(rs.next());
            assertEquals(LATEST, rs.getInt(1));
        }
    }

    @Test
    void aVersion7SqliteLedgerIsMigrated() throws Exception {
        String url = new LedgerConfig(dir.toString()).jdbcUrl();
        writeVersion7(url.substring(0, url.indexOf('?')), false);
        assertMigratedFrom7(url);
    }

    @Test
    void aVersion7H2LedgerIsMigrated() throws Exception {
        String url = "jdbc:h2:file:" + dir.resolve("ledger") + ";WRITE_DELAY=0";
        writeVersion7(url, false);
        assertMigratedFrom7(url);
    }

    @Test
    void aVersion7PostgresLedgerIsMigrated() throws Exception {
        inOwnPostgresSchema(url -> {
            writeVersion7(url, true);
            assertMigratedFrom7(url);
        });
    }

    /**
     * A ledger of an earlier version: one upload of this release's, then its newer tables
     * dropped and the version taken back (the versions differ only by those tables).
     */
    private static void writeTakenBack(String url, int version, String... newerTables) throws Exception {
        try (JdbcLedger ledger = JdbcLedger.open(url, Clock.systemUTC())) {
            TransferMeter m = new TransferMeter(ledger);
            Transfer up = m.start("alice", Protocol.of("ftp"), Direction.IN, "/old.bin", "local");
            up.add(100);
            m.end(up, true, new StoredChange("local", "alice", 100, 1));
        }
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement()) {
            for (String table : newerTables) {
                st.execute("DROP TABLE " + table);
            }
            st.execute("UPDATE schema_version SET version = " + version);
        }
    }

    /** Version 11: without the digests and the resumable uploads. */
    private static void writeVersion11(String url) throws Exception {
        writeTakenBack(url, 11, "resumable_uploads", "object_digests");
    }

    private static void assertMigratedFrom11(String url) throws Exception {
        try (JdbcLedger ledger = JdbcLedger.open(url, Clock.systemUTC())) {
            TransferMeter m = new TransferMeter(ledger);
            assertEquals(new StoredTotals(100, 1), m.statistics(u -> true).stored());
            assertEquals(null, ledger.digest("local", "alice/old.bin"), "stored before: no digest known");
            Transfer up = m.start("alice", Protocol.of("ftp"), Direction.IN, "/new.bin", "local");
            up.add(5);
            m.end(up, true, new StoredChange("local", "alice", 5, 1)
                    .with(new DigestChange.Stored("alice/new.bin", 5, "ab".repeat(32))));
            assertEquals("ab".repeat(32), ledger.digest("local", "alice/new.bin").sha256());
        }
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT version FROM schema_version")) {
            assertTrue(rs.next());
            assertEquals(LATEST, rs.getInt(1));
        }
    }

    @Test
    void aVersion11SqliteLedgerIsMigrated() throws Exception {
        String url = new LedgerConfig(dir.toString()).jdbcUrl();
        writeVersion11(url);
        assertMigratedFrom11(url);
    }

    @Test
    void aVersion11H2LedgerIsMigrated() throws Exception {
        String url = "jdbc:h2:file:" + dir.resolve("ledger") + ";WRITE_DELAY=0";
        writeVersion11(url);
        assertMigratedFrom11(url);
    }

    @Test
    void aVersion11PostgresLedgerIsMigrated() throws Exception {
        inOwnPostgresSchema(url -> {
            writeVersion11(url);
            assertMigratedFrom11(url);
        });
    }

    /** Version 12: without the resumable uploads. */
    private static void writeVersion12(String url) throws Exception {
        writeTakenBack(url, 12, "resumable_uploads");
    }

    private static void assertMigratedFrom12(String url) throws Exception {
        Instant created = Instant.ofEpochMilli(1_000_000);
        ResumableUpload a = new ResumableUpload("u1", "gw-1", "alice", "/in/a.bin", 100, 0, "filename YS5iaW4=",
                created, created.plusSeconds(60), null);
        ResumableUpload b = new ResumableUpload("u2", "gw-2", "alice", "/in/b.bin", 7, 0, "", created,
                created.plusSeconds(10), null);
        try (JdbcLedger ledger = JdbcLedger.open(url, Clock.systemUTC(), "gw-1")) {
            TransferMeter m = new TransferMeter(ledger);
            assertEquals(new StoredTotals(100, 1), m.statistics(u -> true).stored());
            assertEquals(null, ledger.upload("u1"));
            ledger.createUpload(a);
            ledger.createUpload(b);
            assertTrue(ledger.advanceUpload("u1", 0, 40));
            assertEquals(false, ledger.advanceUpload("u1", 0, 80), "moves only from the offset it is at");
            assertEquals(false, ledger.advanceUpload("nope", 0, 1));
        }
        try (JdbcLedger reopened = JdbcLedger.open(url, Clock.systemUTC(), "gw-1")) {
            assertEquals(a.at(40), reopened.upload("u1"));
            assertEquals(List.of(), reopened.expiredUploads("gw-1", created.plusSeconds(60), 10));
            assertEquals(List.of(a.at(40)), reopened.expiredUploads("gw-1", created.plusSeconds(61), 10));
            assertEquals(List.of(b), reopened.expiredUploads("gw-2", created.plusSeconds(61), 10));
            assertTrue(reopened.advanceUpload("u2", 0, 7));
            assertTrue(reopened.finishUpload("u2", created.plusSeconds(5)));
            assertEquals(false, reopened.finishUpload("u2", created.plusSeconds(6)), "finished once");
            assertEquals(false, reopened.advanceUpload("u2", 7, 7), "a finished upload no longer moves");
            assertEquals(b.at(7).finishedAt(created.plusSeconds(5)), reopened.upload("u2"));
            assertTrue(reopened.removeUpload("u1"));
            assertEquals(false, reopened.removeUpload("u1"));
            assertEquals(null, reopened.upload("u1"));
            // Version 14: a staged upload keeps the backend's state and the running digest with its offset.
            ResumableUpload c = new ResumableUpload("u3", "gw-2", "alice", "/in/c.bin", 9, 0, "", created,
                    created.plusSeconds(10), null, "s3 state 0", null);
            reopened.createUpload(c);
            assertTrue(reopened.advanceUpload("u3", 0, 4, "s3 state 4", "digest 4"));
            assertEquals(false, reopened.advanceUpload("u3", 0, 5, "s3 state 5", "digest 5"), "moves only from its offset");
            assertTrue(reopened.advanceUpload("u3", 4, 4, "s3 state 4'", "digest 4"), "the state alone");
            assertEquals(c.at(4, "s3 state 4'", "digest 4"), reopened.upload("u3"));
            assertEquals(List.of(c.at(4, "s3 state 4'", "digest 4")), reopened.expiredUploads("gw-1", created.plusSeconds(11), 10),
                    "a staged upload expires on any node");
        }
        try (Connection c = DriverManager.getConnection(url); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT version FROM schema_version")) {
            assertTrue(rs.next());
            assertEquals(LATEST, rs.getInt(1));
        }
    }

    @Test
    void aVersion12SqliteLedgerIsMigrated() throws Exception {
        String url = new LedgerConfig(dir.toString()).jdbcUrl();
        writeVersion12(url);
        assertMigratedFrom12(url);
    }

    @Test
    void aVersion12H2LedgerIsMigrated() throws Exception {
        String url = "jdbc:h2:file:" + dir.resolve("ledger") + ";WRITE_DELAY=0";
        writeVersion12(url);
        assertMigratedFrom12(url);
    }

    @Test
    void aVersion12PostgresLedgerIsMigrated() throws Exception {
        inOwnPostgresSchema(url -> {
            writeVersion12(url);
            assertMigratedFrom12(url);
        });
    }

    /** What a test does with the URL of a ledger. */
    private interface LedgerCheck {
        void run(String url) throws Exception;
    }

    /** Runs {@code check} on a PostgreSQL schema of its own, dropped afterwards; skipped without PostgreSQL. */
    private static void inOwnPostgresSchema(LedgerCheck check) throws Exception {
        Assumptions.assumeTrue(POSTGRES != null, "GATEWAY_TEST_POSTGRES_URL is not set");
        String schema = "ledger_migration_" + System.nanoTime();
        try (Connection c = DriverManager.getConnection(POSTGRES); Statement st = c.createStatement()) {
            st.execute("CREATE SCHEMA " + schema);
        }
        try {
            check.run(POSTGRES + (POSTGRES.contains("?") ? "&" : "?") + "currentSchema=" + schema);
        } finally {
            try (Connection c = DriverManager.getConnection(POSTGRES); Statement st = c.createStatement()) {
                st.execute("DROP SCHEMA " + schema + " CASCADE");
            }
        }
    }
}
