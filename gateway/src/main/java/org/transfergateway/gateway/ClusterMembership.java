package org.transfergateway.gateway;

import java.io.IOException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.ClusterConfig;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.meter.Ledger;
import org.transfergateway.storage.meter.NodeRecord;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * This gateway's place among the nodes sharing its ledger (SPEC section 11): registers it
 * once its listeners are bound and sends its heartbeat every second, on a thread of its
 * own so that a slow progress flush never delays a heartbeat past the lease; where the
 * ledger is shared, reads the other nodes' totals (for the statistics) and the login bans
 * of every node twice a second, and counts dead the nodes that stopped heartbeating,
 * failing their transfers (one live node does it, exactly once: see {@link Ledger#failDead}).
 */
final class ClusterMembership implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClusterMembership.class);

    private final Ledger ledger;
    private final Map<String, Storage> backends;
    /** Each other node's heartbeat count and when (System.nanoTime) it was first seen at it; ticker thread only. */
    private final Map<String, long[]> seen = new HashMap<>();
    private final ScheduledExecutorService ticker;
    /** Said once: this node found itself counted dead; ticker thread only. */
    private boolean countedDead;
    /** Reads the other nodes' totals; apart from the heartbeat, which a slow read must not delay. */
    private final ScheduledExecutorService refresher;
    /** How often the other nodes' totals are read. */
    static final java.time.Duration REFRESH = java.time.Duration.ofMillis(500);

    private ClusterMembership(Ledger ledger, Map<String, Storage> backends) {
        this.ledger = ledger;
        this.backends = backends;
        this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "cluster-heartbeat");
            t.setDaemon(true);
            return t;
        });
        this.refresher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "cluster-totals");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Records the node as serving {@code serves} and starts its heartbeat; {@code refreshBans}
     * reads the login bans of every node, twice a second where the ledger is shared.
     */
    static ClusterMembership join(Ledger ledger, TransferMeter meter, Map<String, Storage> backends, ClusterConfig config,
                                  String serves, Runnable refreshBans) {
        ClusterMembership m = new ClusterMembership(ledger, backends);
        // The node registered (with no listeners) before it recovered; what it serves is
        // added by the heartbeat thread, so that start-up ends as soon as it listens.
        m.ticker.execute(() -> {
            try {
                ledger.register(serves, version(), config.lease());
            } catch (IOException | RuntimeException e) {
                log.warn("cluster: node {} could not record what it serves: {}", ledger.node(), e.toString());
            }
        });
        long every = ClusterConfig.HEARTBEAT.toMillis();
        m.ticker.scheduleAtFixedRate(m::beat, every, every, TimeUnit.MILLISECONDS);
        if (ledger.shared()) {
            // Twice a second: the others' transfers show in the statistics within a second.
            m.refresher.scheduleAtFixedRate(meter::refreshOthers, 0, REFRESH.toMillis(), TimeUnit.MILLISECONDS);
            // A ban made on one node holds on this one within a second.
            m.refresher.scheduleAtFixedRate(refreshBans, 0, REFRESH.toMillis(), TimeUnit.MILLISECONDS);
        }
        return m;
    }

    private void beat() {
        try {
            if (!ledger.heartbeat() && !countedDead) {
                countedDead = true;
                log.error("cluster: another node counted node {} dead (no heartbeat for its lease) and failed its"
                        + " transfers; restart this gateway, and give cluster.lease more time than its pauses", ledger.node());
            }
        } catch (IOException | RuntimeException e) {
            log.warn("cluster: heartbeat of node {} not recorded: {}", ledger.node(), e.toString());
            return; // a node that cannot beat may be the one cut off: it judges no other
        }
        if (ledger.shared()) {
            watch(System.nanoTime());
        }
    }

    /**
     * Counts dead each other node whose heartbeat count has not moved for its lease, as
     * seen on this node's clock (so nodes' clocks need not agree), and aborts the multipart
     * uploads of the transfers that failed with it. A node first seen now gets a full lease.
     */
    void watch(long nowNanos) {
        List<NodeRecord> nodes;
        try {
            nodes = ledger.nodes();
        } catch (IOException | RuntimeException e) {
            log.warn("cluster: the node registry could not be read: {}", e.toString());
            return;
        }
        Set<String> present = new HashSet<>();
        for (NodeRecord n : nodes) {
            if (n.id().equals(ledger.node()) || n.deadAt() != null) {
                continue;
            }
            present.add(n.id());
            long[] last = seen.get(n.id());
            if (last == null || last[0] != n.beats()) {
                seen.put(n.id(), new long[] {n.beats(), nowNanos});
                continue;
            }
            if (nowNanos - last[1] < n.lease().toNanos()) {
                continue;
            }
            try {
                Ledger.DeadNode dead = ledger.failDead(n.id(), n.beats());
                seen.remove(n.id());
                if (dead != null) {
                    log.warn("cluster: node {} sent no heartbeat for {} s (its lease); {} of its transfers failed, {}"
                            + " multipart uploads to abort", n.id(), n.lease().toSeconds(), dead.transfers(), dead.uploads().size());
                    Gateway.abortUploads(ledger, backends, dead.uploads(), "node " + n.id() + " left open when it stopped");
                }
            } catch (IOException | RuntimeException e) {
                log.warn("cluster: could not fail the transfers of node {}: {}", n.id(), e.toString());
            }
        }
        seen.keySet().retainAll(present);
    }

    /** This release, as the jar's manifest names it ({@code dev} when run from classes). */
    static String version() {
        String v = ClusterMembership.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    @Override
    public void close() {
        ticker.shutdownNow();
        refresher.shutdownNow();
        try {
            ticker.awaitTermination(5, TimeUnit.SECONDS);
            refresher.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        ledger.deregister(); // a node stopped on purpose leaves the list, not counted dead
    }
}
