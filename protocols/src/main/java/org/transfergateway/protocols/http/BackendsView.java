package org.transfergateway.protocols.http;

import java.util.List;

/**
 * What {@code GET /api/backends} reports (SPEC section 6): every configured backend, in
 * config order, and every pool. The HTTP front end only renders it; whoever wires the
 * backends supplies a new view per request, from live state and counted totals only, so
 * taking one asks no backend anything.
 */
public record BackendsView(List<Backend> backends, List<Pool> pools) {

    /** No backends and no pools: for a front end that is not told of any. */
    public static final BackendsView NONE = new BackendsView(List.of(), List.of());

    public BackendsView {
        backends = List.copyOf(backends);
        pools = List.copyOf(pools);
    }

    /**
     * One backend.
     *
     * @param type             its {@code type} in the config, e.g. {@code local}, {@code s3}
     * @param healthy          false while a pool that has it as a member counts it unhealthy
     * @param storedBytes      what it holds through the gateway: its own objects plus the copies pools keep on it
     * @param objects          the objects of {@code storedBytes}
     * @param outstandingBytes bytes of the transfers in flight on it, as its pools count them
     * @param latencyP50Millis the median latency of its recent successful operations
     * @param latencyP99Millis their 99th percentile
     * @param errors           failed operations since the gateway started
     */
    public record Backend(String name, String type, boolean healthy, long storedBytes, long objects,
                          long outstandingBytes, double latencyP50Millis, double latencyP99Millis, long errors) {
    }

    /**
     * One pool.
     *
     * @param policy          its placement policy's id, e.g. {@code round-robin}
     * @param backends        its member backends, in config order
     * @param replicas        copies of each object
     * @param replication     {@code sync} or {@code async}
     * @param storedBytes     what its users store, each object once whatever its copies
     * @param objects         the objects of {@code storedBytes}
     * @param pendingCopies   copies still to be made
     * @param pendingBytes    the bytes of {@code pendingCopies}
     * @param oldestPendingSeconds how long the oldest pending copy has waited; 0 when none waits
     */
    public record Pool(String name, String policy, List<String> backends, int replicas, String replication,
                       long storedBytes, long objects, long pendingCopies, long pendingBytes, long oldestPendingSeconds) {
        public Pool {
            backends = List.copyOf(backends);
        }
    }
}
