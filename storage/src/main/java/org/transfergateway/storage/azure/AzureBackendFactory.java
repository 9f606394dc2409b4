package org.transfergateway.storage.azure;

import java.io.IOException;
import org.transfergateway.config.AzureBackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.BackendFactory;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.s3.MemoryBudget;

/** Opens {@code type: azure}: an {@link AzureStorage} on the container, sharing the memory budget. */
public final class AzureBackendFactory implements BackendFactory<AzureBackendConfig> {
    @Override
    public Class<AzureBackendConfig> configClass() {
        return AzureBackendConfig.class;
    }

    /** {@code cleanUp} has nothing to do: staged blocks are invisible and expire on their own. */
    @Override
    public Storage open(AzureBackendConfig config, StorageConfig shared, MemoryBudget budget, boolean cleanUp)
            throws IOException {
        return AzureStorage.open(config, shared, budget);
    }

    @Override
    public String describe(AzureBackendConfig config) {
        return "azure container " + config.container() + (config.prefix().isEmpty() ? "" : " under " + config.prefix())
                + " at " + config.endpointText();
    }
}
