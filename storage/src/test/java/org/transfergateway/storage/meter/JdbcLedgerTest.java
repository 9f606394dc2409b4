package org.transfergateway.storage.meter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
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
}
