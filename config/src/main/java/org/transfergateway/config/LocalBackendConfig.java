package org.transfergateway.config;

import java.nio.file.Path;

/** Files in a folder of the local disk. */
public record LocalBackendConfig(String name, Path root) implements BackendConfig {
}
