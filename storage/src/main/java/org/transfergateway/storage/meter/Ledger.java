package org.transfergateway.storage.meter;

import java.io.IOException;
import java.time.Instant;
import java.util.Map;

/**
 * Where finished transfers and stored totals are kept beyond the life of the process.
 * {@link TransferMeter} calls it before it changes its in-memory totals, so a transfer
 * that the ledger refused is not counted in memory either.
 */
public interface Ledger extends AutoCloseable {

    /** The totals to start from. */
    State load() throws IOException;

    /** Records a transfer that has started, so that a crash can later find it unfinished. */
    void started(Transfer transfer) throws IOException;

    /**
     * Records the byte counts of transfers in progress, so that after a crash an
     * interrupted transfer shows the bytes it had received, at most a second old.
     */
    default void progress(java.util.Collection<Transfer> active) throws IOException {
    }

    /** Records a finished transfer and its stored change together, once. */
    void finished(TransferRecord record, StoredChange change) throws IOException;

    /** Records a stored change that no transfer caused (a delete, a rename over a file). */
    void changed(StoredChange change) throws IOException;

    @Override
    void close();

    /**
     * Totals as loaded: transferred counters keyed by protocol and user, stored totals
     * keyed by backend and user.
     */
    record State(Instant since,
                 Map<Protocol, Map<String, Counters>> transferred,
                 Map<String, Map<String, StoredTotals>> stored) {
    }

    /** Keeps nothing: totals live as long as the process. */
    static Ledger inMemory() {
        Instant since = Instant.now();
        return new Ledger() {
            @Override
            public State load() {
                return new State(since, Map.of(), Map.of());
            }

            @Override
            public void started(Transfer transfer) {
            }

            @Override
            public void finished(TransferRecord record, StoredChange change) {
            }

            @Override
            public void changed(StoredChange change) {
            }

            @Override
            public void close() {
            }
        };
    }
}
