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
import org.transfergateway.config.LocalBackendConfig;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.s3.MemoryBudget;
import org.transfergateway.storage.s3.S3Storage;

/**
 * The configured backends, opened in order and sharing one memory budget. A backend that
 * cannot be opened is a {@link ConfigException} naming it: an unreachable bucket at
 * start-up is a user mistake, not a crash.
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
                    Storage storage = b instanceof S3BackendConfig s
                            ? S3Storage.open(s, config.storage(), budget, cleanUp)
                            : new LocalStorage(b.name(), ((LocalBackendConfig) b).root(), cleanUp);
                    opened.backends.put(b.name(), storage);
                } catch (IOException e) {
                    throw new ConfigException("storage.backends[" + i + "] (" + b.name() + ")", e.getMessage());
                }
                log.info("backend {}: {}", b.name(), describe(b));
            }
            return opened;
        } catch (RuntimeException e) {
            opened.close();
            throw e;
        }
    }

    private static String describe(BackendConfig b) {
        if (b instanceof S3BackendConfig s) {
            return "s3 bucket " + s.bucket() + (s.prefix().isEmpty() ? "" : " under " + s.prefix())
                    + (s.endpoint() == null ? "" : " at " + s.endpoint());
        }
        return "local disk at " + ((LocalBackendConfig) b).root().toAbsolutePath().normalize();
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
