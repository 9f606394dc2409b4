package org.transfergateway.storage.meter;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The ledger's read side, as every database (and the in-memory ledger) must pass it:
 * per-minute throughput, its retention, the filters and pages of finished transfers, and
 * queries that do not wait for the writer.
 */
final class LedgerReadChecks {
    private static final Protocol FTP = Protocol.of("ftp");
    private static final Protocol HTTP = Protocol.of("http");
    static final Instant T0 = Instant.parse("2026-11-30T10:00:50Z");

    /** Opens a ledger on one database at a time, with the clock given. */
    interface Opener {
        Ledger open(SettableClock clock) throws Exception;
    }

    private LedgerReadChecks() {
    }

    private static Transfer run(TransferMeter m, SettableClock clock, String user, Protocol p, Direction d, long bytes,
                                boolean ok, Duration lasting) throws Exception {
        Transfer t = m.start(user, p, d, "/" + user + bytes, "local");
        t.add(bytes);
        clock.advance(lasting);
        m.end(t, ok, ok && d == Direction.IN ? new StoredChange("local", user, bytes, 1) : null);
        return t;
    }

    private static ThroughputMinute minute(String at, Protocol p, Direction d, String user, long bytes, long files, long failed) {
        return new ThroughputMinute(Instant.parse(at), p, d, user, bytes, files, failed);
    }

    /**
     * Each transfer counts whole in the minute it ended: one that began in the first
     * minute and ended on the boundary is the second's; the sums are exact per minute,
     * protocol, direction and user, and survive a reopen.
     */
    static void throughputIsExactPerMinuteAcrossABoundary(Opener opener, boolean reopens) throws Exception {
        SettableClock clock = new SettableClock(T0);
        Ledger ledger = opener.open(clock);
        TransferMeter m = new TransferMeter(ledger, clock);
        run(m, clock, "alice", FTP, Direction.IN, 100, true, Duration.ofMillis(9_999)); // ends 10:00:59.999
        run(m, clock, "bob", FTP, Direction.IN, 200, false, Duration.ZERO);             // ends 10:00:59.999
        run(m, clock, "alice", HTTP, Direction.OUT, 50, true, Duration.ofMillis(1));   // ends 10:01:00.000
        run(m, clock, "alice", FTP, Direction.IN, 7, true, Duration.ofSeconds(10));
        run(m, clock, "alice", FTP, Direction.IN, 3, false, Duration.ofSeconds(20));   // ends 10:01:30
        List<ThroughputMinute> all = List.of(
                minute("2026-11-30T10:00:00Z", FTP, Direction.IN, "alice", 100, 1, 0),
                minute("2026-11-30T10:00:00Z", FTP, Direction.IN, "bob", 200, 0, 1),
                minute("2026-11-30T10:01:00Z", FTP, Direction.IN, "alice", 10, 1, 1),
                minute("2026-11-30T10:01:00Z", HTTP, Direction.OUT, "alice", 50, 1, 0));
        assertEquals(all, ledger.throughput(Instant.parse("2026-11-30T10:00:00Z"), Instant.parse("2026-11-30T10:02:00Z")));
        assertEquals(all.subList(0, 2), ledger.throughput(null, Instant.parse("2026-11-30T10:01:00Z")));
        assertEquals(all.subList(2, 4), m.throughput(Instant.parse("2026-11-30T10:01:00Z"), null));
        assertEquals(List.of(), ledger.throughput(Instant.parse("2026-11-30T10:02:00Z"), null));
        ledger.close();
        if (reopens) {
            Ledger again = opener.open(clock);
            try {
                assertEquals(all, again.throughput(null, null));
            } finally {
                again.close();
            }
        }
    }

