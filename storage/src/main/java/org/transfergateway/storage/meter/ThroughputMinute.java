package org.transfergateway.storage.meter;

import java.time.Instant;

/**
 * What one user moved through one protocol in one direction during one minute: the
 * transfers that ended in that minute, each counted whole in it (a transfer's bytes count
 * in the minute it ended, however long it ran), with the counting of {@link Counters}:
 * {@code bytes} of every transfer, failed ones included; {@code files} the completed ones,
 * {@code failed} the others.
 *
 * @param minute the start of the minute (UTC, whole minutes)
 */
public record ThroughputMinute(Instant minute, Protocol protocol, Direction direction, String user,
                               long bytes, long files, long failed) {

    /** The start of the minute that holds {@code t}. */
    public static Instant minuteOf(Instant t) {
        return Instant.ofEpochMilli(Math.floorDiv(t.toEpochMilli(), 60_000L) * 60_000L);
    }

    /** A finished transfer, alone in the minute it ended. */
    public static ThroughputMinute of(TransferRecord r) {
        return new ThroughputMinute(minuteOf(r.endedAt()), r.protocol(), r.direction(), r.user(), r.bytes(),
                r.succeeded() ? 1 : 0, r.succeeded() ? 0 : 1);
    }

    /** The sums of two rows of the same minute, protocol and direction; the user is {@code user}. */
    public ThroughputMinute plus(ThroughputMinute o, String user) {
        return new ThroughputMinute(minute, protocol, direction, user, bytes + o.bytes, files + o.files, failed + o.failed);
    }
}
