package org.transfergateway.config;

/**
 * A kind of storage backend, as {@code storage.backends[].type} names it: it reads and
 * validates its own keys into its own record. {@link BackendTypes} lists the known kinds.
 */
public interface BackendType {
    /** The value of {@code type} in the YAML, e.g. {@code s3}. */
    String name();

    /** The record {@link #parse} produces. */
    Class<? extends BackendConfig> configClass();

    /**
     * Reads this type's keys from one entry of {@code storage.backends}; the caller checks
     * the name and rejects the keys left unread.
     *
     * @throws ConfigException naming the key at fault
     */
    BackendConfig parse(ConfigNode n, String name);
}
