package org.transfergateway.config;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;

/**
 * A bucket of Google Cloud Storage, or of an emulator. Credentials come from a service
 * account key file, or else from the application default credentials.
 *
 * @param prefix          a name prefix inside the bucket, "" or ending in "/"
 * @param project         the project id, or null to take it from the credentials
 * @param credentialsFile a service account key (JSON), or null for the application default credentials
 * @param endpoint        an emulator's URL, or null for Google's service
 * @param chunkSizeBytes  the first chunk size of resumable uploads, or 0 for {@code storage.part-size}
 */
public record GcsBackendConfig(
        String name,
        String bucket,
        String prefix,
        String project,
        Path credentialsFile,
        URI endpoint,
        long chunkSizeBytes) implements BackendConfig {

    /** GCS takes resumable chunks in multiples of this (all but the last). */
    public static final long CHUNK_GRANULARITY = 256L * 1024;
    /** The largest chunk allowed here: a buffer of the memory budget holds under 2 GiB. */
    public static final long MAX_CHUNK_SIZE = 1024L * 1024 * 1024;

    /** {@code type: gcs}: the bucket, its project, credentials and endpoint. */
    public static final BackendType TYPE = new Type();

    /** The first chunk size of uploads of unknown length, given the storage-wide part size. */
    public long chunkSize(long storageDefault) {
        return chunkSizeBytes > 0 ? chunkSizeBytes : storageDefault;
    }

    /** The endpoint in use: the configured one, or Google's. */
    public String endpointText() {
        return endpoint != null ? endpoint.toString() : "https://storage.googleapis.com";
    }

    private static final class Type implements BackendType {
        @Override
        public String name() {
            return "gcs";
        }

        @Override
        public Class<GcsBackendConfig> configClass() {
            return GcsBackendConfig.class;
        }

        @Override
        public GcsBackendConfig parse(ConfigNode n, String name) {
            String bucket = n.requiredString("bucket");
            // Google's rule: lower-case letters, digits, dashes, underscores and dots, starting
            // and ending alphanumeric; 3-63 characters, or up to 222 in dotted parts of at most 63.
            boolean dotted = bucket.contains(".");
            if (!bucket.matches("[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]") || (!dotted && bucket.length() > 63)
                    || (dotted && java.util.Arrays.stream(bucket.split("\\.")).anyMatch(p -> p.isEmpty() || p.length() > 63))) {
                throw new ConfigException(n.path("bucket"), bucket + " is not a valid bucket name");
            }
            String prefix = n.string("prefix", "");
            while (prefix.startsWith("/")) {
                prefix = prefix.substring(1);
            }
            if (!prefix.isEmpty() && !prefix.endsWith("/")) {
                prefix = prefix + "/";
            }
            String project = n.string("project");
            if (project != null && !project.matches("(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]")) {
                throw new ConfigException(n.path("project"), project + " is not a valid project id");
            }
            String file = n.string("credentials-file");
            Path credentialsFile = file == null ? null : Path.of(file);
            URI endpoint = n.parsed("endpoint", null, Type::endpoint);
            long chunkSize = n.parsed("chunk-size", 0L, Units::parseSize);
            if (chunkSize != 0 && (chunkSize < CHUNK_GRANULARITY || chunkSize > MAX_CHUNK_SIZE
                    || chunkSize % CHUNK_GRANULARITY != 0)) {
                throw new ConfigException(n.path("chunk-size"), Units.formatSize(chunkSize)
                        + " is not a multiple of 256KiB between 256KiB and 1GiB");
            }
            return new GcsBackendConfig(name, bucket, prefix, project, credentialsFile, endpoint, chunkSize);
        }

        private static URI endpoint(String text) {
            try {
                URI uri = new URI(text);
                if (uri.getHost() == null || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
                    throw new IllegalArgumentException(text + " is not an http:// or https:// URL");
                }
                if (uri.getPath() != null && !uri.getPath().isEmpty() && !uri.getPath().equals("/")) {
                    throw new IllegalArgumentException(text + " has a path: give the scheme, host and port only");
                }
                return uri;
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException(text + " is not a URL");
            }
        }
    }
}
