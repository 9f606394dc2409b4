package org.transfergateway.config;

import java.net.URI;
import java.net.URISyntaxException;

/**
 * A container of Azure Blob Storage, or of an emulator (Azurite). Credentials are one of:
 * an account name and key (shared key), a connection string, a SAS token, or none for
 * the SDK's default credential chain (managed identity, environment, Azure CLI).
 *
 * @param prefix           a name prefix inside the container, "" or ending in "/"
 * @param endpoint         the account's blob endpoint, or null for
 *                         {@code https://<account-name>.blob.core.windows.net}
 * @param accountKey       with {@code accountName}: shared-key authentication
 * @param connectionString instead of the other keys: endpoint and credentials in one
 * @param sasToken         a shared access signature for the container or account
 * @param blockSizeBytes   this container's first block size, or 0 for {@code storage.part-size}
 */
public record AzureBackendConfig(
        String name,
        String container,
        String prefix,
        URI endpoint,
        String accountName,
        String accountKey,
        String connectionString,
        String sasToken,
        long blockSizeBytes) implements BackendConfig {

    /** The largest block Azure accepts (API version 2019-12-12 and later). */
    public static final long MAX_BLOCK_SIZE = 4000L * 1024 * 1024;

    /** {@code type: azure}: the container, its endpoint and credentials. */
    public static final BackendType TYPE = new Type();

    /** The first block size of uploads of unknown length, given the storage-wide part size. */
    public long blockSize(long storageDefault) {
        return blockSizeBytes > 0 ? blockSizeBytes : storageDefault;
    }

    /** The endpoint in use: the configured one, or Azure's for the account. */
    public String endpointText() {
        if (endpoint != null) {
            return endpoint.toString();
        }
        return accountName != null ? "https://" + accountName + ".blob.core.windows.net" : "the connection string's endpoint";
    }

    @Override
    public String toString() {
        // Never print the key, the connection string or the SAS.
        return "AzureBackendConfig[name=" + name + ", container=" + container + ", prefix=" + prefix
                + ", endpoint=" + endpoint + ", accountName=" + accountName + "]";
    }

    private static final class Type implements BackendType {
        @Override
        public String name() {
            return "azure";
        }

        @Override
        public Class<AzureBackendConfig> configClass() {
            return AzureBackendConfig.class;
        }

        @Override
        public AzureBackendConfig parse(ConfigNode n, String name) {
            String container = n.requiredString("container");
            // Azure's rule: 3-63 lower-case letters, digits and single hyphens, starting and ending alphanumeric.
            if (!container.matches("[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")) {
                throw new ConfigException(n.path("container"), container + " is not a valid container name");
            }
            String prefix = n.string("prefix", "");
            while (prefix.startsWith("/")) {
                prefix = prefix.substring(1);
            }
            if (!prefix.isEmpty() && !prefix.endsWith("/")) {
                prefix = prefix + "/";
            }
            URI endpoint = n.parsed("endpoint", null, Type::endpoint);
            String accountName = n.string("account-name");
            String accountKey = n.string("account-key");
            String connectionString = n.string("connection-string");
            String sasToken = n.string("sas-token");
            if (accountKey != null && accountName == null) {
                throw new ConfigException(n.path("account-name"), "is required when account-key is set");
            }
            if (connectionString != null && (accountKey != null || sasToken != null || endpoint != null)) {
                throw new ConfigException(n.path("connection-string"),
                        "holds the endpoint and credentials: leave out endpoint, account-key and sas-token");
            }
            if (accountKey != null && sasToken != null) {
                throw new ConfigException(n.path("sas-token"), "cannot be used together with account-key");
            }
            if (connectionString == null && endpoint == null && accountName == null) {
                throw new ConfigException(n.path("account-name"), "is required without endpoint or connection-string");
            }
            if (sasToken != null && sasToken.startsWith("?")) {
                sasToken = sasToken.substring(1);
            }
            long blockSize = n.parsed("block-size", 0L, Units::parseSize);
            if (blockSize != 0 && (blockSize < 1024 * 1024 || blockSize > MAX_BLOCK_SIZE)) {
                throw new ConfigException(n.path("block-size"), Units.formatSize(blockSize)
                        + " is outside 1MiB-4000MiB, the block sizes Azure accepts");
            }
            return new AzureBackendConfig(name, container, prefix, endpoint, accountName, accountKey, connectionString,
                    sasToken, blockSize);
        }

        private static URI endpoint(String text) {
            try {
                URI uri = new URI(text);
                if (uri.getHost() == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
                    throw new IllegalArgumentException(text + " is not an http:// or https:// URL");
                }
                return uri;
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException(text + " is not a URL");
            }
        }
    }
}
