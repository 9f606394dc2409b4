package org.transfergateway.gateway;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.BackendConfig;
import org.transfergateway.config.ConfigException;
import org.transfergateway.config.GatewayConfig;
import org.transfergateway.config.PoolConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.meter.Placements;
import org.transfergateway.storage.meter.TransferMeter;
import org.transfergateway.storage.pool.HealthProber;
import org.transfergateway.storage.pool.Member;
import org.transfergateway.storage.pool.PlacementPolicy;
import org.transfergateway.storage.pool.PoolStorage;
import org.transfergateway.storage.pool.Replicator;
import org.transfergateway.storage.meter.PendingTotals;
import org.transfergateway.storage.BackendFactories;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.s3.MemoryBudget;

/**
 * The configured backends, opened in order by their type's factory and sharing one memory
 * budget. A backend that cannot be opened is a {@link ConfigException} naming it: an
 * unreachable bucket at start-up is a user mistake, not a crash.
 */
final class Backends implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Backends.class);

    private final Map<String, Storage> backends = new LinkedHashMap<>();
    private final Map<String, PoolStorage> pools = new LinkedHashMap<>();
    /** backend -> its live state, one {@link Member} per pool that has it; set by {@link #openPools}. */
    private final Map<String, BackendState> states = new LinkedHashMap<>();
    private final List<HealthProber> probers = new ArrayList<>();
    /** Makes the async pools' copies; null when no pool needs it. */
    private Replicator replicator;

    private Backends() {
    }

    /** For a starting gateway: what a crash left behind (partial files, old multipart uploads) is removed. */
    static Backends open(GatewayConfig config) {
        return open(config, true);
    }

    /**
     * @param cleanUp false for reconcile, which may run beside gateways: what looks left
     *                behind may be their uploads in progress
     */
    static Backends open(GatewayConfig config, boolean cleanUp) {
        Backends opened = new Backends();
        MemoryBudget budget = MemoryBudget.fitting(config.storage().memoryBudgetBytes());
        StorageConfig storage = config.storage();
        if (config.tus().enabled()) {
            // A tus upload staged on S3 keeps its multipart upload until it completes or
            // expires (and the expiry aborts it): the start-up sweep must not take it before.
            Duration staged = config.tus().expiry().plusMinutes(1);
            if (staged.compareTo(storage.abandonedUploadAge()) > 0) {
                storage = new StorageConfig(storage.backends(), storage.pools(), storage.memoryBudgetBytes(),
                        storage.partSizeBytes(), storage.partConcurrency(), staged);
            }
        }
        try {
            for (int i = 0; i < storage.backends().size(); i++) {
                BackendConfig b = storage.backends().get(i);
                try {
                    opened.backends.put(b.name(), BackendFactories.open(b, storage, budget, cleanUp));
                } catch (IOException e) {
                    throw new ConfigException("storage.backends[" + i + "] (" + b.name() + ")", e.getMessage());
                }
                log.info("backend {}: {}", b.name(), BackendFactories.describe(b));
            }
            return opened;
        } catch (RuntimeException e) {
            opened.close();
            throw e;
        }
    }

    Map<String, Storage> all() {
        return Collections.unmodifiableMap(backends);
    }

    /**
     * Opens the configured pools over the opened backends. Their placements are the
     * ledger's, as the meter reads and writes it; each member is probed at the pool's
     * interval so that an unhealthy one comes back once it answers. The {@link Replicator}
     * that makes the async pools' copies starts when a pool is async, or when the ledger
     * still queues copies (of a pool that was async before).
     */
    void openPools(StorageConfig storage, TransferMeter meter) throws IOException {
        boolean async = false;
        for (PoolConfig p : storage.pools()) {
            async |= p.replication() == PoolConfig.Replication.ASYNC;
            PoolStorage pool = pool(p, meter.placements(), b -> meter.storedOf(b).bytes());
            HealthProber prober = new HealthProber(p.probeInterval());
            probers.add(prober);
            for (Member m : pool.members()) {
                Storage s = backends.get(m.name());
                // A HEAD of a key that never exists: any answer, "absent" included, is healthy.
                prober.add(m, () -> s.stat(PROBE_KEY));
            }
            pools.put(p.name(), pool);
            for (Member m : pool.members()) {
                states.merge(m.name(), new BackendState(List.of(m)), BackendState::plus);
            }
            log.info("pool {}: {} over {}, {} cop{}{}", p.name(), p.policy().id(), p.backends(), p.replicas(),
                    p.replicas() == 1 ? "y" : "ies", p.replicas() > 1 ? ", " + p.replication().id() : "");
        }
        meter.declarePools(pools.keySet());
        if (!pools.isEmpty() && (async || !meter.copyQueue().pendingTotals().isEmpty())) {
            replicator = new Replicator(pools.values(), meter, Replicator.Settings.DEFAULT);
            replicator.start();
        }
    }

    /**
     * Opens the configured pools over the opened backends for reconciling them with
     * {@code placements}: no member is probed (every member counts as healthy) and no
     * object is placed, so nothing but the caller's own requests reaches the members.
     */
    void openPools(StorageConfig storage, Placements placements) {
        for (PoolConfig p : storage.pools()) {
            pools.put(p.name(), pool(p, placements, b -> 0L));
        }
    }

    /** The pool {@code p} over the opened backends. */
    private PoolStorage pool(PoolConfig p, Placements placements, ToLongFunction<String> storedBytes) {
        List<Member> members = new ArrayList<>();
        Map<String, Storage> storages = new LinkedHashMap<>();
        for (String b : p.backends()) {
            members.add(new Member(b, p.weight(b), p.unhealthyAfter()));
            storages.put(b, backends.get(b));
        }
        return new PoolStorage(p.name(), members, storages, PlacementPolicy.of(p.policy().id()), p.replicas(),
                p.replication() == PoolConfig.Replication.ASYNC, placements, storedBytes);
    }

    /** A key no upload can make: user keys are below a home and never start with ".". */
    static final String PROBE_KEY = ".transfer-gateway-probe";

    Map<String, PoolStorage> pools() {
        return Collections.unmodifiableMap(pools);
    }

    /** A backend's live state, as the pools that have it as a member see it. */
    BackendState state(String backend) {
        return states.getOrDefault(backend, BackendState.UNWATCHED);
    }

    /**
     * The copies a pool still has to make, from the ledger's queue (read at most once a
     * second); none without a replicator, as {@code sync} pools make every copy before an
     * upload is confirmed.
     */
    ReplicationLag lag(String pool) {
        if (replicator == null) {
            return ReplicationLag.NONE;
        }
        PendingTotals p = replicator.pending(pool);
        long oldest = p.oldest() == null ? 0 : Math.max(0, Duration.between(p.oldest(), Instant.now()).toSeconds());
        return new ReplicationLag(p.copies(), p.bytes(), oldest);
    }

    /** What a user's {@code backend} or folder rule may name: the backends and the pools. */
    Map<String, Storage> targets() {
        Map<String, Storage> all = new LinkedHashMap<>(backends);
        all.putAll(pools);
        return Collections.unmodifiableMap(all);
    }

    @Override
    public void close() {
        if (replicator != null) {
            replicator.close();
            replicator = null;
        }
        probers.forEach(HealthProber::close);
        probers.clear();
        for (Storage s : backends.values()) {
            try {
                s.close();
            } catch (IOException | RuntimeException e) {
                log.warn("closing backend {} failed: {}", s.name(), e.toString());
            }
        }
        backends.clear();
    }
}
