package org.transfergateway.gateway;

import java.io.IOException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.ClusterConfig;
import org.transfergateway.storage.meter.Ledger;

/**
 * This gateway's place among the nodes sharing its ledger (SPEC section 11): registers it
 * once its listeners are bound and sends its heartbeat every second, on a thread of its
 * own so that a slow progress flush never delays a heartbeat past the lease.
 */
final class ClusterMembership implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClusterMembership.class);

    private final Ledger ledger;
    private final ScheduledExecutorService ticker;

    private ClusterMembership(Ledger ledger) {
        this.ledger = ledger;
        this.ticker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "cluster-heartbeat");
            t.setDaemon(true);
            return t;
        });
    }

    /** Registers the node as serving {@code serves} and starts its heartbeat. */
    static ClusterMembership join(Ledger ledger, ClusterConfig config, String serves) throws IOException {
        ledger.register(serves, version(), config.lease());
        ClusterMembership m = new ClusterMembership(ledger);
        long every = ClusterConfig.HEARTBEAT.toMillis();
        m.ticker.scheduleAtFixedRate(m::beat, every, every, TimeUnit.MILLISECONDS);
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
        try {
            ticker.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
