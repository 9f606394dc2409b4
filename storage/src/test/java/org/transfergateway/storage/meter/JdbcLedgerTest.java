package org.transfergateway.storage.meter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.transfergateway.config.LedgerConfig;

class JdbcLedgerTest {
    @TempDir
    Path dir;

    private String url() {
        return new LedgerConfig(dir.toString()).jdbcUrl();
    }

    private TransferMeter open() throws Exception {
        return new TransferMeter(JdbcLedger.open(url(), Clock.systemUTC()));
    }

    @Test
    void totalsSurviveAReopen() throws Exception {
        JdbcLedger ledger = JdbcLedger.open(url(), Clock.systemUTC());
        TransferMeter m = new TransferMeter(ledger);
        Transfer up = m.start("alice", Protocol.of("ftp"), Direction.IN, "/a.bin", "local");
        up.add(1000);
        m.end(up, true, new StoredChange("local", "alice", 1000, 1));
        Transfer down = m.start("alice", Protocol.of("http"), Direction.OUT, "/a.bin", "local");
        down.add(400);
        m.end(down, false, null);
        m.changed(new StoredChange("local", "alice", -1000, -1));
        Statistics before = m.statistics(u -> true);
        ledger.close();

        Statistics after = open().statistics(u -> true);
        assertEquals(before.since(), after.since());
        assertEquals(new Counters(1000, 400, 1, 0, 0, 1), after.transferred());
        assertEquals(new Counters(1000, 0, 1, 0, 0, 0), after.byProtocol().get("ftp"));
        assertEquals(new Counters(0, 400, 0, 0, 0, 1), after.byProtocol().get("http"));
        assertEquals(new StoredTotals(0, 0), after.stored());
    }

    /**
     * Writes from many threads share commits; each is still counted exactly once, and a
     * refused write (ending a transfer twice) undoes nothing else of its batch.
     */
    @Test
    void concurrentTransfersShareCommitsAndCountExactlyOnce() throws Exception {
        JdbcLedger ledger = JdbcLedger.open(url(), Clock.systemUTC());
        int threads = 8;
        int each = 150;
        java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
        for (int th = 0; th < threads; th++) {
            int thread = th;
            done.add(pool.submit(() -> {
                for (int i = 0; i < each; i++) {
                    Transfer t = new Transfer("t" + thread + "-" + i, "u" + thread, Protocol.of("http"), Direction.IN,
                            "/f" + i, "local", java.time.Instant.now());
                    ledger.started(t);
                    long size = 1000L * thread + i;
                    TransferRecord r = new TransferRecord(t.id(), t.user(), t.protocol(), t.direction(), t.path(),
                            t.backend(), size, true, t.startedAt(), java.time.Instant.now());
                    ledger.finished(r, new StoredChange("local", t.user(), size, 1));
                    if (i % 10 == 0) {
                        try {
                            ledger.finished(r, new StoredChange("local", t.user(), size, 1));
                        } catch (java.io.IOException e) {
                            assertTrue(e.getMessage().contains("is not active"), e.getMessage());
                            refused.incrementAndGet();
                        }
                    }
                }
                return null;
            }));
        }
        for (java.util.concurrent.Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        ledger.close();

        long bytes = 0;
        for (int th = 0; th < threads; th++) {
            for (int i = 0; i < each; i++) {
                bytes += 1000L * th + i;
            }
        }
        assertEquals(threads * each / 10, refused.get());
        Statistics after = open().statistics(u -> true);
        assertEquals(new Counters(bytes, 0, threads * each, 0, 0, 0), after.transferred());
        assertEquals(new StoredTotals(bytes, threads * each), after.stored());
    }

    /**
     * Changes refused half-way (a copy removed, then a copy without a key refused), made
     * from many threads so that they share batches with valid ones, are each undone back to
     * their own savepoint: the removed copy and the totals are as before, and every valid
     * change around them in the same commits stays.
     */
    @Test
    void changesRefusedHalfWayInSharedBatchesUndoOnlyThemselves() throws Exception {
        JdbcLedger ledger = JdbcLedger.open(url(), Clock.systemUTC());
        int threads = 8;
        int each = 60;
        java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        List<java.util.concurrent.Future<?>> done = new ArrayList<>();
        for (int th = 0; th < threads; th++) {
            String user = "u" + th;
            done.add(pool.submit(() -> {
                for (int i = 0; i < each; i++) {
                    Placement ok = copy("pool", user + "/ok" + i, "m1", i + 1);
                    ledger.changed(change("pool", user, i + 1, 1, List.of(), List.of(ok)));
                    if (i % 3 == 0) {
                        // Replaces the copy just stored: its removal runs, then the database refuses
                        // the new copy (a key is NOT NULL).
                        Placement broken = new Placement("pool", null, "m1", 7, Instant.ofEpochMilli(0));
                        try {
                            ledger.changed(change("pool", user, 7 - (i + 1), 0, List.of(ok), List.of(broken)));
                        } catch (java.io.IOException e) {
                            refused.incrementAndGet();
                        }
                    }
                }
                return null;
            }));
        }
        for (java.util.concurrent.Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        assertEquals(threads * (each / 3), refused.get());
        Map<String, StoredTotals> totals = ledger.storedTotals().get("pool");
        for (int th = 0; th < threads; th++) {
            String user = "u" + th;
            assertEquals(new StoredTotals((long) each * (each + 1) / 2, each), totals.get(user), user);
            for (int i = 0; i < each; i++) {
                assertEquals(List.of(copy("pool", user + "/ok" + i, "m1", i + 1)), ledger.copies("pool", user + "/ok" + i));
            }
        }
        ledger.close();
    }

    /** The embedded ledger's connection skips the driver's query for generated keys after each INSERT. */
    @Test
    void theSqliteWriterAsksForNoGeneratedKeys() throws Exception {
        try (java.sql.Connection c = JdbcLedger.connect("jdbc:sqlite:" + dir.resolve("keys.db"));
             java.sql.Statement st = c.createStatement()) {
            st.executeUpdate("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
            st.executeUpdate("INSERT INTO t (v) VALUES ('a')");
            try (java.sql.ResultSet keys = st.getGeneratedKeys()) {
                assertFalse(keys.next(), "no key was read back");
            }
        }
        // The driver's default, for contrast: the key of the row just inserted.
        try (java.sql.Connection c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("keys.db"));
             java.sql.Statement st = c.createStatement()) {
            st.executeUpdate("INSERT INTO t (v) VALUES ('b')");
            try (java.sql.ResultSet keys = st.getGeneratedKeys()) {
                assertTrue(keys.next());
                assertEquals(2, keys.getLong(1));
            }
        }
    }

    @Test
    void aTransferInFlightAtACrashBecomesFailedWithItsLastBytes() throws Exception {
        JdbcLedger ledger = JdbcLedger.open(url(), Clock.systemUTC());
        TransferMeter m = new TransferMeter(ledger);
        Transfer t = m.start("bob", Protocol.of("http"), Direction.IN, "/big.bin", "s3");
        t.add(5000);
        m.flushProgress();
        t.add(100); // not flushed: lost with the process
        ledger.close(); // the process dies without ending the transfer

        Statistics after = open().statistics(u -> true);
        assertEquals(new Counters(5000, 0, 0, 0, 1, 0), after.transferred());
        assertTrue(after.active().isEmpty());
        assertEquals(StoredTotals.ZERO, after.stored());
    }

    @Test
    void aTransferIsNeverCountedTwice() throws Exception {
        JdbcLedger ledger = JdbcLedger.open(url(), Clock.systemUTC());
        TransferMeter m = new TransferMeter(ledger);
        Transfer t = m.start("carol", Protocol.of("ftp"), Direction.IN, "/x", "local");
        t.add(10);
        m.end(t, true, new StoredChange("local", "carol", 10, 1));
        m.end(t, true, new StoredChange("local", "carol", 10, 1));
        assertEquals(new Counters(10, 0, 1, 0, 0, 0), m.statistics(u -> true).transferred());
        assertEquals(List.of(), m.active());
        ledger.close();
        assertEquals(new Counters(10, 0, 1, 0, 0, 0), open().statistics(u -> true).transferred());
    }

    @Test
    void windowsAndRecentTransfersComeFromTheLedger() throws Exception {
        java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong(1_000_000);
        Clock clock = new Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return java.time.ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }

            @Override
            public java.time.Instant instant() {
                return java.time.Instant.ofEpochMilli(now.get());
            }
        };
        TransferMeter m = new TransferMeter(JdbcLedger.open(url(), clock), clock);
        for (int i = 0; i < 5; i++) {
            Transfer t = m.start(i % 2 == 0 ? "alice" : "bob", Protocol.of("http"), Direction.IN, "/f" + i, "local");
            t.add(100 * (i + 1));
            now.addAndGet(1000);
            m.end(t, true, new StoredChange("local", t.user(), t.bytes(), 1));
        }
        java.time.Instant t2 = java.time.Instant.ofEpochMilli(1_000_000 + 2000);
        java.time.Instant t4 = java.time.Instant.ofEpochMilli(1_000_000 + 4000);
        // transfers 1, 2 and 3 ended at 2000, 3000, (4000 excluded)
        Statistics window = m.statistics(u -> true, t2, t4);
        assertEquals(new Counters(200 + 300, 0, 2, 0, 0, 0), window.transferred());
        assertEquals(new Counters(300, 0, 1, 0, 0, 0), m.statistics(u -> u.equals("alice"), t2, t4).transferred());
        List<TransferRecord> recent = m.recent(3, null, null);
        assertEquals(List.of("/f4", "/f3", "/f2"), recent.stream().map(TransferRecord::path).toList());
        assertEquals(List.of("/f3", "/f1"), m.recent(10, "bob", null).stream().map(TransferRecord::path).toList());
        assertEquals(List.of("/f4"), m.recent(10, "alice", java.time.Instant.ofEpochMilli(1_000_000 + 4000)).stream().map(TransferRecord::path).toList());
    }

