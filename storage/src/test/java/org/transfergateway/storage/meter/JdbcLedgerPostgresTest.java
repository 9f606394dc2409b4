package org.transfergateway.storage.meter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The same ledger code on PostgreSQL, the shared database a JDBC URL selects. Runs where
 * GATEWAY_TEST_POSTGRES_URL names a database (CI starts one); skipped elsewhere.
 */
class JdbcLedgerPostgresTest {
    private static final String URL = System.getenv("GATEWAY_TEST_POSTGRES_URL");

    @BeforeEach
    void emptyDatabase() throws Exception {
        Assumptions.assumeTrue(URL != null, "GATEWAY_TEST_POSTGRES_URL is not set");
        try (Connection c = DriverManager.getConnection(URL); Statement st = c.createStatement()) {
            // Every table of the schema, whatever version made it: a table left behind would
            // make the next migration fail ("already exists").
            List<String> tables = new java.util.ArrayList<>();
            try (ResultSet rs = st.executeQuery("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")) {
                while (rs.next()) {
                    tables.add(rs.getString(1));
                }
            }
            for (String table : tables) {
                st.execute("DROP TABLE IF EXISTS \"" + table + "\" CASCADE");
            }
        }
    }

    @Test
    void transfersAndTotalsSurviveAReopenAndACrashOnPostgres() throws Exception {
        JdbcLedger ledger = JdbcLedger.open(URL, Clock.systemUTC());
        TransferMeter m = new TransferMeter(ledger);
        Instant start = Instant.now();
        Transfer up = m.start("alice", Protocol.of("ftp"), Direction.IN, "/a.bin", "s3");
        up.add(1000);
        m.end(up, true, new StoredChange("s3", "alice", 1000, 1));
        Transfer down = m.start("alice", Protocol.of("http"), Direction.OUT, "/a.bin", "s3");
        down.add(400);
        m.end(down, false, null);
        Transfer cut = m.start("bob", Protocol.of("http"), Direction.IN, "/b.bin", "s3");
        cut.add(77);
        m.flushProgress();
        ledger.close(); // bob's upload is in flight: as after kill -9

        JdbcLedger reopened = JdbcLedger.open(URL, Clock.systemUTC());
        TransferMeter after = new TransferMeter(reopened);
        Statistics s = after.statistics(u -> true);
        assertEquals(new Counters(1077, 400, 1, 0, 1, 1), s.transferred());
        assertEquals(new StoredTotals(1000, 1), s.stored());
        assertEquals(new Counters(1000, 0, 1, 0, 0, 0), after.statistics(u -> true, start, null).byProtocol().get("ftp"));
        List<TransferRecord> recent = after.recent(10, "alice", null);
        assertEquals(List.of("/a.bin", "/a.bin"), recent.stream().map(TransferRecord::path).toList());
        reopened.adopt("s3", "alice", new StoredTotals(1500, 2), "test");
        assertEquals(1, reopened.adjustments());
        assertEquals(new StoredTotals(1500, 2), reopened.storedTotals().get("s3").get("alice"));
        assertTrue(after.active().isEmpty());
        reopened.close();
    }

    @Test
    void digestsFollowTheirObjectsAndSurviveAReopenOnPostgres() throws Exception {
        JdbcLedgerTest.checkDigestsFollowTheirObjects(JdbcLedger.open(URL, Clock.systemUTC()),
                () -> JdbcLedger.open(URL, Clock.systemUTC()));
    }

    @Test
    void placementsMoveWithTheirStoredChangeAndSurviveAReopenOnPostgres() throws Exception {
        JdbcLedgerTest.checkPlacementsMoveWithTheStoredTotals(JdbcLedger.open(URL, Clock.systemUTC()),
                () -> JdbcLedger.open(URL, Clock.systemUTC()));
    }

    @Test
    void copiesToMakeAreQueuedClaimedAndDroppedWithTheirObjectAndSurviveAReopenOnPostgres() throws Exception {
        JdbcLedgerTest.checkCopyQueue(JdbcLedger.open(URL, Clock.systemUTC()), () -> JdbcLedger.open(URL, Clock.systemUTC()));
    }

