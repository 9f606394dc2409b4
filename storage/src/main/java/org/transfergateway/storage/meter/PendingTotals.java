package org.transfergateway.storage.meter;

import java.time.Instant;

/**
 * The copies a pool has still to make.
 *
 * @param copies the pending copies
 * @param bytes  their bytes
 * @param oldest when the oldest of them was queued, or null when there are none
 */
public record PendingTotals(long copies, long bytes, Instant oldest) {
    public static final PendingTotals NONE = new PendingTotals(0, 0, null);
}
