package org.transfergateway.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.transfergateway.storage.meter.Transfer;
import org.transfergateway.storage.meter.TransferListener;
import org.transfergateway.storage.meter.TransferMeter;
import org.transfergateway.storage.meter.TransferRecord;

/**
 * The Prometheus view of the {@link TransferMeter}, served at {@code /metrics}: transfer
 * and byte counters by protocol, direction, user and outcome, stored totals and live state
 * (health, bytes in flight, errors, latency) by backend, replication lag by pool, transfers
 * in progress, and the JVM's memory and threads.
 */
final class Metrics implements TransferListener {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final TransferMeter meter;
    /**
     * The transfer counters by name and tags: the registry's own look-up builds and sorts
     * the tags again at every transfer, a cost seen with many small files.
     */
    private final Map<List<String>, Counter> counters = new ConcurrentHashMap<>();

    Metrics(TransferMeter meter) {
        this.meter = meter;
        meter.addListener(this);
        new io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics().bindTo(registry);
        new io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics().bindTo(registry);
        Gauge.builder("gateway.transfers.active", meter, m -> m.active().size())
                .description("transfers in progress").register(registry);
    }

    /** Each backend's stored totals and live state, and each pool's replication lag; once the pools are open. */
    void bindBackends(Backends backends) {
        for (String b : backends.all().keySet()) {
            Gauge.builder("gateway.stored.bytes", meter, m -> m.storedOf(b).bytes())
                    .tag("backend", b).baseUnit("bytes").description("bytes held through the gateway").register(registry);
            Gauge.builder("gateway.stored.objects", meter, m -> m.storedOf(b).objects())
                    .tag("backend", b).description("objects held through the gateway").register(registry);
            // Gauges hold their objects weakly: the states live as long as the backends do.
            BackendState state = backends.state(b);
            Gauge.builder("gateway.backend.healthy", state, s -> s.healthy() ? 1 : 0)
                    .tag("backend", b).description("1 while the backend is healthy, 0 while a pool counts it unhealthy")
                    .register(registry);
            Gauge.builder("gateway.backend.outstanding", state, BackendState::outstandingBytes)
                    .tag("backend", b).baseUnit("bytes").description("bytes of the transfers in flight on the backend")
                    .register(registry);
            FunctionCounter.builder("gateway.backend.errors", state, BackendState::errors)
                    .tag("backend", b).description("failed operations on the backend").register(registry);
            for (String q : new String[] {"0.5", "0.99"}) {
                double quantile = Double.parseDouble(q);
                Gauge.builder("gateway.backend.latency", state, s -> s.latencyMillis(quantile))
                        .tags("backend", b, "quantile", q).baseUnit("ms")
                        .description("latency of the backend's recent successful operations")
                        .register(registry);
            }
        }
        for (String p : backends.pools().keySet()) {
            Gauge.builder("gateway.pool.replication.pending", backends, bs -> bs.lag(p).pending())
                    .tag("pool", p).description("copies the pool has still to make").register(registry);
        }
    }

    /** Open connections of a listener, as it counts them. */
    void bindConnections(String protocol, java.util.function.IntSupplier open) {
        Gauge.builder("gateway.connections.open", open, java.util.function.IntSupplier::getAsInt)
                .tag("protocol", protocol).description("connections open now")
                .strongReference(true) // a method reference: nothing else holds it
                .register(registry);
    }

    /** Byte counters move with every write, not only when a transfer ends. */
    @Override
    public void started(Transfer t) {
        Counter bytes = counters.computeIfAbsent(List.of("bytes", t.protocol().id(), t.direction().id(), t.user()),
                k -> Counter.builder("gateway.transfer.bytes").baseUnit("bytes")
                        .description("file content moved, failed transfers included")
                        .tags("protocol", k.get(1), "direction", k.get(2), "user", k.get(3))
                        .register(registry));
        t.observe(bytes::increment);
    }

    @Override
    public void ended(TransferRecord r) {
        counters.computeIfAbsent(List.of("transfers", r.protocol().id(), r.direction().id(), r.succeeded() ? "completed" : "failed"),
                k -> Counter.builder("gateway.transfers")
                        .description("finished transfers")
                        .tags("protocol", k.get(1), "direction", k.get(2), "outcome", k.get(3))
                        .register(registry)).increment();
    }

    String scrape() {
        return registry.scrape();
    }
}
