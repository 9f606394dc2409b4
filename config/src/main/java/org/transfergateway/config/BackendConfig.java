package org.transfergateway.config;

/**
 * One storage backend, named so that users can be placed on it. Each kind is a record with
 * its own {@link BackendType}, registered in {@link BackendTypes}.
 */
public interface BackendConfig {
    String name();
}
