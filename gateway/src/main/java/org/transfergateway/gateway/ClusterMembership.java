package org.transfergateway.gateway;

import java.io.IOException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.ClusterConfig;
import org.transfergateway.storage.meter.Ledger;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * This gateway's place among the nodes sharing its ledger (SPEC section 11): registers it
 * once its listeners are bound and sends its heartbeat every second, on a thread of its
 * own so that a slow progress flush never delays a heartbeat past the lease; where the
 * ledger is shared, reads the other nodes' totals twice a second for the statistics.
 */
final class ClusterMembership implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClusterMembership.class);

    private final Ledger ledger;
    private final ScheduledExecutorService ticker;
    /** Reads the other nodes' totals; apart from the heartbeat, which a slow read must not delay. */
    private final ScheduledExecutorService refresher;
    /** How often the other nodes' totals are read. */
    static final java.time.Duration REFRESH = java.time.Duration.ofMillis(500);

    private ClusterMembership(Ledger ledger) {
        this.ledger = ledger;
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

    /** Registers the node as serving {@code serves} and starts its heartbeat. */
    static ClusterMembership join(Ledger ledger, TransferMeter meter, ClusterConfig config, String serves)
            throws IOException {
        ledger.register(serves, version(), config.lease());
        ClusterMembership m = new ClusterMembership(ledger);
        long every = ClusterConfig.HEARTBEAT.toMillis();
        m.ticker.scheduleAtFixedRate(m::beat, every, every, TimeUnit.MILLISECONDS);
        if (ledger.shared()) {
            // Twice a second: the others' transfers show in the statistics within a second.
            m.refresher.scheduleAtFixedRate(meter::refreshOthers, 0, REFRESH.toMillis(), TimeUnit.MILLISECONDS);
        }
        return m;
    }

    private void beat() {
        try {
            ledger.heartbeat();
        } catch (IOException | RuntimeException e) {
            log.warn("cluster: heartbeat of node {} not recorded: {}", ledger.node(), e.toString());
        }
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
    }
}
