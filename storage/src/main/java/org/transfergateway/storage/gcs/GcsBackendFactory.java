package org.transfergateway.storage.gcs;

import java.io.IOException;
import org.transfergateway.config.GcsBackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.BackendFactory;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.s3.MemoryBudget;

/** Opens {@code type: gcs}: a {@link GcsStorage} on the bucket, sharing the memory budget. */
public final class GcsBackendFactory implements BackendFactory<GcsBackendConfig> {
    @Override
    public Class<GcsBackendConfig> configClass() {
        return GcsBackendConfig.class;
    }

    /**
     * {@code cleanUp} has nothing to do: an unfinished resumable session is invisible, GCS
     * drops it after a week, and the journal cancels those of a crash.
     */
    @Override
    public Storage open(GcsBackendConfig config, StorageConfig shared, MemoryBudget budget, boolean cleanUp)
            throws IOException {
        return GcsStorage.open(config, shared, budget);
    }

    @Override
    public String describe(GcsBackendConfig config) {
        return "gcs bucket " + config.bucket() + (config.prefix().isEmpty() ? "" : " under " + config.prefix())
                + " at " + config.endpointText();
    }
}
