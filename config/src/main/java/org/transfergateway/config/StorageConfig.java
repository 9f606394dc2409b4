package org.transfergateway.config;

import java.util.List;
import java.util.Optional;

/**
 * The storage backends (the first is the default), the pools built of them, and the limits
 * shared by all uploads.
 *
 * @param pools             groups of backends that users and folder rules may name like a
 *                          backend; their names differ from every backend's
 * @param memoryBudgetBytes the most memory that the part buffers of all S3 uploads hold together
 * @param partSizeBytes     the first part size of a multipart upload; later parts grow
 * @param partConcurrency   the parts of one upload sent in parallel
 * @param abandonedUploadAge incomplete multipart uploads under the gateway's prefixes older
 *                          than this are aborted at start-up
 */
public record StorageConfig(
        List<BackendConfig> backends,
        List<PoolConfig> pools,
        long memoryBudgetBytes,
        long partSizeBytes,
        int partConcurrency,
        java.time.Duration abandonedUploadAge) {

    public StorageConfig {
        backends = List.copyOf(backends);
        pools = List.copyOf(pools);
    }

    /** Backends without pools. */
    public StorageConfig(List<BackendConfig> backends, long memoryBudgetBytes, long partSizeBytes,
            int partConcurrency, java.time.Duration abandonedUploadAge) {
        this(backends, List.of(), memoryBudgetBytes, partSizeBytes, partConcurrency, abandonedUploadAge);
    }

    public BackendConfig defaultBackend() {
        return backends.get(0);
    }

    public Optional<BackendConfig> backend(String name) {
        return backends.stream().filter(b -> b.name().equals(name)).findFirst();
    }

    public Optional<PoolConfig> pool(String name) {
        return pools.stream().filter(p -> p.name().equals(name)).findFirst();
    }

    /** True when {@code name} is a pool's, not a single backend's. */
    public boolean isPool(String name) {
        return pool(name).isPresent();
    }

    /** True when {@code name} is a backend's or a pool's: what a user or a folder rule may name. */
    public boolean hasTarget(String name) {
        return backend(name).isPresent() || isPool(name);
    }
}
