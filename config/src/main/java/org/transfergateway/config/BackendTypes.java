package org.transfergateway.config;

import java.util.List;
import java.util.Optional;

/** The backend types the configuration accepts: adding one is one line in {@link #ALL}. */
public final class BackendTypes {
    public static final List<BackendType> ALL = List.of(LocalBackendConfig.TYPE, S3BackendConfig.TYPE, AzureBackendConfig.TYPE,
            GcsBackendConfig.TYPE);

    private BackendTypes() {
    }

    /** The type that {@code config} is a record of: its {@code type} in the YAML is {@code typeOf(config).name()}. */
    public static BackendType typeOf(BackendConfig config) {
        return ALL.stream().filter(t -> t.configClass().isInstance(config)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException(
                        "backend " + config.name() + ": " + config.getClass().getSimpleName() + " is not a registered type"));
    }

    static Optional<BackendType> named(String name) {
        return ALL.stream().filter(t -> t.name().equals(name)).findFirst();
    }

    /** The registered names for an error message: "local or s3", "local, s3, azure or gcs". */
    static String names() {
        List<String> names = ALL.stream().map(BackendType::name).toList();
        if (names.size() == 1) {
            return names.get(0);
        }
        return String.join(", ", names.subList(0, names.size() - 1)) + " or " + names.get(names.size() - 1);
    }
}
