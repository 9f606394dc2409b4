package org.transfergateway.gateway;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.transfergateway.config.BackendConfig;
import org.transfergateway.config.BackendTypes;
import org.transfergateway.config.PoolConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.protocols.http.BackendsView;
import org.transfergateway.storage.meter.StoredTotals;
import org.transfergateway.storage.meter.TransferMeter;
import org.transfergateway.storage.pool.PoolStorage;

/**
 * What {@code GET /api/backends} shows: the configured backends and pools with their live
 * state from {@link Backends} and their stored totals from the {@link TransferMeter}. Asks
 * no backend anything, so it answers at once even when a backend hangs.
 */
final class BackendsReport implements Supplier<BackendsView> {
    private final StorageConfig storage;
    private final Backends backends;
    private final TransferMeter meter;

    /** @param backends opened, with their pools */
    BackendsReport(StorageConfig storage, Backends backends, TransferMeter meter) {
        this.storage = storage;
        this.backends = backends;
        this.meter = meter;
    }

    @Override
    public BackendsView get() {
        List<BackendsView.Backend> list = new ArrayList<>();
        for (BackendConfig b : storage.backends()) {
            BackendState state = backends.state(b.name());
            StoredTotals stored = meter.storedOf(b.name());
            list.add(new BackendsView.Backend(b.name(), BackendTypes.typeOf(b).name(), state.healthy(), stored.bytes(),
                    stored.objects(), state.outstandingBytes(), state.latencyMillis(0.5), state.latencyMillis(0.99),
                    state.errors()));
        }
        List<BackendsView.Pool> pools = new ArrayList<>();
        for (PoolConfig p : storage.pools()) {
            PoolStorage pool = backends.pools().get(p.name());
            StoredTotals stored = meter.storedOf(p.name());
            ReplicationLag lag = backends.lag(p.name());
            pools.add(new BackendsView.Pool(p.name(), pool.policy(), p.backends(), pool.replicas(), p.replication().id(),
                    stored.bytes(), stored.objects(), lag.pending(), lag.pendingBytes(), lag.oldestSeconds()));
        }
        return new BackendsView(list, pools);
    }
}
