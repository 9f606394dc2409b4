package org.transfergateway.storage.meter;

import java.time.Duration;
import java.time.Instant;

/**
 * One gateway node as the ledger's node registry knows it.
 *
 * @param id        its {@code cluster.node-id}
 * @param startedAt when it last registered (started)
 * @param heartbeat when it last said it lives, by its own clock
 * @param beats     its heartbeats since it registered: others judge it by this count moving,
 *                  on their own clocks, so that clocks that disagree cannot kill a node
 * @param lease     how long it may go without a heartbeat before it counts as dead
 * @param serves    the listeners it serves, e.g. {@code ftp 10.0.0.1:21, http 10.0.0.1:80}
 * @param version   its release
 * @param deadAt    when a live node counted it dead and failed its transfers, or null
 */
public record NodeRecord(String id, Instant startedAt, Instant heartbeat, long beats, Duration lease, String serves,
                         String version, Instant deadAt) {

    /** How long ago its last heartbeat was, as of {@code now}; never negative. */
    public Duration age(Instant now) {
        Duration d = Duration.between(heartbeat, now);
        return d.isNegative() ? Duration.ZERO : d;
    }

    /** Not counted dead, and heard from within its lease as of {@code now}. */
    public boolean alive(Instant now) {
        return deadAt == null && age(now).compareTo(lease) < 0;
    }
}