    /** Minutes are kept 7 days: deleted (within the hour) once older, never before. */
    static void minutesOlderThanSevenDaysAreDeleted(Opener opener) throws Exception {
        SettableClock clock = new SettableClock(T0);
        Ledger ledger = opener.open(clock);
        try {
            TransferMeter m = new TransferMeter(ledger, clock);
            run(m, clock, "alice", FTP, Direction.IN, 1, true, Duration.ZERO);
            ThroughputMinute first = minute("2026-11-30T10:00:00Z", FTP, Direction.IN, "alice", 1, 1, 0);
            clock.set(Instant.parse("2026-12-07T09:59:50Z")); // 7 days less 1 minute after it
            run(m, clock, "bob", FTP, Direction.IN, 2, true, Duration.ZERO);
            ThroughputMinute second = minute("2026-12-07T09:59:00Z", FTP, Direction.IN, "bob", 2, 1, 0);
            assertEquals(List.of(first, second), ledger.throughput(null, null));
            clock.set(Instant.parse("2026-12-07T11:00:00Z")); // past 7 days and the hour between deletions
            run(m, clock, "carol", HTTP, Direction.OUT, 3, true, Duration.ZERO);
            assertEquals(List.of(second, minute("2026-12-07T11:00:00Z", HTTP, Direction.OUT, "carol", 3, 1, 0)),
                    ledger.throughput(null, null));
        } finally {
            ledger.close();
        }
    }

    /**
     * Finished transfers filtered by protocol, outcome and time, and read in pages: each
     * page goes on after the id that ended the one before, transfers that started in the
     * same millisecond included.
     */
    static void transfersAreFilteredAndPaged(Opener opener) throws Exception {
        SettableClock clock = new SettableClock(T0);
        Ledger ledger = opener.open(clock);
        try {
            TransferMeter m = new TransferMeter(ledger, clock);
            List<String> ids = new ArrayList<>();
            ids.add(run(m, clock, "alice", FTP, Direction.IN, 10, true, Duration.ofSeconds(1)).id());
            ids.add(run(m, clock, "bob", HTTP, Direction.OUT, 11, false, Duration.ofSeconds(1)).id());
            ids.add(run(m, clock, "alice", HTTP, Direction.IN, 12, true, Duration.ofSeconds(1)).id());
            Instant fourth = clock.instant();
            ids.add(run(m, clock, "alice", FTP, Direction.IN, 13, false, Duration.ofSeconds(1)).id());
            ids.add(run(m, clock, "bob", FTP, Direction.IN, 14, true, Duration.ofSeconds(1)).id());
            // two more that start in the same millisecond
            Transfer a = m.start("carol", FTP, Direction.IN, "/a", "local");
            Transfer b = m.start("carol", FTP, Direction.IN, "/b", "local");
            m.end(a, true, null);
            m.end(b, true, null);
            List<String> same = new ArrayList<>(List.of(a.id(), b.id()));
            same.sort(java.util.Comparator.reverseOrder());

            assertEquals(List.of(same.get(0), same.get(1), ids.get(4), ids.get(3), ids.get(0)),
                    ids(ledger, new TransferQuery(10, null, FTP, null, null, null, null)));
            assertEquals(List.of(ids.get(3), ids.get(1)), ids(ledger, new TransferQuery(10, null, null, false, null, null, null)));
            assertEquals(List.of(ids.get(0)), ids(ledger, new TransferQuery(10, "alice", FTP, true, null, null, null)));
            assertEquals(List.of(ids.get(2), ids.get(1), ids.get(0)),
                    ids(ledger, new TransferQuery(10, null, null, null, null, fourth, null)));
            assertEquals(List.of(ids.get(3)), ids(ledger, new TransferQuery(10, null, null, null, fourth, fourth.plusSeconds(1), null)));

            // pages of two, then of one across the transfers of the same millisecond
            List<String> newestFirst = List.of(same.get(0), same.get(1), ids.get(4), ids.get(3), ids.get(2), ids.get(1), ids.get(0));
            List<String> paged = new ArrayList<>();
            String before = null;
            for (int page = 0; page < 10; page++) {
                List<String> got = ids(ledger, new TransferQuery(page == 0 ? 1 : 2, null, null, null, null, null, before));
                if (got.isEmpty()) {
                    break;
                }
                paged.addAll(got);
                before = got.get(got.size() - 1);
            }
            assertEquals(newestFirst, paged);
            assertEquals(List.of(), ids(ledger, new TransferQuery(10, null, null, null, null, null, "no-such-id")));
            assertEquals(newestFirst.subList(0, 3), ledger.recent(3, null, null).stream().map(TransferRecord::id).toList());
        } finally {
            ledger.close();
        }
    }