    @Test
    void theEmbeddedLedgerIsSqliteWithAWriteAheadLogAndOneGatewayAtATime() throws Exception {
        assertTrue(url().startsWith("jdbc:sqlite:"), url());
        TransferMeter m = open();
        Transfer t = m.start("dave", Protocol.of("http"), Direction.IN, "/d", "local");
        t.add(7);
        m.end(t, true, new StoredChange("local", "dave", 7, 1));
        assertTrue(java.nio.file.Files.exists(dir.resolve(LedgerConfig.SQLITE_FILE)));
        assertTrue(java.nio.file.Files.exists(dir.resolve(LedgerConfig.SQLITE_FILE + "-wal")));
        java.io.IOException second = assertThrows(java.io.IOException.class, () -> JdbcLedger.open(url(), Clock.systemUTC()));
        assertTrue(second.getMessage().contains("locked"), second.getMessage());
    }

    /** A folder that holds a ledger of an earlier release (H2) keeps using it: no totals are lost. */
    @Test
    void anEarlierH2LedgerInTheFolderIsKept() throws Exception {
        String h2 = "jdbc:h2:file:" + dir.resolve("ledger") + ";WRITE_DELAY=0";
        JdbcLedger earlier = JdbcLedger.open(h2, Clock.systemUTC());
        TransferMeter before = new TransferMeter(earlier);
        Transfer t = before.start("erin", Protocol.of("ftp"), Direction.IN, "/e", "local");
        t.add(42);
        before.end(t, true, new StoredChange("local", "erin", 42, 1));
        earlier.close();
        assertTrue(java.nio.file.Files.exists(dir.resolve(LedgerConfig.H2_FILE)));

        assertTrue(url().startsWith("jdbc:h2:file:"), url());
        Statistics after = new TransferMeter(JdbcLedger.open(url(), Clock.systemUTC())).statistics(u -> true);
        assertEquals(new Counters(42, 0, 1, 0, 0, 0), after.transferred());
        assertEquals(new StoredTotals(42, 1), after.stored());
        assertTrue(java.nio.file.Files.notExists(dir.resolve(LedgerConfig.SQLITE_FILE)));
    }

