package org.transfergateway.storage.meter;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/** A consistent snapshot of the totals, shaped like the statistics JSON of the SPEC (section 5). */
public record Statistics(
        Instant since,
        Counters transferred,
        Map<String, Counters> byProtocol,
        Map<String, Counters> transferredByUser,
        StoredTotals stored,
        Map<String, StoredTotals> storedByBackend,
        Map<String, StoredTotals> storedByUser,
        List<Active> active) {

    /**
     * A transfer in progress; {@code size} is the bytes expected in all, or -1 when unknown;
     * {@code node} the gateway running it. Another node's {@code bytes} are those it last
     * recorded in the ledger, at most about a second old.
     */
    public record Active(String id, String user, String protocol, String direction, String path, long bytes, long size,
                         Instant startedAt, String node) {
    }
}
