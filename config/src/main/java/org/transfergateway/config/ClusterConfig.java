package org.transfergateway.config;

import java.time.Duration;

/**
 * What sets this gateway apart from the others that share its ledger.
 *
 * @param nodeId the name under which this gateway records its transfers: after a crash
 *               it recovers only those, never another gateway's (default: the host name)
 * @param lease  how long a node may go without a heartbeat (one a second) before the
 *               others count it dead and fail its unfinished transfers (default 10 s)
 */
public record ClusterConfig(String nodeId, Duration lease) {
    public static final Duration DEFAULT_LEASE = Duration.ofSeconds(10);
    /** How often a node tells the ledger it lives: a lease must outlast two of them. */
    public static final Duration HEARTBEAT = Duration.ofSeconds(1);

    public ClusterConfig(String nodeId) {
        this(nodeId, DEFAULT_LEASE);
    }
}
