package org.transfergateway.storage.meter;

import java.time.Instant;

/** A finished transfer as the ledger keeps it. */
public record TransferRecord(
        String id,
        String user,
        Protocol protocol,
        Direction direction,
        String path,
        String backend,
        long bytes,
        boolean succeeded,
        Instant startedAt,
        Instant endedAt) {
}
