package org.transfergateway.storage.s3;

import java.io.IOException;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.BackendFactory;
import org.transfergateway.storage.Storage;

/** Opens {@code type: s3}: an {@link S3Storage} on the bucket, sharing the memory budget. */
public final class S3BackendFactory implements BackendFactory<S3BackendConfig> {
    @Override
    public Class<S3BackendConfig> configClass() {
        return S3BackendConfig.class;
    }

    @Override
    public Storage open(S3BackendConfig config, StorageConfig shared, MemoryBudget budget, boolean cleanUp)
            throws IOException {
        return S3Storage.open(config, shared, budget, cleanUp);
    }

    @Override
    public String describe(S3BackendConfig config) {
        return "s3 bucket " + config.bucket() + (config.prefix().isEmpty() ? "" : " under " + config.prefix())
                + (config.endpoint() == null ? "" : " at " + config.endpoint());
    }
}
