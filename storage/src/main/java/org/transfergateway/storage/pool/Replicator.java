package org.transfergateway.storage.pool;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.meter.CommitLocks;
import org.transfergateway.storage.meter.CopyQueue;
import org.transfergateway.storage.meter.CopyTask;
import org.transfergateway.storage.meter.PendingTotals;
import org.transfergateway.storage.meter.Placement;
import org.transfergateway.storage.meter.StoredChange;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * Makes the copies that pools with {@code replication: async} queue in the ledger
 * ({@link CopyQueue}): one per gateway, over all its pools, with a few worker threads.
 *
 * <p>A worker claims a due task, streams the object from the source member
 * ({@link Storage#read}) into the target member ({@link Storage#create}, written in chunks of
 * {@link #CHUNK} bytes, never the whole object in memory) and, holding the key's commit lock
 * ({@link TransferMeter#commitLocks()}), checks that the task is still pending for the key
 * (the change that overwrites, deletes or renames an object ends or moves its tasks in the
 * same transaction, under the same lock) and that the target holds no copy yet; only then
 * does it commit the copy on the target and record it: the new placement (zero logical
 * bytes: it moves the member's copy totals) and the task's removal, in one ledger
 * transaction. If the object was overwritten, deleted or renamed meanwhile, the copy is
 * aborted before it was ever visible (an overwrite has queued its own tasks, a rename
 * carried the task to the new key, where it is taken up again). Ordered with commits by
 * the lock, a copy is recorded at most once, and never for an object that has changed:
 * a change that reached the source before the read was recorded before the check.
 *
 * <p>A failed attempt is retried after {@link Settings#firstRetry}, doubled at each failure
 * up to {@link Settings#maxRetry}. A target that is unhealthy (or no longer a member) is
 * replaced by another healthy member that holds no copy and is no other task's target;
 * without one the task waits, backing off the same way.
 *
 * <p>Restarts: tasks are rows of the ledger, so they survive a stop, {@code kill -9}
 * included. At start this gateway's claims are released and the workers take them up; a
 * claim of another gateway is taken over once its lease has run out (the workers renew the
 * leases of the copies they make). With gateways sharing a PostgreSQL ledger, a task is
 * claimed by one at a time (a conditional update), and the commit lock (an advisory lock
 * there) keeps the check-and-record exact even when a lease ran out while its copy was
 * still running: the second copy finds the first recorded and is aborted.
 */
public final class Replicator implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Replicator.class);

    /** Bytes read from the source and written to the target at a time. */
    static final int CHUNK = 64 * 1024;

    /**
     * @param workers    threads that copy
     * @param firstRetry the wait after a first failed attempt, doubled at each further one
     * @param maxRetry   the longest wait between attempts
     * @param lease      how long a claim holds without renewal (a stopped gateway's claims
     *                   are taken over after it)
     * @param poll       how often idle workers look for due tasks (a commit that queues
     *                   copies wakes them at once)
     */
    public record Settings(int workers, Duration firstRetry, Duration maxRetry, Duration lease, Duration poll) {
        public static final Settings DEFAULT = new Settings(2, Duration.ofSeconds(1), Duration.ofMinutes(5),
                Duration.ofMinutes(2), Duration.ofSeconds(1));

        public Settings {
            if (workers < 1) {
                throw new IllegalArgumentException("workers: " + workers + " is below 1");
            }
            for (Duration d : List.of(firstRetry, maxRetry, lease, poll)) {
                if (d.isNegative() || d.isZero()) {
                    throw new IllegalArgumentException("replicator durations must be positive: " + d);
                }
            }
            if (maxRetry.compareTo(firstRetry) < 0) {
                throw new IllegalArgumentException("maxRetry " + maxRetry + " is below firstRetry " + firstRetry);
            }
        }

        /** The wait after the {@code attempts}-th failed attempt: firstRetry, doubled each time, at most maxRetry. */
        Duration backoff(int attempts) {
            int doublings = Math.max(0, Math.min(attempts - 1, 30));
            long millis = firstRetry.toMillis() << doublings;
            return millis <= 0 || millis > maxRetry.toMillis() ? maxRetry : Duration.ofMillis(millis);
        }
    }

    private final Map<String, PoolStorage> pools = new LinkedHashMap<>();
    private final TransferMeter meter;
    private final CopyQueue queue;
    private final Settings settings;
    private final Clock clock = Clock.systemUTC();
    private final List<Thread> workers = new ArrayList<>();
    /** Tasks being worked on now. */
    private final java.util.concurrent.atomic.AtomicInteger working = new java.util.concurrent.atomic.AtomicInteger();
    /** Wakes the idle workers; {@code woken} is guarded by it. */
    private final Object signal = new Object();
    private boolean woken;
    private volatile boolean closed;
    /** The queue's totals as last read, and when; guarded by {@code this}. */
    private Map<String, PendingTotals> totals = Map.of();
    private long totalsReadAt = Long.MIN_VALUE;

    /** @param pools every pool of the gateway: a pool that was async once may still have tasks */
    public Replicator(Collection<PoolStorage> pools, TransferMeter meter, Settings settings) {
        for (PoolStorage p : pools) {
            this.pools.put(p.name(), p);
        }
        this.meter = meter;
        this.queue = meter.copyQueue();
        this.settings = settings;
    }

    /** Releases this gateway's claims left by its last run, then starts the workers. */
    public synchronized void start() throws IOException {
        if (closed || !workers.isEmpty()) {
            throw new IllegalStateException("the replicator is " + (closed ? "closed" : "running"));
        }
        int released = queue.releaseCopies();
        if (released > 0) {
            log.info("replication: {} copies claimed before the last stop are due again", released);
        }
        meter.onCopiesQueued(this::wake);
        for (int i = 1; i <= settings.workers(); i++) {
            Thread t = new Thread(this::work, "replicator-" + i);
            t.setDaemon(true);
            workers.add(t);
            t.start();
        }
    }

    /** Makes the idle workers look for due tasks now. */
    public void wake() {
        synchronized (signal) {
            woken = true;
            signal.notifyAll();
        }
    }

    /** The copies {@code pool} has still to make, as the ledger's queue held them at most a second ago. */
    public synchronized PendingTotals pending(String pool) {
        long now = System.nanoTime();
        if (totalsReadAt == Long.MIN_VALUE || now - totalsReadAt > 1_000_000_000L) {
            try {
                totals = queue.pendingTotals();
                totalsReadAt = now;
            } catch (IOException e) {
                log.warn("replication: the queue cannot be read: {}", e.getMessage());
            }
        }
        return totals.getOrDefault(pool, PendingTotals.NONE);
    }

    /** The tasks this gateway's workers are on now, copying or rescheduling. */
    public int working() {
        return working.get();
    }

    /**
     * Stops the workers: a copy in progress is aborted at its next chunk and its task handed
     * back, due at once. Waits a few seconds for them; a worker stuck in a backend call is
     * left to end on its own (its task's claim runs out, or is released at the next start).
     */
    @Override
    public void close() {
        closed = true;
        wake();
        List<Thread> running;
        synchronized (this) {
            running = List.copyOf(workers);
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        for (Thread t : running) {
            try {
                t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    private void work() {
        while (!closed) {
            List<CopyTask> claimed;
            try {
                claimed = queue.claimCopies(clock.instant(), settings.lease(), 1);
            } catch (IOException | RuntimeException e) {
                log.warn("replication: cannot claim copies: {}", e.getMessage());
                claimed = List.of();
            }
            if (claimed.isEmpty()) {
                idle();
                continue;
            }
            for (CopyTask t : claimed) {
                working.incrementAndGet();
                try {
                    copy(t);
                } finally {
                    working.decrementAndGet();
                }
            }
        }
    }

    private void idle() {
        synchronized (signal) {
            if (!woken && !closed) {
                try {
                    signal.wait(Math.max(1, settings.poll().toMillis()));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    closed = true;
                }
            }
            woken = false;
        }
    }

    /** The task changed under this worker: dropped, renamed, or taken over after its lease. */
    private static final class TaskGone extends IOException {
        private static final long serialVersionUID = 1L;

        TaskGone() {
            super("the task is no longer this gateway's", null);
        }
    }

    /** Stopping: the copy in progress ends here. */
    private static final class Stopping extends IOException {
        private static final long serialVersionUID = 1L;

        Stopping() {
            super("the replicator is stopping", null);
        }
    }

    /** Makes one claimed task's copy, or drops, reschedules or hands back the task. */
    private void copy(CopyTask t) {
        PoolStorage pool = pools.get(t.pool());
        if (pool == null) {
            log.warn("replication: pool {} is not configured; the copy of {} to {} waits", t.pool(), t.key(), t.target());
            retry(t, t.target(), t.attempts() + 1);
            return;
        }
        Member target = pool.member(t.target());
        try {
            if (target == null || !target.healthy()) {
                Member other = otherTarget(pool, t);
                if (other == null) {
                    log.debug("pool {}: no healthy member can take the copy of {} now; it waits", pool.name(), t.key());
                    retry(t, t.target(), t.attempts() + 1);
                    return;
                }
                log.info("pool {}: the copy of {} goes to {} instead of {}, which is {}", pool.name(), t.key(),
                        other.name(), t.target(), target == null ? "no longer a member" : "unhealthy");
                target = other;
            }
            if (transfer(pool, t, target)) {
                log.debug("pool {}: copied {} from {} to {}", pool.name(), t.key(), t.source().backend(), target.name());
            }
        } catch (TaskGone e) {
            log.debug("pool {}: the copy of {} to {} was dropped or moved meanwhile", pool.name(), t.key(), t.target());
        } catch (Stopping e) {
            handBack(t, target == null ? t.target() : target.name());
        } catch (IOException | RuntimeException e) {
            if (closed) {
                handBack(t, target == null ? t.target() : target.name());
                return;
            }
            int attempts = t.attempts() + 1;
            log.warn("pool {}: copying {} from {} to {} failed (attempt {}; next in {} ms): {}", pool.name(), t.key(),
                    t.source().backend(), target == null ? t.target() : target.name(), attempts,
                    settings.backoff(attempts).toMillis(), e.toString());
            retry(t, target == null ? t.target() : target.name(), attempts);
        }
    }

    private void retry(CopyTask t, String target, int attempts) {
        reschedule(t, target, attempts, clock.instant().plus(settings.backoff(attempts)));
    }

    /** Gives a task back unchanged and due at once: this gateway stops. */
    private void handBack(CopyTask t, String target) {
        reschedule(t, target, t.attempts(), clock.instant());
    }

    private void reschedule(CopyTask t, String target, int attempts, Instant next) {
        try {
            queue.retryCopy(t, target, attempts, next);
        } catch (IOException | RuntimeException e) {
            // Its claim runs out after the lease, or at the next start.
            log.warn("replication: cannot reschedule the copy of {}: {}", t.key(), e.getMessage());
        }
    }

    /**
     * A healthy member for the copy instead of its target: in the policy's order, one that
     * holds no copy of the key and is no other pending task's target; null when there is none.
     */
    private Member otherTarget(PoolStorage pool, CopyTask t) throws IOException {
        List<Placement> copies = pool.placementsOf(t.key());
        List<CopyTask> others = queue.pendingCopies(t.pool(), t.key());
        for (Member m : pool.candidates(t.key())) {
            boolean holds = copies.stream().anyMatch(p -> p.backend().equals(m.name()));
            boolean taken = others.stream().anyMatch(o -> o.target().equals(m.name()) && !o.id().equals(t.id()));
            if (!holds && !taken && !m.name().equals(t.target())) {
                return m;
            }
        }
        return null;
    }

    /**
     * Whether {@code t} is still pending for its key: no overwrite, delete or rename of the
     * object has been recorded since it was queued (each ends or moves the key's tasks).
     */
    private boolean wanted(CopyTask t) throws IOException {
        return queue.pendingCopies(t.pool(), t.key()).stream().anyMatch(o -> o.id().equals(t.id()));
    }

    private static boolean holds(List<Placement> copies, Member m) {
        return copies.stream().anyMatch(p -> p.backend().equals(m.name()));
    }

    /**
     * Has the service copy the object when source and target are buckets of one S3
     * service: no byte passes through the gateway. Under the key's commit lock, since the
     * copy is visible as soon as it is made. Null when the target cannot copy from that
     * source (the caller streams), else as {@link #transfer}.
     */
    private Boolean copyOnTheService(PoolStorage pool, CopyTask t, Storage from, Storage to, Member target)
            throws IOException {
        String key = t.key();
        try (CommitLocks.Held turn = meter.commitLocks().lock(pool.name(), key)) {
            if (!wanted(t)) {
                throw new TaskGone();
            }
            if (holds(pool.placementsOf(key), target)) {
                queue.dropCopy(t);
                return false;
            }
            // Timed only when the service copies: a "cannot" is no request, and must not
            // reset the count of a failing target's failures.
            long start = System.nanoTime();
            ObjectInfo info;
            try {
                info = to.copyFrom(from, key);
            } catch (org.transfergateway.storage.GatewayException e) {
                if (PoolStorage.memberFault(e.code())) {
                    target.failed();
                }
                throw e;
            } catch (IOException | RuntimeException e) {
                target.failed();
                throw e;
            }
            if (info == null) {
                return null;
            }
            target.succeeded(System.nanoTime() - start);
            if (info.size() != t.source().size()) {
                pool.dropStale(key, target.name());
                throw new IOException("the copy on " + t.source().backend() + " holds " + info.size() + " of the "
                        + t.source().size() + " bytes recorded");
            }
            try {
                meter.copied(t, new StoredChange(pool.name(), t.user(), 0, 0, List.of(),
                        List.of(t.on(target.name(), info.modified()))));
            } catch (IOException | RuntimeException e) {
                pool.dropStale(key, target.name());
                throw e;
            }
            return true;
        }
    }

    /**
     * Copies the object from the task's source onto {@code target} and records it; false
     * when the task was dropped instead (its source has changed, or the target holds a copy).
     */
    private boolean transfer(PoolStorage pool, CopyTask t, Member target) throws IOException {
        String key = t.key();
        if (!wanted(t)) {
            throw new TaskGone();
        }
        if (holds(pool.placementsOf(key), target)) {
            queue.dropCopy(t);
            return false;
        }
        Member source = pool.member(t.source().backend());
        if (source == null) {
            throw new IOException("the source " + t.source().backend() + " is not a member of the pool");
        }
        Storage from = pool.storage(source.name());
        Storage to = pool.storage(target.name());
        Boolean byService = copyOnTheService(pool, t, from, to, target);
        if (byService != null) {
            return byService;
        }
        InputStream in = PoolStorage.timed(source, () -> from.read(key, 0, -1));
        if (in == null) {
            throw new IOException("the copy on " + source.name() + " is missing");
        }
        long size = t.source().size();
        Upload up = null;
        long outstanding = 0;
        long renewAt = System.nanoTime() + settings.lease().toNanos() / 3;
        try (in) {
            up = PoolStorage.timed(target, () -> to.create(key, size));
            byte[] chunk = new byte[CHUNK];
            long copied = 0;
            while (true) {
                if (closed) {
                    throw new Stopping();
                }
                int n;
                try {
                    n = in.readNBytes(chunk, 0, chunk.length);
                } catch (IOException e) {
                    source.failed();
                    throw e;
                }
                if (n == 0) {
                    break;
                }
                if (copied + n > size) {
                    throw new IOException("the copy on " + source.name() + " holds more than the " + size + " bytes recorded");
                }
                try {
                    up.write(ByteBuffer.wrap(chunk, 0, n));
                } catch (IOException e) {
                    target.failed();
                    throw e;
                }
                target.addOutstandingBytes(n);
                outstanding += n;
                copied += n;
                if (System.nanoTime() - renewAt > 0) {
                    if (!queue.renewCopy(t, clock.instant().plus(settings.lease()))) {
                        throw new TaskGone();
                    }
                    renewAt = System.nanoTime() + settings.lease().toNanos() / 3;
                }
            }
            if (copied != size) {
                throw new IOException("the copy on " + source.name() + " holds " + copied + " of the " + size + " bytes recorded");
            }
            try (CommitLocks.Held turn = meter.commitLocks().lock(pool.name(), key)) {
                // What was read is this task's object, unless a change recorded meanwhile says otherwise.
                if (!wanted(t)) {
                    up.abort();
                    throw new TaskGone();
                }
                if (holds(pool.placementsOf(key), target)) {
                    up.abort();
                    queue.dropCopy(t);
                    return false;
                }
                Upload confirmed = up;
                ObjectInfo info = PoolStorage.timed(target, confirmed::commit);
                Placement added = t.on(target.name(), info.modified());
                try {
                    meter.copied(t, new StoredChange(pool.name(), t.user(), 0, 0, List.of(), List.of(added)));
                } catch (IOException | RuntimeException e) {
                    // Not recorded, so not wanted: the next attempt makes it again.
                    pool.dropStale(key, target.name());
                    throw e;
                }
                return true;
            }
        } finally {
            if (up != null) {
                up.abort(); // a no-op once committed
            }
            target.subtractOutstandingBytes(outstanding);
        }
    }
}
