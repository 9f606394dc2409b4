package org.transfergateway.config;

import java.nio.file.Path;

/** Files in a folder of the local disk. */
public record LocalBackendConfig(String name, Path root) implements BackendConfig {
    /** {@code type: local}, with its {@code root} folder. */
    public static final BackendType TYPE = new Type();

    private static final class Type implements BackendType {
        @Override
        public String name() {
            return "local";
        }

        @Override
        public Class<LocalBackendConfig> configClass() {
            return LocalBackendConfig.class;
        }

        @Override
        public LocalBackendConfig parse(ConfigNode n, String name) {
            return new LocalBackendConfig(name, Path.of(n.requiredString("root")));
        }
    }
}
