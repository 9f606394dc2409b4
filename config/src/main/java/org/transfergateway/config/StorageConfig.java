package org.transfergateway.config;

import java.util.List;
import java.util.Optional;

/**
 * The storage backends (the first is the default) and the limits shared by all uploads.
 *
 * @param memoryBudgetBytes the most memory that the part buffers of all S3 uploads hold together
 * @param partSizeBytes     the first part size of a multipart upload; later parts grow
 * @param partConcurrency   the parts of one upload sent in parallel
 * @param abandonedUploadAge incomplete multipart uploads under the gateway's prefixes older
 *                          than this are aborted at start-up
 */
public record StorageConfig(
        List<BackendConfig> backends,
        long memoryBudgetBytes,
        long partSizeBytes,
        int partConcurrency,
        java.time.Duration abandonedUploadAge) {

    public StorageConfig {
        backends = List.copyOf(backends);
    }

    public BackendConfig defaultBackend() {
        return backends.get(0);
    }

    public Optional<BackendConfig> backend(String name) {
        return backends.stream().filter(b -> b.name().equals(name)).findFirst();
    }
}
