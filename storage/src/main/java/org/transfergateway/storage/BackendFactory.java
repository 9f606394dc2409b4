package org.transfergateway.storage;

import java.io.IOException;
import org.transfergateway.config.BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.s3.MemoryBudget;

/**
 * Opens one kind of backend from its config record, and describes it for the start-up log.
 * {@link BackendFactories} lists one per record type.
 *
 * @param <C> the record of {@code config}'s {@code BackendType} this factory opens
 */
public interface BackendFactory<C extends BackendConfig> {
    Class<C> configClass();

    /**
     * @param shared  the settings common to all backends (part size, concurrency, upload age)
     * @param budget  the memory shared by all backends for buffered parts
     * @param cleanUp true to remove what a crash left behind (partial files, old multipart
     *                uploads); false for a tool that may run beside gateways
     * @throws IOException a one-line message when the backend cannot be reached or used
     */
    Storage open(C config, StorageConfig shared, MemoryBudget budget, boolean cleanUp) throws IOException;

    /** Where the backend keeps its files, for the start-up log line; no secrets. */
    String describe(C config);
}
