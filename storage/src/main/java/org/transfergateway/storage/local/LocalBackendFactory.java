package org.transfergateway.storage.local;

import java.io.IOException;
import org.transfergateway.config.LocalBackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.BackendFactory;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.s3.MemoryBudget;

/** Opens {@code type: local}: a {@link LocalStorage} on the root folder. */
public final class LocalBackendFactory implements BackendFactory<LocalBackendConfig> {
    @Override
    public Class<LocalBackendConfig> configClass() {
        return LocalBackendConfig.class;
    }

    @Override
    public Storage open(LocalBackendConfig config, StorageConfig shared, MemoryBudget budget, boolean cleanUp)
            throws IOException {
        return new LocalStorage(config.name(), config.root(), cleanUp);
    }

    @Override
    public String describe(LocalBackendConfig config) {
        return "local disk at " + config.root().toAbsolutePath().normalize();
    }
}
