package org.transfergateway.storage.meter;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * The durable queue of the copies that pools with {@code replication: async} still have to
 * make, kept by the ledger. A commit queues its copies in the transaction that records it
 * ({@link StoredChange#pending()}); the change that deletes or overwrites the object drops
 * them in its own transaction, and a rename carries them to the new key.
 *
 * <p>A task is worked on by one gateway at a time: it claims the task for a lease and
 * renews the lease while it copies. A claim whose lease has run out (its gateway stopped)
 * can be claimed again; a claim is a compare-and-set on the row, so two gateways sharing
 * the database never both hold one. Each task has an id of its own ({@link CopyTask#id()}):
 * while a task of that id is pending for a key, the object has not been overwritten or
 * deleted since the task was queued. A call about a task that has since been dropped does
 * nothing.
 */
public interface CopyQueue {

    /**
     * Claims for this gateway at most {@code limit} tasks due at {@code now} (the oldest due
     * first) that no gateway holds, or whose claim's lease ran out, each until
     * {@code now + lease}.
     */
    List<CopyTask> claimCopies(Instant now, Duration lease, int limit) throws IOException;

    /** Extends this gateway's claim on {@code task} until {@code until}; false when it no longer holds it. */
    boolean renewCopy(CopyTask task, Instant until) throws IOException;

    /**
     * Records the copy made: {@code change} (the new placement, zero logical bytes) and the
     * task's removal, in one transaction. Through {@link TransferMeter#copied}, so that the
     * meter's totals follow.
     */
    void copied(CopyTask task, StoredChange change) throws IOException;

    /**
     * Hands {@code task}, if this gateway holds it, back for another attempt: onto
     * {@code target}, with {@code attempts} attempts failed so far, not before {@code next}.
     * This gateway's claim ends. Should another task of the key have {@code target} already,
     * this one ends instead.
     */
    void retryCopy(CopyTask task, String target, int attempts, Instant next) throws IOException;

    /** Removes {@code task}, if this gateway holds it: its copy is not wanted any more (the target has one). */
    void dropCopy(CopyTask task) throws IOException;

    /**
     * Ends this gateway's claims (every claim, in a database one process holds): what it had
     * claimed before it stopped is due again at once. For a starting gateway. Returns how many.
     */
    int releaseCopies() throws IOException;

    /** The tasks pending for {@code key} of {@code pool}, by target. */
    List<CopyTask> pendingCopies(String pool, String key) throws IOException;

    /** Per pool, the copies pending; a pool with none is absent. */
    Map<String, PendingTotals> pendingTotals() throws IOException;
}