    /**
     * Two gateways on one database claim the same queue at once, in small batches: every
     * task is claimed, by one of them only. Repeated, as claims race differently each time.
     */
    @Test
    void twoGatewaysClaimEachCopyOnce() throws Exception {
        try (JdbcLedger one = JdbcLedger.open(URL, Clock.systemUTC(), "gw-1");
             JdbcLedger two = JdbcLedger.open(URL, Clock.systemUTC(), "gw-2")) {
            TransferMeter m = new TransferMeter(one);
            for (int round = 0; round < 5; round++) {
                int objects = 100;
                for (int i = 0; i < objects; i++) {
                    Placement p = JdbcLedgerTest.copy("pool", "r" + round + "/k" + i, "m1", i + 1);
                    m.changed(new StoredChange("pool", "alice", i + 1, 1, List.of(), List.of(p),
                            List.of(new PendingCopy(p, "m2"), new PendingCopy(p, "m3"))));
                }
                java.util.Set<String> all = java.util.concurrent.ConcurrentHashMap.newKeySet();
                java.util.concurrent.atomic.AtomicInteger claims = new java.util.concurrent.atomic.AtomicInteger();
                java.util.concurrent.atomic.AtomicInteger twice = new java.util.concurrent.atomic.AtomicInteger();
                java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
                // A claim that fails (a deadlock between the two gateways' transactions) fails the test.
                java.util.concurrent.atomic.AtomicReference<Throwable> failed = new java.util.concurrent.atomic.AtomicReference<>();
                java.util.List<Thread> threads = new java.util.ArrayList<>();
                for (JdbcLedger node : List.of(one, two, one, two)) {
                    Thread t = new Thread(() -> {
                        try {
                            go.await();
                            long deadline = System.currentTimeMillis() + 20_000;
                            while (claims.get() < 2 * objects && System.currentTimeMillis() < deadline) {
                                for (CopyTask c : node.claimCopies(Instant.now(), java.time.Duration.ofMinutes(5), 7)) {
                                    claims.incrementAndGet();
                                    if (!all.add(c.key() + " " + c.target())) {
                                        twice.incrementAndGet();
                                    }
                                }
                            }
                        } catch (Exception e) {
                            failed.compareAndSet(null, e);
                        }
                    });
                    threads.add(t);
                    t.start();
                }
                go.countDown();
                for (Thread t : threads) {
                    t.join();
                }
                if (failed.get() != null) {
                    throw new AssertionError("a claim failed", failed.get());
                }
                assertEquals(0, twice.get(), "claimed twice");
                assertEquals(2 * objects, all.size());
                assertEquals(2 * objects, claims.get());
                assertEquals(List.of(), one.claimCopies(Instant.now(), java.time.Duration.ofMinutes(5), 10));
                // Each node releases only its own claims.
                int released = one.releaseCopies();
                assertTrue(released <= 2 * objects, "gw-1 released " + released);
                assertEquals(released, one.claimCopies(Instant.now(), java.time.Duration.ofMinutes(5), 1_000).size());
                two.releaseCopies();
                assertEquals(2 * objects - released, two.claimCopies(Instant.now(), java.time.Duration.ofMinutes(5), 1_000).size());
                for (int i = 0; i < objects; i++) {
                    Placement p = JdbcLedgerTest.copy("pool", "r" + round + "/k" + i, "m1", i + 1);
                    m.changed(new StoredChange("pool", "alice", -(i + 1), -1, List.of(p), List.of()));
                }
                assertEquals(java.util.Map.of(), one.pendingTotals());
            }
        }
    }

    @Test
    void aLargeFolderIsListedInPagesEachKeyOnceInOrderOnPostgres() throws Exception {
        try (JdbcLedger ledger = JdbcLedger.open(URL, Clock.systemUTC())) {
            JdbcLedgerTest.checkPaging(ledger);
        }
    }

