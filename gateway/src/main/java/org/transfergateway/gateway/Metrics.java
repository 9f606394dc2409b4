package org.transfergateway.gateway;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.Collection;
import org.transfergateway.storage.meter.Transfer;
import org.transfergateway.storage.meter.TransferListener;
import org.transfergateway.storage.meter.TransferMeter;
import org.transfergateway.storage.meter.TransferRecord;

/**
 * The Prometheus view of the {@link TransferMeter}, served at {@code /metrics}: transfer
 * and byte counters by protocol, direction, user and outcome, stored totals by backend,
 * transfers in progress, and the JVM's memory and threads.
 */
final class Metrics implements TransferListener {
    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final TransferMeter meter;

    Metrics(TransferMeter meter) {
        this.meter = meter;
        meter.addListener(this);
        new io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics().bindTo(registry);
        new io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics().bindTo(registry);
        Gauge.builder("gateway.transfers.active", meter, m -> m.active().size())
                .description("transfers in progress").register(registry);
    }

    void bindBackends(Collection<String> backends) {
        for (String b : backends) {
            Gauge.builder("gateway.stored.bytes", meter, m -> m.storedOf(b).bytes())
                    .tag("backend", b).baseUnit("bytes").description("bytes held through the gateway").register(registry);
            Gauge.builder("gateway.stored.objects", meter, m -> m.storedOf(b).objects())
                    .tag("backend", b).description("objects held through the gateway").register(registry);
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
        Counter bytes = Counter.builder("gateway.transfer.bytes").baseUnit("bytes")
                .description("file content moved, failed transfers included")
                .tags("protocol", t.protocol().id(), "direction", t.direction().id(), "user", t.user())
                .register(registry);
        t.observe(bytes::increment);
    }

    @Override
    public void ended(TransferRecord r) {
        Counter.builder("gateway.transfers")
                .description("finished transfers")
                .tags("protocol", r.protocol().id(), "direction", r.direction().id(),
                        "outcome", r.succeeded() ? "completed" : "failed")
                .register(registry).increment();
    }

    String scrape() {
        return registry.scrape();
    }
}
