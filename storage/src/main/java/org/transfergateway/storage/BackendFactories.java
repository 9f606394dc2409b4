package org.transfergateway.storage;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.transfergateway.config.BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.azure.AzureBackendFactory;
import org.transfergateway.storage.gcs.GcsBackendFactory;
import org.transfergateway.storage.local.LocalBackendFactory;
import org.transfergateway.storage.s3.MemoryBudget;
import org.transfergateway.storage.s3.S3BackendFactory;

/**
 * The factories of the backend types, found by config record: adding a type is one line in
 * {@link #ALL}, next to its line in {@code BackendTypes}.
 */
public final class BackendFactories {
    private static final List<BackendFactory<?>> ALL = List.of(new LocalBackendFactory(), new S3BackendFactory(),
            new AzureBackendFactory(), new GcsBackendFactory());

    private static final Map<Class<?>, BackendFactory<?>> BY_CONFIG = ALL.stream()
            .collect(Collectors.toUnmodifiableMap(BackendFactory::configClass, Function.identity()));

    private BackendFactories() {
    }

    /** Whether records of {@code configClass} can be opened. */
    public static boolean supports(Class<? extends BackendConfig> configClass) {
        return BY_CONFIG.containsKey(configClass);
    }

    /** Opens {@code config} with its type's factory; see {@link BackendFactory#open}. */
    public static Storage open(BackendConfig config, StorageConfig shared, MemoryBudget budget, boolean cleanUp)
            throws IOException {
        return open(factory(config), config, shared, budget, cleanUp);
    }

    public static String describe(BackendConfig config) {
        return describe(factory(config), config);
    }

    private static BackendFactory<?> factory(BackendConfig config) {
        BackendFactory<?> f = BY_CONFIG.get(config.getClass());
        if (f == null) {
            throw new IllegalStateException("no storage factory for " + config.getClass().getSimpleName());
        }
        return f;
    }

    private static <C extends BackendConfig> Storage open(BackendFactory<C> f, BackendConfig config,
            StorageConfig shared, MemoryBudget budget, boolean cleanUp) throws IOException {
        return f.open(f.configClass().cast(config), shared, budget, cleanUp);
    }

    private static <C extends BackendConfig> String describe(BackendFactory<C> f, BackendConfig config) {
        return f.describe(f.configClass().cast(config));
    }
}