    /** Keys compare by code points whatever the database's locale: the column's collation is "C". */
    @Test
    void aPrefixListsOnlyTheKeysThatStartWithItOnPostgres() throws Exception {
        try (JdbcLedger ledger = JdbcLedger.open(URL, Clock.systemUTC())) {
            JdbcLedgerTest.checkPrefixes(ledger, JdbcLedgerTest.CODE_POINTS);
        }
        try (Connection c = DriverManager.getConnection(URL); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT column_name, collation_name FROM information_schema.columns"
                     + " WHERE table_schema = current_schema() AND table_name = 'placements'"
                     + " AND column_name IN ('object_key', 'backend') ORDER BY column_name")) {
            StringBuilder collations = new StringBuilder();
            while (rs.next()) {
                collations.append(rs.getString(1)).append(' ').append(rs.getString(2)).append(';');
            }
            assertEquals("backend C;object_key C;", collations.toString());
        }
    }

    @Test
    void throughputIsExactPerMinuteAcrossAMinuteBoundaryOnPostgres() throws Exception {
        LedgerReadChecks.throughputIsExactPerMinuteAcrossABoundary(clock -> JdbcLedger.open(URL, clock), true);
    }

    @Test
    void minutesOlderThanSevenDaysAreDeletedOnPostgres() throws Exception {
        LedgerReadChecks.minutesOlderThanSevenDaysAreDeleted(clock -> JdbcLedger.open(URL, clock));
    }

    @Test
    void finishedTransfersAreFilteredAndPagedOnPostgres() throws Exception {
        LedgerReadChecks.transfersAreFilteredAndPaged(clock -> JdbcLedger.open(URL, clock));
    }

    @Test
    void queriesDoNotWaitForTheWriterOnPostgres() throws Exception {
        LedgerReadChecks.queriesDoNotWaitForTheWriter(JdbcLedger.open(URL, Clock.systemUTC()));
    }

    @Test
    void commitsDoNotWaitForQueriesOnPostgres() throws Exception {
        LedgerReadChecks.commitsDoNotWaitForQueries(JdbcLedger.open(URL, Clock.systemUTC()));
    }

    /** Two gateways adding to the same new minute at once: both count, none is refused. */
    @Test
    void twoGatewaysAddToTheSameMinute() throws Exception {
        SettableClock clock = new SettableClock(LedgerReadChecks.T0);
        try (JdbcLedger one = JdbcLedger.open(URL, clock, "gw-1"); JdbcLedger two = JdbcLedger.open(URL, clock, "gw-2")) {
            TransferMeter m1 = new TransferMeter(one, clock);
            TransferMeter m2 = new TransferMeter(two, clock);
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(8);
            try {
                List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
                for (int i = 0; i < 40; i++) {
                    TransferMeter m = i % 2 == 0 ? m1 : m2;
                    done.add(pool.submit(() -> {
                        Transfer t = m.start("alice", Protocol.of("ftp"), Direction.IN, "/x", "s3");
                        t.add(10);
                        m.end(t, true, null);
                        return null;
                    }));
                }
                for (var f : done) {
                    f.get();
                }
            } finally {
                pool.shutdown();
            }
            assertEquals(List.of(new ThroughputMinute(Instant.parse("2026-11-30T10:00:00Z"), Protocol.of("ftp"),
                    Direction.IN, "alice", 400, 40, 0)), one.throughput(null, null));
        }
    }

    /**
     * Three busy nodes on one ledger, each batch adding to the counters of many users in
     * whatever order its transfers ended: no batch fails, every transfer is recorded once
     * and the ledger's totals are exact. Each node adds to counter rows of its own, which
     * it writes in one sorted order (and a write PostgreSQL picks as a deadlock's victim
     * runs again). Before, the nodes' batches deadlocked on the shared rows within seconds
     * and their transfers were lost.
     */
    @Test
    void busyNodesNeverDeadlockAndLoseNoTransfer() throws Exception {
        int nodes = 3;
        int threads = 8;
        int each = 120;
        List<JdbcLedger> ledgers = new java.util.ArrayList<>();
        try {
            List<TransferMeter> meters = new java.util.ArrayList<>();
            for (int n = 0; n < nodes; n++) {
                ledgers.add(JdbcLedger.open(URL, Clock.systemUTC(), "gw-" + n));
                meters.add(new TransferMeter(ledgers.get(n)));
            }
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(nodes * threads);
            try {
                List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
                for (int w = 0; w < nodes * threads; w++) {
                    TransferMeter m = meters.get(w % nodes);
                    int worker = w;
                    done.add(pool.submit(() -> {
                        for (int i = 0; i < each; i++) {
                            String user = "u" + ((worker + i) % 7);
                            String backend = i % 2 == 0 ? "s3" : "local";
                            Transfer t = m.start(user, Protocol.of(i % 3 == 0 ? "ftp" : "http"), Direction.IN, "/f", backend);
                            t.add(10);
                            m.end(t, true, new StoredChange(backend, user, 10, 1));
                        }
                        return null;
                    }));
                }
                for (var f : done) {
                    f.get();
                }
            } finally {
                pool.shutdown();
            }
            long total = (long) nodes * threads * each;
            Counters sum = Counters.ZERO;
            for (var byUser : ledgers.get(0).transferred(null, null).values()) {
                for (Counters c : byUser.values()) {
                    sum = sum.plus(c);
                }
            }
            assertEquals(new Counters(10 * total, 0, total, 0, 0, 0), sum);
            long stored = ledgers.get(0).storedTotals().values().stream()
                    .flatMap(b -> b.values().stream()).mapToLong(StoredTotals::bytes).sum();
            assertEquals(10 * total, stored);
            try (Connection c = DriverManager.getConnection(URL); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM transfers WHERE outcome = 'completed'")) {
                rs.next();
                assertEquals(total, rs.getLong(1));
            }
            // Each node added to rows of its own only: no row lock for the nodes to wait on.
            try (Connection c = DriverManager.getConnection(URL); Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT (SELECT COUNT(DISTINCT node) FROM stored_totals),"
                         + " (SELECT COUNT(DISTINCT node) FROM throughput_minutes)")) {
                rs.next();
                assertEquals(List.of(3, 3), List.of(rs.getInt(1), rs.getInt(2)));
            }
        } finally {
            for (JdbcLedger l : ledgers) {
                l.close();
            }
        }
    }

    /**
     * Two nodes on one ledger, the second started after the first has counted: each node's
     * statistics are the exact union once it has read the other's additions, never
     * counting a transfer twice (its own are never read back), and show the other's
     * transfer in progress with its last recorded bytes and its node.
     */
    @Test
    void eachNodeCountsTheUnionOfAllNodesExactlyOnce() throws Exception {
        try (JdbcLedger one = JdbcLedger.open(URL, Clock.systemUTC(), "gw-1")) {
            TransferMeter m1 = new TransferMeter(one);
            Transfer a = m1.start("alice", Protocol.of("ftp"), Direction.IN, "/a.bin", "s3");
            a.add(1000);
            m1.end(a, true, new StoredChange("s3", "alice", 1000, 1));
            try (JdbcLedger two = JdbcLedger.open(URL, Clock.systemUTC(), "gw-2")) {
                TransferMeter m2 = new TransferMeter(two); // loads alice's upload
                Transfer b = m2.start("bob", Protocol.of("http"), Direction.IN, "/b.bin", "s3");
                b.add(300);
                m2.end(b, true, new StoredChange("s3", "bob", 300, 1));
                Transfer d = m1.start("alice", Protocol.of("http"), Direction.OUT, "/a.bin", "s3");
                d.add(200);
                m1.end(d, false, null);
                Transfer running = m2.start("bob", Protocol.of("ftp"), Direction.IN, "/big.bin", "s3");
                running.add(4096);
                m2.flushProgress();
                for (int i = 0; i < 2; i++) { // a second read changes nothing
                    m1.refreshOthers();
                    m2.refreshOthers();
                    for (TransferMeter m : List.of(m1, m2)) {
                        Statistics s = m.statistics(u -> true);
                        assertEquals(new Counters(1300, 200, 2, 0, 0, 1), s.transferred());
                        assertEquals(new Counters(1000, 200, 1, 0, 0, 1), s.transferredByUser().get("alice"));
                        assertEquals(new StoredTotals(1300, 2), s.stored());
                        assertEquals(new StoredTotals(300, 1), m.storedOfUser("bob"));
                        assertEquals(new StoredTotals(1300, 2), m.storedOf("s3"));
                        assertEquals(List.of("gw-2"), s.active().stream().map(Statistics.Active::node).toList());
                        assertEquals(4096, s.active().get(0).bytes());
                        assertEquals("ftp", s.active().get(0).protocol());
                    }
                }
                m2.end(running, true, new StoredChange("s3", "bob", 4096, 1));
                m1.refreshOthers();
                assertEquals(new Counters(5396, 200, 3, 0, 0, 1), m1.statistics(u -> true).transferred());
                assertTrue(m1.statistics(u -> true).active().isEmpty());
                assertEquals(new StoredTotals(5396, 3), m1.statistics(u -> true).stored());
            }
        }
    }

    /**
     * A node that stopped heartbeating is counted dead by one of two live nodes racing for
     * it, exactly once: its unfinished transfer fails with its last recorded bytes, counted
     * under it (so both live nodes add it once), and the claimant gets its recorded upload
     * to abort. A claim with a stale heartbeat count does nothing.
     */
    @Test
    void twoLiveNodesFailADeadNodesTransfersExactlyOnce() throws Exception {
        for (int round = 0; round < 5; round++) {
            emptyDatabase();
            JdbcLedger dead = JdbcLedger.open(URL, Clock.systemUTC(), "gw-1");
            dead.register("http 127.0.0.1:1", "test", java.time.Duration.ofSeconds(2));
            TransferMeter m = new TransferMeter(dead);
            Transfer t = m.start("alice", Protocol.of("http"), Direction.IN, "/cut.bin", "s3");
            m.uploadOpened(t, new BackendUpload("s3", "alice/cut.bin", "upload-1"));
            t.add(777);
            m.flushProgress();
            dead.heartbeat();
            dead.close(); // as a kill: the row stays active
            try (JdbcLedger two = JdbcLedger.open(URL, Clock.systemUTC(), "gw-2");
                 JdbcLedger three = JdbcLedger.open(URL, Clock.systemUTC(), "gw-3")) {
                TransferMeter m2 = new TransferMeter(two);
                TransferMeter m3 = new TransferMeter(three);
                assertEquals(null, two.failDead("gw-1", 0), "a stale heartbeat count claims nothing");
                long beats = two.nodes().get(0).beats();
                java.util.concurrent.CyclicBarrier together = new java.util.concurrent.CyclicBarrier(2);
                java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
                try {
                    var f2 = pool.submit(() -> {
                        together.await();
                        return two.failDead("gw-1", beats);
                    });
                    var f3 = pool.submit(() -> {
                        together.await();
                        return three.failDead("gw-1", beats);
                    });
                    Ledger.DeadNode d2 = f2.get();
                    Ledger.DeadNode d3 = f3.get();
                    assertTrue(d2 == null ^ d3 == null, "one claimant: " + d2 + " " + d3);
                    Ledger.DeadNode d = d2 == null ? d3 : d2;
                    assertEquals(1, d.transfers());
                    assertEquals(List.of(new BackendUpload("s3", "alice/cut.bin", "upload-1")), d.uploads());
                } finally {
                    pool.shutdown();
                }
                assertEquals(null, three.failDead("gw-1", beats), "never twice");
                m2.refreshOthers();
                m3.refreshOthers();
                for (TransferMeter live : List.of(m2, m3)) {
                    Statistics s = live.statistics(u -> true);
                    assertEquals(new Counters(777, 0, 0, 0, 1, 0), s.transferred());
                    assertTrue(s.active().isEmpty());
                }
                assertTrue(two.nodes().get(0).deadAt() != null);
                assertTrue(two.heartbeat(), "the live node is not counted dead");
            }
            // The node counted dead learns it from its heartbeat, and lives again once it registers.
            try (JdbcLedger back = JdbcLedger.open(URL, Clock.systemUTC(), "gw-1")) {
                assertTrue(!back.heartbeat());
                back.register("http 127.0.0.1:1", "test", java.time.Duration.ofSeconds(2));
                assertTrue(back.heartbeat());
                assertEquals(null, back.nodes().get(0).deadAt());
            }
        }
    }

    /**
     * The commit locks of two gateways on one database exclude each other per key (a
     * PostgreSQL advisory lock): the second waits until the first is released, while
     * another key is free meanwhile.
     */
    @Test
    void commitsToOneKeyFromTwoGatewaysAreOrdered() throws Exception {
        try (JdbcLedger one = JdbcLedger.open(URL, Clock.systemUTC(), "gw-1");
             JdbcLedger two = JdbcLedger.open(URL, Clock.systemUTC(), "gw-2")) {
            CommitLocks.Held first = one.commitLocks().lock("local", "alice/a.bin");
            // Taken and released on one thread: the in-process part is a ReentrantLock.
            java.util.concurrent.CompletableFuture<Long> second = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try (CommitLocks.Held h = two.commitLocks().lock("local", "alice/a.bin")) {
                    return System.nanoTime();
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            two.commitLocks().lock("local", "alice/b.bin").close();
            // Waiting for something that must not happen: a bounded wait is the only way to see it.
            assertThrows(java.util.concurrent.TimeoutException.class, () -> second.get(300, java.util.concurrent.TimeUnit.MILLISECONDS));
            long released = System.nanoTime();
            first.close();
            assertTrue(second.get(10, java.util.concurrent.TimeUnit.SECONDS) >= released);
        }
    }

    /**
     * Sixteen uploads on two gateways reserve 100 bytes each of a 1,000-byte quota at once:
     * exactly ten get them; a node counted dead gives back exactly what it held.
     */
    @Test
    void quotaReservationsOfTwoGatewaysNeverPassTheQuota() throws Exception {
        try (JdbcLedger one = JdbcLedger.open(URL, Clock.systemUTC(), "gw-1");
             JdbcLedger two = JdbcLedger.open(URL, Clock.systemUTC(), "gw-2")) {
            one.changed(new StoredChange("local", "carol", 0, 0)); // carol's row exists, empty
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(16);
            List<java.util.concurrent.Future<Long>> grants = new java.util.ArrayList<>();
            for (int i = 0; i < 16; i++) {
                JdbcLedger l = i % 2 == 0 ? one : two;
                String id = "r" + i;
                grants.add(pool.submit(() -> l.reserve(id, "carol", true, 100, 100, 0, 1000, 0)));
            }
            int granted = 0;
            int grantedToOne = 0;
            for (int i = 0; i < grants.size(); i++) {
                long got = grants.get(i).get();
                assertTrue(got == 100 || got == Ledger.NO_ROOM_BYTES, "granted " + got);
                granted += got == 100 ? 1 : 0;
                grantedToOne += got == 100 && i % 2 == 0 ? 1 : 0;
            }
            pool.shutdown();
            assertEquals(10, granted);
            one.register("", "test", java.time.Duration.ofSeconds(2));
            two.register("", "test", java.time.Duration.ofSeconds(2));
            assertTrue(two.failDead("gw-1", 0) != null);
            // What gw-1 held is free again, exactly, and gw-1's own holds can no longer grow.
            long freed = grantedToOne * 100L;
            assertEquals(freed, two.reserve("late", "carol", true, freed, freed, 0, 1000, 0));
            assertEquals(Ledger.NO_ROOM_BYTES, two.reserve("later", "carol", true, 1, 1, 0, 1000, 0));
            for (int i = 0; i < 16; i += 2) {
                assertEquals(Ledger.NO_ROOM_BYTES, one.reserve("r" + i, "carol", false, 0, 0, 0, 1000, 0));
            }
        }
    }
}
