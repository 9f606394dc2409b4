package org.transfergateway.config;

/** One storage backend, named so that users can be placed on it. */
public sealed interface BackendConfig permits LocalBackendConfig, S3BackendConfig {
    String name();
}
