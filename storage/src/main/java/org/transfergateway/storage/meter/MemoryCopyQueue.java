package org.transfergateway.storage.meter;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The {@link CopyQueue} of {@link Ledger#inMemory()}: the same rules as the JDBC ledger's
 * table, for one process. Thread-safe.
 */
final class MemoryCopyQueue implements CopyQueue {
    /** This process's name for its claims. */
    private static final String NODE = "local";

    /** One queued task and its scheduling. */
    private static final class Row {
        CopyTask task;
        Instant next;
        String claimedBy;
        Instant claimedUntil;

        Row(CopyTask task, Instant next) {
            this.task = task;
            this.next = next;
        }
    }

    private final Clock clock;
    /** By task id, in the order queued; guarded by {@code this}. */
    private final Map<String, Row> rows = new LinkedHashMap<>();

    MemoryCopyQueue(Clock clock) {
        this.clock = clock;
    }

    /** The row of {@code t} if this process holds it. */
    private Row held(CopyTask t) {
        Row r = rows.get(t.id());
        return r != null && NODE.equals(r.claimedBy) ? r : null;
    }

    /** Applies a recorded change's moves and queues its pending copies, as the JDBC ledger does. */
    synchronized void apply(StoredChange c) {
        if (c == null) {
            return;
        }
        for (StoredChange.KeyMove m : c.removed().isEmpty() ? List.<StoredChange.KeyMove>of() : c.keyMoves()) {
            for (Iterator<Row> it = rows.values().iterator(); it.hasNext(); ) {
                Row r = it.next();
                if (!r.task.pool().equals(m.pool()) || !r.task.key().equals(m.key())) {
                    continue;
                }
                if (m.to() == null) {
                    it.remove();
                } else {
                    CopyTask t = r.task;
                    r.task = new CopyTask(t.id(), t.source().withKey(m.to()), t.target(), t.user(), t.enqueued(), t.attempts());
                    r.claimedBy = null;
                    r.claimedUntil = null;
                }
            }
        }
        Instant now = clock.instant();
        for (PendingCopy p : c.pending()) {
            rows.values().removeIf(r -> r.task.pool().equals(p.source().pool()) && r.task.key().equals(p.source().key())
                    && r.task.target().equals(p.target()));
            CopyTask t = new CopyTask(UUID.randomUUID().toString(), p.source(), p.target(), c.user(), now, 0);
            rows.put(t.id(), new Row(t, now));
        }
    }

    @Override
    public synchronized List<CopyTask> claimCopies(Instant now, Duration lease, int limit) {
        List<Row> due = new ArrayList<>();
        for (Row r : rows.values()) {
            if (!r.next.isAfter(now) && (r.claimedUntil == null || r.claimedUntil.isBefore(now))) {
                due.add(r);
            }
        }
        due.sort(Comparator.comparing(r -> r.next));
        List<CopyTask> out = new ArrayList<>();
        for (Row r : due.subList(0, Math.min(Math.max(0, limit), due.size()))) {
            r.claimedBy = NODE;
            r.claimedUntil = now.plus(lease);
            out.add(r.task);
        }
        return out;
    }

    @Override
    public synchronized boolean renewCopy(CopyTask task, Instant until) {
        Row r = held(task);
        if (r == null) {
            return false;
        }
        r.claimedUntil = until;
        return true;
    }

    /** Removes the task; the ledger records the change with it. */
    @Override
    public synchronized void copied(CopyTask task, StoredChange change) {
        rows.remove(task.id());
    }

    @Override
    public synchronized void retryCopy(CopyTask task, String target, int attempts, Instant next) {
        Row r = held(task);
        if (r == null) {
            return;
        }
        boolean taken = rows.values().stream().anyMatch(o -> o != r && o.task.pool().equals(task.pool())
                && o.task.key().equals(task.key()) && o.task.target().equals(target));
        if (taken) {
            rows.remove(task.id());
            return;
        }
        CopyTask t = r.task;
        r.task = new CopyTask(t.id(), t.source(), target, t.user(), t.enqueued(), attempts);
        r.next = next;
        r.claimedBy = null;
        r.claimedUntil = null;
    }

    @Override
    public synchronized void dropCopy(CopyTask task) {
        if (held(task) != null) {
            rows.remove(task.id());
        }
    }

    @Override
    public synchronized int releaseCopies() {
        int n = 0;
        for (Row r : rows.values()) {
            if (r.claimedBy != null) {
                r.claimedBy = null;
                r.claimedUntil = null;
                n++;
            }
        }
        return n;
    }

    @Override
    public synchronized List<CopyTask> pendingCopies(String pool, String key) {
        List<CopyTask> out = new ArrayList<>();
        for (Row r : rows.values()) {
            if (r.task.pool().equals(pool) && r.task.key().equals(key)) {
                out.add(r.task);
            }
        }
        out.sort(Comparator.comparing(CopyTask::target));
        return out;
    }

    @Override
    public synchronized Map<String, PendingTotals> pendingTotals() {
        Map<String, PendingTotals> out = new HashMap<>();
        for (Row r : rows.values()) {
            CopyTask t = r.task;
            out.merge(t.pool(), new PendingTotals(1, t.source().size(), t.enqueued()), (a, b) -> new PendingTotals(
                    a.copies() + b.copies(), a.bytes() + b.bytes(),
                    a.oldest().isBefore(b.oldest()) ? a.oldest() : b.oldest()));
        }
        return out;
    }
}
