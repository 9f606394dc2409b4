package org.transfergateway.gateway;

import java.io.IOException;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.BackendConfig;
import org.transfergateway.config.ConfigException;
import org.transfergateway.config.GatewayConfig;
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
        try {
            for (int i = 0; i < config.storage().backends().size(); i++) {
                BackendConfig b = config.storage().backends().get(i);
                try {
                    opened.backends.put(b.name(), BackendFactories.open(b, config.storage(), budget, cleanUp));
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

    @Override
    public void close() {
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