    private static List<String> ids(Ledger ledger, TransferQuery q) throws Exception {
        return ledger.recent(q).stream().map(TransferRecord::id).toList();
    }

    /**
     * While the writer holds a batch open (a commit that takes long), every query answers
     * at once, from what was committed before it; the held write itself does not finish.
     */
    static void queriesDoNotWaitForTheWriter(JdbcLedger ledger) throws Exception {
        SettableClock clock = new SettableClock(T0);
        TransferMeter m = new TransferMeter(ledger, clock);
        Placement copy = new Placement("pool", "alice/p.bin", "m1", 5, Instant.ofEpochMilli(1_000));
        Transfer t = m.start("alice", FTP, Direction.IN, "/p.bin", "pool");
        t.add(5);
        m.end(t, true, new StoredChange("pool", "alice", 5, 1, List.of(), List.of(copy)));
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ledger.holdWriter(entered, release);
        try {
            assertTrue(entered.await(5, TimeUnit.SECONDS), "the writer holds its batch");
            CompletableFuture<Void> write = CompletableFuture.runAsync(() -> {
                try {
                    m.changed(new StoredChange("local", "alice", 1, 1));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            CompletableFuture<List<Object>> reads = CompletableFuture.supplyAsync(() -> {
                try {
                    return List.of(ledger.recent(10, null, null).size(),
                            ledger.recent(new TransferQuery(10, "alice", FTP, true, null, null, null)).size(),
                            ledger.throughput(null, null),
                            ledger.transferred(null, null).get(FTP).get("alice"),
                            ledger.copies("pool", "alice/p.bin"),
                            ledger.under("pool", "alice/", null, 10),
                            ledger.pendingCopies("pool", "alice/p.bin"),
                            ledger.pendingTotals());
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            List<Object> got = reads.get(1, TimeUnit.SECONDS);
            assertEquals(List.of(1, 1,
                    List.of(minute("2026-11-30T10:00:00Z", FTP, Direction.IN, "alice", 5, 1, 0)),
                    new Counters(5, 0, 1, 0, 0, 0), List.of(copy), List.of(copy), List.of(), Map.of()), got);
            try {
                write.get(200, TimeUnit.MILLISECONDS);
                throw new AssertionError("the write finished while the writer was held");
            } catch (TimeoutException expected) {
                assertFalse(write.isDone());
            }
            release.countDown();
            write.get(5, TimeUnit.SECONDS);
        } finally {
            release.countDown();
            ledger.close();
        }
    }

    /**
     * While a query holds a read transaction open in the middle of a scan (a dashboard's
     * slow query), transfers end and commit as usual, each durable before its end
     * returns, and the other read connections see them at once.
     */
    static void commitsDoNotWaitForQueries(JdbcLedger ledger) throws Exception {
        SettableClock clock = new SettableClock(T0);
        TransferMeter m = new TransferMeter(ledger, clock);
        run(m, clock, "alice", FTP, Direction.IN, 1, true, Duration.ofMillis(1));
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Void> reader = CompletableFuture.runAsync(() -> {
            try {
                ledger.holdReader(entered, release);
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        try {
            assertTrue(entered.await(5, TimeUnit.SECONDS), "the reader holds its transaction");
            CompletableFuture<Void> commits = CompletableFuture.runAsync(() -> {
                try {
                    for (int i = 0; i < 100; i++) {
                        run(m, clock, "alice", HTTP, Direction.IN, 10, true, Duration.ofMillis(1));
                    }
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            commits.get(10, TimeUnit.SECONDS);
            assertFalse(reader.isDone(), "the reader was let go early");
            assertEquals(101, ledger.recent(new TransferQuery(1000, "alice", null, null, null, null, null)).size());
            assertEquals(new Counters(1000, 0, 100, 0, 0, 0), ledger.transferred(null, null).get(HTTP).get("alice"));
        } finally {
            release.countDown();
            reader.get(5, TimeUnit.SECONDS);
            ledger.close();
        }
    }
}