    /** The embedded ledger of this release (SQLite) or of an earlier one (H2), in {@link #dir}. */
    private String url(String database) {
        return database.equals("h2") ? "jdbc:h2:file:" + dir.resolve("ledger") + ";WRITE_DELAY=0" : url();
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "h2"})
    void placementsMoveWithTheirStoredChangeAndSurviveAReopen(String database) throws Exception {
        JdbcLedger ledger = JdbcLedger.open(url(database), Clock.systemUTC());
        checkPlacementsMoveWithTheStoredTotals(ledger, () -> JdbcLedger.open(url(database), Clock.systemUTC()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "h2"})
    void aLargeFolderIsListedInPagesEachKeyOnceInOrder(String database) throws Exception {
        try (JdbcLedger ledger = JdbcLedger.open(url(database), Clock.systemUTC())) {
            checkPaging(ledger);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "h2"})
    void aPrefixListsOnlyTheKeysThatStartWithIt(String database) throws Exception {
        try (JdbcLedger ledger = JdbcLedger.open(url(database), Clock.systemUTC())) {
            // H2 compares strings as String.compareTo does; SQLite by code points (UTF-8 bytes).
            checkPrefixes(ledger, database.equals("h2") ? Comparator.naturalOrder() : CODE_POINTS);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "h2"})
    void copiesToMakeAreQueuedClaimedAndDroppedWithTheirObjectAndSurviveAReopen(String database) throws Exception {
        checkCopyQueue(JdbcLedger.open(url(database), Clock.systemUTC()), () -> JdbcLedger.open(url(database), Clock.systemUTC()));
    }

    @Test
    void theInMemoryLedgerQueuesCopiesByTheSameRules() throws Exception {
        checkCopyQueue(Ledger.inMemory(), null);
    }

    @Test
    void theEndOfAPrefixRangeIsTheLeastStringAboveItsKeys() {
        assertEquals("a/b0", JdbcLedger.prefixEnd("a/b/", false));
        assertEquals("a/b0", JdbcLedger.prefixEnd("a/b/", true));
        assertEquals("a%", JdbcLedger.prefixEnd("a$", false));
        assertEquals("\u00ea", JdbcLedger.prefixEnd("\u00e9", false));
        assertNull(JdbcLedger.prefixEnd("", false));
        assertNull(JdbcLedger.prefixEnd("", true));
        // U+D7FF is followed by U+E000 among code points, by a surrogate among code units.
        assertEquals("x\ue000", JdbcLedger.prefixEnd("x\ud7ff", false));
        assertEquals("x\ud800", JdbcLedger.prefixEnd("x\ud7ff", true));
        // U+FFFF is followed by U+10000 among code points; it is the highest code unit.
        assertEquals("x\ud800\udc00", JdbcLedger.prefixEnd("x\uffff", false));
        assertEquals("y", JdbcLedger.prefixEnd("x\uffff", true));
        String grinning = "\ud83d\ude00"; // U+1F600
        assertEquals("x\ud83d\ude01", JdbcLedger.prefixEnd("x" + grinning, false));
        assertEquals("x\ud83d\ude01", JdbcLedger.prefixEnd("x" + grinning, true));
        String highest = new String(Character.toChars(Character.MAX_CODE_POINT));
        assertEquals("y", JdbcLedger.prefixEnd("x" + highest, false));
        assertNull(JdbcLedger.prefixEnd(highest + highest, false));
        assertNull(JdbcLedger.prefixEnd("\uffff", true));

        assertTrue(JdbcLedger.compareCodePoints("\ue000", grinning) < 0);
        assertTrue(JdbcLedger.compareCodePoints(grinning, "\uffff") > 0);
        assertTrue(JdbcLedger.compareCodePoints("a/b", "a/b/") < 0);
        assertTrue(JdbcLedger.compareCodePoints("a/b0", "a/b/x") > 0);
        assertEquals(0, JdbcLedger.compareCodePoints("a/" + grinning, "a/" + grinning));
    }

    // The checks below run on PostgreSQL too (JdbcLedgerPostgresTest).

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "h2"})
    void digestsFollowTheirObjectsAndSurviveAReopen(String database) throws Exception {
        checkDigestsFollowTheirObjects(JdbcLedger.open(url(database), Clock.systemUTC()),
                () -> JdbcLedger.open(url(database), Clock.systemUTC()));
    }

    @Test
    void theInMemoryLedgerKeepsDigestsByTheSameRules() throws Exception {
        checkDigestsFollowTheirObjects(Ledger.inMemory(), null);
    }

    private static String sha(char c) {
        return String.valueOf(c).repeat(64);
    }

    private static StoredChange digestChange(long bytes, long objects, DigestChange d) {
        return new StoredChange("local", "alice", bytes, objects).with(d);
    }

    private static List<String> keys(Ledger ledger, String prefix) throws Exception {
        return ledger.digests("local", prefix, null, 100).stream().map(d -> d.key() + "=" + d.sha256().charAt(0)).toList();
    }

    /**
     * A commit records its digest with the transfer's end; an overwrite replaces it, an
     * overwrite of unknown digest (an append) forgets it; a rename moves it (a folder's
     * rename every digest under it, and no other), replacing the target's; a delete
     * forgets it. A refused end records no digest. The digests survive a reopen and are
     * listed in pages. Closes {@code ledger}.
     */
    static void checkDigestsFollowTheirObjects(Ledger ledger, Reopen reopen) throws Exception {
        TransferMeter m = new TransferMeter(ledger);
        Transfer up = m.start("alice", Protocol.of("http"), Direction.IN, "/a.bin", "local");
        up.add(10);
        m.end(up, true, digestChange(10, 1, new DigestChange.Stored("alice/a.bin", 10, sha('a'))));
        ObjectDigest a = ledger.digest("local", "alice/a.bin");
        assertEquals(10, a.size());
        assertEquals(sha('a'), a.sha256());
        assertNull(ledger.digest("other", "alice/a.bin"), "another backend's");
        assertNull(ledger.digest("local", "alice/a.bi"));

        m.changed(digestChange(10, 1, new DigestChange.Stored("alice/d/x.bin", 10, sha('x'))));
        m.changed(digestChange(10, 1, new DigestChange.Stored("alice/d/sub/y.bin", 10, sha('y'))));
        m.changed(digestChange(10, 1, new DigestChange.Stored("alice/d0.bin", 10, sha('0'))));
        m.changed(digestChange(10, 1, new DigestChange.Stored("alice/dd.bin", 10, sha('e'))));
        // An overwrite replaces the digest; one of unknown digest forgets it.
        m.changed(digestChange(2, 0, new DigestChange.Stored("alice/a.bin", 12, sha('b'))));
        assertEquals(sha('b'), ledger.digest("local", "alice/a.bin").sha256());
        assertEquals(12, ledger.digest("local", "alice/a.bin").size());
        m.changed(digestChange(5, 0, new DigestChange.Stored("alice/dd.bin", 15, null)));
        assertNull(ledger.digest("local", "alice/dd.bin"));

        // A file renamed over another: its digest replaces the other's.
        m.changed(digestChange(-10, -1, new DigestChange.Moved("alice/d0.bin", "alice/a.bin", false)));
        assertEquals(sha('0'), ledger.digest("local", "alice/a.bin").sha256());
        assertNull(ledger.digest("local", "alice/d0.bin"));
        // A folder's rename moves what lies under it, and not alice/d0.bin's likes.
        m.changed(digestChange(10, 1, new DigestChange.Stored("alice/d0.bin", 3, sha('3'))));
        m.changed(digestChange(0, 0, new DigestChange.Moved("alice/d", "alice/e", true)));
        assertEquals(List.of("alice/a.bin=0", "alice/d0.bin=3", "alice/e/sub/y.bin=y", "alice/e/x.bin=x"), keys(ledger, ""));
        assertEquals(List.of("alice/e/sub/y.bin=y", "alice/e/x.bin=x"), keys(ledger, "alice/e/"));
        assertEquals(List.of("alice/e/x.bin"), ledger.digests("local", "alice/", "alice/e/sub/y.bin", 10).stream()
                .map(ObjectDigest::key).toList(), "the page after a key");
        assertEquals(2, ledger.digests("local", "alice/", null, 2).size());

        m.changed(digestChange(-10, -1, new DigestChange.Removed("alice/e/x.bin")));
        assertNull(ledger.digest("local", "alice/e/x.bin"));
        if (ledger instanceof JdbcLedger) {
            // A transfer ended twice is refused the second time: its digest is not recorded.
            Transfer twice = m.start("alice", Protocol.of("http"), Direction.IN, "/z.bin", "local");
            m.end(twice, false, null);
            TransferRecord again = new TransferRecord(twice.id(), "alice", Protocol.of("http"), Direction.IN, "/z.bin",
                    "local", 0, true, twice.startedAt(), Instant.now());
            assertThrows(java.io.IOException.class, () -> ledger.finished(again,
                    digestChange(1, 1, new DigestChange.Stored("alice/z.bin", 1, sha('z')))));
            assertNull(ledger.digest("local", "alice/z.bin"));
        }
        ledger.close();
        if (reopen != null) {
            try (JdbcLedger again = reopen.open()) {
                assertEquals(List.of("alice/a.bin=0", "alice/d0.bin=3", "alice/e/sub/y.bin=y"), keys(again, "alice/"));
                assertEquals(10, again.digest("local", "alice/a.bin").size());
            }
        }
    }

    /** How SQLite and PostgreSQL's "C" collation order strings: by code points. */
    static final Comparator<String> CODE_POINTS = (a, b) -> Arrays.compare(a.codePoints().toArray(), b.codePoints().toArray());

    /** Opens the ledger again, as after a restart. */
    interface Reopen {
        JdbcLedger open() throws Exception;
    }

    static Placement copy(String pool, String key, String backend, long size) {
        return new Placement(pool, key, backend, size, Instant.ofEpochMilli(1_700_000_000_000L + size));
    }

    private static StoredChange change(String pool, String user, long bytes, long objects, List<Placement> removed,
                                       List<Placement> added) {
        return new StoredChange(pool, user, bytes, objects, removed, added);
    }

    /**
     * Copies added with a transfer's end or a change are read back, in the order they were
     * recorded by {@code copies} and by key then backend by {@code under}; removed ones are
     * gone. A change refused half-way leaves neither its totals nor its copies. Reopened,
     * the ledger's copies per member backend and user are the sums of the rows, as the meter
     * had them, and the stored totals are unchanged. Closes {@code ledger}.
     */
    static void checkPlacementsMoveWithTheStoredTotals(JdbcLedger ledger, Reopen reopen) throws Exception {
        TransferMeter m = new TransferMeter(ledger);
        Placement a2 = copy("pool", "docs/a.txt", "m2", 100);
        Placement a1 = copy("pool", "docs/a.txt", "m1", 100);
        Transfer up = m.start("alice", Protocol.of("ftp"), Direction.IN, "/docs/a.txt", "pool");
        up.add(100);
        m.end(up, true, change("pool", "alice", 100, 1, List.of(), List.of(a2, a1)));
        assertEquals(List.of(a2, a1), ledger.copies("pool", "docs/a.txt"), "in the order recorded");
        assertEquals(List.of(a1, a2), ledger.under("pool", "docs/", null, 10), "by key then backend");
        assertEquals(List.of(), ledger.copies("other", "docs/a.txt"), "another pool's");
        assertEquals(List.of(), ledger.copies("pool", "docs/a.tx"));

        Placement b1 = copy("pool", "docs/b.txt", "m1", 7);
        Placement b3 = copy("pool", "docs/b.txt", "m3", 7);
        m.changed(change("pool", "bob", 7, 1, List.of(), List.of(b3, b1)));
        // bob overwrites b.txt: its copy on m3 moves to m2, the one on m1 is rewritten.
        Placement b1New = copy("pool", "docs/b.txt", "m1", 9);
        Placement b2New = copy("pool", "docs/b.txt", "m2", 9);
        m.changed(change("pool", "bob", 2, 0, List.of(b3, b1), List.of(b1New, b2New)));
        assertEquals(List.of(b1New, b2New), ledger.copies("pool", "docs/b.txt"));
        // A copy recorded again replaces the one on its backend and counts as recorded
        // last, whether the change removes it first or not.
        ledger.changed(change("pool", "bob", 0, 0, List.of(), List.of(b1New)));
        assertEquals(List.of(b2New, b1New), ledger.copies("pool", "docs/b.txt"));
        m.changed(change("pool", "bob", 0, 0, List.of(b2New), List.of(b2New)));
        assertEquals(List.of(b1New, b2New), ledger.copies("pool", "docs/b.txt"));
        assertEquals(List.of(a1, a2, b1New, b2New), ledger.under("pool", "docs/", null, 10));

        // alice renames a.txt: its copies move to the new key, in the same change.
        Placement c1 = a1.withKey("docs/c.txt");
        Placement c2 = a2.withKey("docs/c.txt");
        m.changed(change("pool", "alice", 0, 0, List.of(a2, a1), List.of(c2, c1)));
        assertEquals(List.of(), ledger.copies("pool", "docs/a.txt"), "removed copies are gone");
        assertEquals(List.of(c2, c1), ledger.copies("pool", "docs/c.txt"));
        // alice stores one more file, then deletes it.
        Placement d1 = copy("pool", "docs/d.txt", "m1", 30);
        m.changed(change("pool", "alice", 30, 1, List.of(), List.of(d1)));
        m.changed(change("pool", "alice", -30, -1, List.of(d1), List.of()));
        assertEquals(List.of(b1New, b2New, c1, c2), ledger.under("pool", "docs/", null, 10));

        // A change refused half-way (a copy without a backend) leaves no trace: its totals
        // and its first copy are undone with it.
        Placement e1 = copy("pool", "docs/e.txt", "m1", 50);
        Placement broken = new Placement("pool", "docs/e.txt", null, 50, Instant.ofEpochMilli(0));
        assertThrows(java.io.IOException.class, () -> ledger.changed(change("pool", "alice", 50, 1, List.of(), List.of(e1, broken))));
        assertEquals(List.of(), ledger.copies("pool", "docs/e.txt"));
        assertEquals(new StoredTotals(100, 1), ledger.storedTotals().get("pool").get("alice"));

        Map<String, Map<String, StoredTotals>> copies = Map.of(
                "m1", Map.of("alice", new StoredTotals(100, 1), "bob", new StoredTotals(9, 1)),
                "m2", Map.of("alice", new StoredTotals(100, 1), "bob", new StoredTotals(9, 1)));
        Map<String, Map<String, StoredTotals>> stored = Map.of(
                "pool", Map.of("alice", new StoredTotals(100, 1), "bob", new StoredTotals(9, 1)));
        assertEquals(copies, ledger.load().copies());
        StoredTotals m1 = m.storedOf("m1");
        StoredTotals m2 = m.storedOf("m2");
        assertEquals(new StoredTotals(109, 2), m1);

        // A time a client set is recorded on every copy, to the millisecond; no total moves.
        Instant set = Instant.parse("2001-02-03T04:05:06.789123Z");
        assertTrue(ledger.modified("pool", "docs/c.txt", set));
        assertFalse(ledger.modified("pool", "docs/none.txt", set));
        Placement c1Set = new Placement("pool", "docs/c.txt", "m1", 100, Instant.parse("2001-02-03T04:05:06.789Z"));
        Placement c2Set = new Placement("pool", "docs/c.txt", "m2", 100, Instant.parse("2001-02-03T04:05:06.789Z"));
        assertEquals(List.of(c2Set, c1Set), ledger.copies("pool", "docs/c.txt"));
        assertEquals(copies, ledger.load().copies());
        assertEquals(m1, m.storedOf("m1"));
        ledger.close();

        try (JdbcLedger reopened = reopen.open()) {
            Ledger.State state = reopened.load();
            assertEquals(copies, state.copies(), "the copies per member backend and user");
            assertEquals(stored, state.stored(), "the pool's logical totals per user");
            assertEquals(stored, reopened.placedTotals(), "the placements' logical totals: one copy a key");
            assertEquals("bob", reopened.owner("pool", "docs/b.txt"));
            assertEquals(null, reopened.owner("pool", "docs/a.txt"), "renamed away");
            TransferMeter after = new TransferMeter(reopened);
            assertEquals(m1, after.storedOf("m1"));
            assertEquals(m2, after.storedOf("m2"));
            assertEquals(StoredTotals.ZERO, after.storedOf("m3"));
            assertEquals(List.of(c2Set, c1Set), reopened.copies("pool", "docs/c.txt"));
            assertEquals(List.of(b1New, b2New, c1Set, c2Set), reopened.under("pool", "", null, 10));
        }
    }

    private static List<String> targets(Ledger ledger, String key) throws Exception {
        return ledger.pendingCopies("pool", key).stream().map(CopyTask::target).sorted().toList();
    }

    /**
     * The queue of copies to make: queued with the change that commits the object; claimed
     * once until the lease runs out, then taken over; handed back with a new target and
     * attempt count, due later; recorded with the copy's placement in one step; carried to
     * the new key by a rename, unclaimed; ended by an overwrite (which queues its own) and a
     * delete. Reopened ({@code reopen} not null; closes {@code ledger}), the queue is the
     * same, claims included, until the node releases them.
     */
    static void checkCopyQueue(Ledger ledger, Reopen reopen) throws Exception {
        TransferMeter m = new TransferMeter(ledger);
        java.time.Duration lease = java.time.Duration.ofMinutes(1);
        Instant queuedFrom = Instant.now().minusMillis(1);
        Placement a1 = copy("pool", "q/a", "m1", 100);
        m.changed(new StoredChange("pool", "alice", 100, 1, List.of(), List.of(a1),
                List.of(new PendingCopy(a1, "m2"), new PendingCopy(a1, "m3"))));
        assertEquals(List.of("m2", "m3"), targets(ledger, "q/a"));
        PendingTotals totals = ledger.pendingTotals().get("pool");
        assertEquals(2, totals.copies());
        assertEquals(200, totals.bytes());
        assertTrue(!totals.oldest().isBefore(queuedFrom) && !totals.oldest().isAfter(Instant.now()), totals.toString());
        assertEquals(Map.of(), ledger.pendingTotals().entrySet().stream().filter(e -> !e.getKey().equals("pool"))
                .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue)));
        CopyTask first = ledger.pendingCopies("pool", "q/a").get(0);
        assertEquals(a1, first.source());
        assertEquals("alice", first.user());
        assertEquals(0, first.attempts());

        // Claimed once: a second claim finds nothing until the lease has run out.
        Instant now = Instant.now();
        assertEquals(2, ledger.claimCopies(now, lease, 10).size());
        assertEquals(List.of(), ledger.claimCopies(now, lease, 10));
        assertTrue(ledger.renewCopy(first, now.plus(lease).plusSeconds(30)));
        List<CopyTask> takenOver = ledger.claimCopies(now.plus(lease).plusSeconds(10), lease, 10);
        assertEquals(List.of("m3"), takenOver.stream().map(CopyTask::target).toList(), "the renewed claim holds");
        takenOver = ledger.claimCopies(now.plus(lease).plusSeconds(31), lease, 10);
        assertEquals(List.of("m2"), takenOver.stream().map(CopyTask::target).toList());

        // The copy to m3 failed: handed back for m4, its first failed attempt, due 5 s later.
        CopyTask toM3 = ledger.pendingCopies("pool", "q/a").stream().filter(t -> t.target().equals("m3")).findFirst().orElseThrow();
        Instant later = now.plusSeconds(5);
        ledger.retryCopy(toM3, "m4", 1, later);
        assertEquals(List.of("m2", "m4"), targets(ledger, "q/a"));
        assertEquals(List.of(), ledger.claimCopies(later.minusMillis(1), lease, 10));
        List<CopyTask> retried = ledger.claimCopies(later, lease, 10);
        assertEquals(1, retried.size());
        assertEquals("m4", retried.get(0).target());
        assertEquals(1, retried.get(0).attempts());

        // Made on m4: the placement and the task's end are one change.
        Placement a4 = new Placement("pool", "q/a", "m4", 100, Instant.ofEpochMilli(1_700_000_000_777L));
        m.copied(retried.get(0), new StoredChange("pool", "alice", 0, 0, List.of(), List.of(a4)));
        assertEquals(List.of(a1, a4), ledger.copies("pool", "q/a"));
        assertEquals(List.of("m2"), targets(ledger, "q/a"));
        assertEquals(new StoredTotals(100, 1), m.storedOf("m4"));
        assertEquals(new StoredTotals(100, 1), m.storedOfUser("alice"), "a copy adds no logical bytes");

        // Renamed: the pending copy follows the object, unclaimed, and its old claim is gone.
        CopyTask toM2 = ledger.pendingCopies("pool", "q/a").get(0);
        m.changed(new StoredChange("pool", "alice", 0, 0, List.of(a1, a4), List.of(a1.withKey("q/b"), a4.withKey("q/b"))));
        assertEquals(List.of(), targets(ledger, "q/a"));
        assertEquals(List.of("m2"), targets(ledger, "q/b"));
        assertEquals(a1.withKey("q/b"), ledger.pendingCopies("pool", "q/b").get(0).source());
        assertTrue(!ledger.renewCopy(toM2, now.plus(lease)), "the old task is no more");
        List<CopyTask> moved = ledger.claimCopies(Instant.now(), lease, 10);
        assertEquals(List.of("q/b"), moved.stream().map(CopyTask::key).toList());

        // Overwritten: the old copies' tasks end, the new object's are queued.
        Placement b2 = copy("pool", "q/b", "m2", 40);
        m.changed(new StoredChange("pool", "alice", -60, 0, List.of(a1.withKey("q/b"), a4.withKey("q/b")), List.of(b2),
                List.of(new PendingCopy(b2, "m1"))));
        assertEquals(List.of("m1"), targets(ledger, "q/b"));
        assertEquals(b2, ledger.pendingCopies("pool", "q/b").get(0).source());
        ledger.dropCopy(moved.get(0)); // the old task: nothing happens to the new one
        ledger.retryCopy(moved.get(0), "m3", 1, later);
        assertEquals(List.of("m1"), targets(ledger, "q/b"));

        // Deleted: its tasks end with it.
        Placement c1 = copy("pool", "q/c", "m1", 5);
        m.changed(new StoredChange("pool", "bob", 5, 1, List.of(), List.of(c1), List.of(new PendingCopy(c1, "m2"))));
        assertEquals(List.of("m2"), targets(ledger, "q/c"));
        m.changed(new StoredChange("pool", "bob", -5, -1, List.of(c1), List.of()));
        assertEquals(List.of(), targets(ledger, "q/c"));
        assertEquals(new PendingTotals(1, 40, ledger.pendingCopies("pool", "q/b").get(0).enqueued()),
                ledger.pendingTotals().get("pool"));
        if (reopen == null) {
            return;
        }

        // Claimed when the process stops (as by kill -9): the claim holds in the ledger,
        // until the node, starting again, releases its own.
        assertEquals(1, ledger.claimCopies(Instant.now(), lease, 10).size());
        ledger.close();
        try (JdbcLedger reopened = reopen.open()) {
            TransferMeter after = new TransferMeter(reopened);
            assertEquals(List.of("m1"), targets(reopened, "q/b"));
            assertEquals(new StoredTotals(40, 1), after.storedOf("m2"));
            assertEquals(StoredTotals.ZERO, after.storedOf("m4"));
            assertEquals(List.of(), reopened.claimCopies(Instant.now(), lease, 10));
            assertEquals(1, reopened.releaseCopies());
            List<CopyTask> again = reopened.claimCopies(Instant.now(), lease, 10);
            assertEquals(1, again.size());
            assertEquals(b2, again.get(0).source());
            assertEquals("alice", again.get(0).user());
        }
    }

    /**
     * 2,500 keys of a folder (some with two copies) among others that share the start of
     * its name, read in pages of 1,000: each key once, in order, no key's copies split
     * between pages; then keys of five copies each, more than a read takes at once.
     */
    static void checkPaging(JdbcLedger ledger) throws Exception {
        List<Placement> added = new ArrayList<>();
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 2500; i++) {
            String key = String.format("big/f%05d", i);
            expected.add(key);
            added.add(copy("pool", key, "m1", i));
            if (i % 3 == 0) {
                added.add(copy("pool", key, "m2", i));
            }
        }
        for (String outside : List.of("big", "big0", "big.x", "bigger/f00001", "bi/g", "aaa/x", "zzz/x")) {
            added.add(copy("pool", outside, "m1", 1));
        }
        added.add(copy("other", "big/f00001", "m1", 1));
        ledger.changed(new StoredChange("pool", "alice", 0, 0, List.of(), added));

        List<String> seen = new ArrayList<>();
        List<Integer> pageSizes = new ArrayList<>();
        String after = null;
        while (true) {
            List<Placement> page = ledger.under("pool", "big/", after, 1000);
            if (page.isEmpty()) {
                break;
            }
            List<String> keys = new ArrayList<>(new LinkedHashSet<>(page.stream().map(Placement::key).toList()));
            pageSizes.add(keys.size());
            for (String key : keys) {
                List<Placement> ofKey = page.stream().filter(p -> p.key().equals(key)).toList();
                int i = Integer.parseInt(key.substring("big/f".length()));
                assertEquals(i % 3 == 0 ? List.of("m1", "m2") : List.of("m1"), ofKey.stream().map(Placement::backend).toList(), key);
                assertEquals(i, ofKey.get(0).size());
            }
            seen.addAll(keys);
            after = keys.get(keys.size() - 1);
        }
        assertEquals(List.of(1000, 1000, 500), pageSizes);
        assertEquals(expected, seen, "each key once, in order");
        assertEquals(List.of(), ledger.under("pool", "big/", "big/f02499", 1000));
        assertEquals(List.of("big/f00000", "big/f00000"), ledger.under("pool", "big/", null, 1).stream().map(Placement::key).toList());
        assertEquals(List.of(), ledger.under("pool", "big/", null, 0));
        // after before the prefix: from the prefix's first key
        assertEquals("big/f00000", ledger.under("pool", "big/", "a", 1).get(0).key());

        List<Placement> many = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            for (String b : List.of("m5", "m4", "m3", "m2", "m1")) {
                many.add(copy("wide", "k" + i, b, i));
            }
        }
        ledger.changed(new StoredChange("wide", "alice", 0, 0, List.of(), many));
        List<Placement> page = ledger.under("wide", "", null, 3);
        assertEquals(15, page.size(), page.toString());
        assertEquals(List.of("k0", "k1", "k2"), page.stream().map(Placement::key).distinct().toList());
        assertEquals(List.of("m1", "m2", "m3", "m4", "m5"), page.subList(5, 10).stream().map(Placement::backend).toList());
        assertEquals(List.of("k3", "k4", "k5", "k6", "k7", "k8", "k9"),
                ledger.under("wide", "k", "k2", 100).stream().map(Placement::key).distinct().toList());
        assertEquals(List.of("m5", "m4", "m3", "m2", "m1"), ledger.copies("wide", "k4").stream().map(Placement::backend).toList());
    }

    /**
     * Prefixes list exactly the keys that start with them, whatever their characters: the
     * trailing slash keeps a folder apart from its namesakes, LIKE's wildcards '%' and '_'
     * are plain characters, and keys beyond ASCII (accents, characters beyond U+FFFF, the
     * highest ones) sort and bound as the database's {@code order} says.
     */
    static void checkPrefixes(JdbcLedger ledger, Comparator<String> order) throws Exception {
        String grinning = "\ud83d\ude00"; // U+1F600
        String highest = new String(Character.toChars(Character.MAX_CODE_POINT));
        List<String> keys = List.of("a/b", "a/b/x", "a/b/y/z", "a/bc/x", "a/b0", "a/b.", "a/b/%", "a/b/_", "a/b/%x",
                "a/b/\u00e9", "a/b/" + grinning, "a/b/\ue000", "a/b/\ufffd", "a/%/x", "a/_/x", "a/%b/x", "a/xb/x",
                "a/B/x", "A/b/x", "\u00e9/x", "\u00e9/y", "\u00e9a/x", "e/x", "\u00fc/x", grinning + "/x", grinning + "x/y",
                "\ud83d\ude01/x", "\ud7ff/x", "\ud7ff/\u00e9", "\ue000/x", "\uffff/x", "\uffff\uffff/x", highest + "/x",
                "%/x", "_/x", "x%y/z", "xay/z", "\u4e2d\u6587/\u6587\u4ef6", "\u4e2d\u6587/x");
        List<Placement> added = new ArrayList<>();
        for (String key : keys) {
            added.add(copy("pool", key, "m2", key.length()));
            added.add(copy("pool", key, "m1", key.length()));
        }
        ledger.changed(new StoredChange("pool", "alice", 0, 0, List.of(), added));
        for (String prefix : List.of("a/b/", "a/b", "a/", "a/%", "a/_", "a/b/%", "a/b/_", "%", "_", "x%", "x_",
                "\u00e9", "\u00e9/", "e", grinning, grinning + "/", "\ud7ff", "\ue000", "\uffff", "\uffff\uffff",
                highest, "\u4e2d\u6587/", "A", "")) {
            List<String> want = keys.stream().filter(k -> k.startsWith(prefix)).sorted(order).toList();
            List<Placement> got = ledger.under("pool", prefix, null, 1000);
            assertEquals(want, got.stream().map(Placement::key).distinct().toList(), "under " + escaped(prefix));
            assertEquals(want.size() * 2, got.size(), "under " + escaped(prefix));
        }
        // After a key: the keys above it in the database's order, whether it starts with the
        // prefix or not.
        for (String prefix : List.of("a/b/", "\ue000", grinning, "")) {
            for (String after : List.of("", "a/b", "a/b/", "a/b/%", "a/b/x", "a/b/\u00e9", "a/b0", grinning + "/x", "\ue000",
                    "\ue000/x", "\uffff", "zzz")) {
                List<String> want = keys.stream().filter(k -> k.startsWith(prefix) && order.compare(k, after) > 0)
                        .sorted(order).toList();
                List<Placement> got = ledger.under("pool", prefix, after, 1000);
                assertEquals(want, got.stream().map(Placement::key).distinct().toList(),
                        "under " + escaped(prefix) + " after " + escaped(after));
            }
        }
        // Paging by one key goes through the same keys.
        List<String> paged = new ArrayList<>();
        String after = null;
        for (List<Placement> page; !(page = ledger.under("pool", "a/b/", after, 1)).isEmpty(); ) {
            after = page.get(0).key();
            paged.add(after);
        }
        assertEquals(keys.stream().filter(k -> k.startsWith("a/b/")).sorted(order).toList(), paged);
        for (String key : keys) {
            assertEquals(List.of("m2", "m1"), ledger.copies("pool", key).stream().map(Placement::backend).toList(), escaped(key));
        }
        assertEquals(List.of(), ledger.copies("pool", "a/b/"));
        assertEquals(List.of(), ledger.copies("pool", "a/b/\u00c9"));
    }

    private static String escaped(String s) {
        StringBuilder b = new StringBuilder();
        s.chars().forEach(c -> b.append(c < 128 ? Character.toString(c) : String.format("\\u%04x", c)));
        return b.toString();
    }

    // ---- the read side: per-minute throughput, filters and pages, queries beside the writer

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "h2"})
    void throughputIsExactPerMinuteAcrossAMinuteBoundary(String database) throws Exception {
        LedgerReadChecks.throughputIsExactPerMinuteAcrossABoundary(clock -> JdbcLedger.open(url(database), clock), true);
    }

    @Test
    void theMemoryLedgerCountsThroughputPerMinuteAlike() throws Exception {
        LedgerReadChecks.throughputIsExactPerMinuteAcrossABoundary(clock -> Ledger.inMemory(), false);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "h2"})
    void minutesOlderThanSevenDaysAreDeleted(String database) throws Exception {
        LedgerReadChecks.minutesOlderThanSevenDaysAreDeleted(clock -> JdbcLedger.open(url(database), clock));
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "h2"})
    void finishedTransfersAreFilteredAndPaged(String database) throws Exception {
        LedgerReadChecks.transfersAreFilteredAndPaged(clock -> JdbcLedger.open(url(database), clock));
    }

    @Test
    void theMemoryLedgerFiltersAndPagesAlike() throws Exception {
        LedgerReadChecks.transfersAreFilteredAndPaged(clock -> Ledger.inMemory());
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "h2"})
    void queriesDoNotWaitForTheWriter(String database) throws Exception {
        LedgerReadChecks.queriesDoNotWaitForTheWriter(JdbcLedger.open(url(database), Clock.systemUTC()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"sqlite", "h2"})
    void commitsDoNotWaitForQueries(String database) throws Exception {
        LedgerReadChecks.commitsDoNotWaitForQueries(JdbcLedger.open(url(database), Clock.systemUTC()));
    }

    /** A ledger in memory has one connection: its queries take turns with the writer, and still answer. */
    @Test
    void aLedgerInMemoryReadsOnTheWritersConnection() throws Exception {
        SettableClock clock = new SettableClock(LedgerReadChecks.T0);
        try (JdbcLedger ledger = JdbcLedger.open("jdbc:sqlite::memory:", clock)) {
            TransferMeter m = new TransferMeter(ledger, clock);
            Transfer t = m.start("alice", Protocol.of("ftp"), Direction.IN, "/a", "local");
            t.add(9);
            m.end(t, true, null);
            assertEquals(List.of(new ThroughputMinute(Instant.parse("2026-11-30T10:00:00Z"), Protocol.of("ftp"),
                    Direction.IN, "alice", 9, 1, 0)), ledger.throughput(null, null));
            assertEquals(1, ledger.recent(10, null, null).size());
        }
    }

    /**
     * Two nodes on one SQLite file opened without exclusive locking (a shared ledger that is
     * not PostgreSQL): holds of quota, sessions and bans go through the writer, whose first
     * write takes the file's write lock, and still count across both nodes.
     */
    @Test
    void limitsAreSharedByTwoNodesOnOneSqliteFile() throws Exception {
        String url = url().replace("locking_mode=EXCLUSIVE", "locking_mode=NORMAL") + "&busy_timeout=10000";
        try (JdbcLedger one = JdbcLedger.open(url, Clock.systemUTC(), "gw-1");
             JdbcLedger two = JdbcLedger.open(url, Clock.systemUTC(), "gw-2")) {
            assertTrue(one.shared() && two.shared());
            assertEquals(600, one.reserve("a", "carol", true, 600, 600, 1, 1000, 2));
            assertEquals(Ledger.NO_ROOM_BYTES, two.reserve("b", "carol", true, 600, 600, 1, 1000, 2));
            assertEquals(400, two.reserve("b", "carol", true, 0, 1 << 20, 1, 1000, 2));
            assertEquals(Ledger.NO_ROOM_FILES, one.reserve("c", "carol", true, 0, 0, 1, 1000, 2));
            one.release("a"); // posted to the writer without waiting: the room comes back soon after
            long deadline = System.nanoTime() + 5_000_000_000L;
            long got;
            while ((got = two.reserve("b", "carol", false, 600, 600, 0, 1000, 2)) < 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertEquals(600, got);

            assertTrue(one.openSession("s1", "carol", "ftp", 1));
            assertFalse(two.openSession("s2", "carol", "http", 1));
            assertTrue(two.openSession("s3", "dave", "http", 1));
            one.closeSession("s1"); // posted, as a release
            deadline = System.nanoTime() + 5_000_000_000L;
            boolean opened;
            while (!(opened = two.openSession("s2", "carol", "http", 1)) && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertTrue(opened);
            assertFalse(one.openSession("s4", "carol", "ftp", 1));

            for (int i = 0; i < 3; i++) {
                (i % 2 == 0 ? one : two).loginFailed("127.0.0.9", 3, java.time.Duration.ofMinutes(1), java.time.Duration.ofMinutes(5));
            }
            deadline = System.nanoTime() + 5_000_000_000L;
            while (two.bans().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(10); // failures are posted to the writer without waiting
            }
            assertEquals(java.util.Set.of("127.0.0.9"), one.bans().keySet());
            assertEquals(java.util.Set.of("127.0.0.9"), two.bans().keySet());
        }
    }
}
