package org.transfergateway.config;

import java.net.URI;
import java.net.URISyntaxException;

/**
 * A bucket of Amazon S3 or of any S3-compatible service.
 *
 * @param prefix    a key prefix inside the bucket, "" or ending in "/"
 * @param endpoint  a custom endpoint, or null for AWS
 * @param accessKey null to use the SDK's default credential chain
 * @param checksums which request checksums the SDK sends
 * @param partSizeBytes   this bucket's first multipart part size, or 0 for {@code storage.part-size}
 * @param partConcurrency this bucket's parts in flight per upload, or 0 for {@code storage.part-concurrency}
 * @param serverTimesInListings true ({@code listing-times: server}) to list S3's own LastModified
 *                              instead of reading each file's kept time with a HeadObject
 * @param signedPayloads  false ({@code payload-signing: false}) to send upload bodies unsigned over
 *                        a plain-HTTP endpoint too, as the SDK always does over HTTPS
 */
public record S3BackendConfig(
        String name,
        String bucket,
        String prefix,
        String region,
        URI endpoint,
        boolean pathStyle,
        String accessKey,
        String secretKey,
        Checksums checksums,
        long partSizeBytes,
        int partConcurrency,
        boolean serverTimesInListings,
        boolean signedPayloads) implements BackendConfig {

    /** A bucket with the storage-wide part settings, whose listings show kept times and whose bodies are signed over HTTP. */
    public S3BackendConfig(String name, String bucket, String prefix, String region, URI endpoint, boolean pathStyle,
                           String accessKey, String secretKey, Checksums checksums) {
        this(name, bucket, prefix, region, endpoint, pathStyle, accessKey, secretKey, checksums, 0, 0, false, true);
    }

    /** The first part size of this bucket's multipart uploads, given the storage-wide one. */
    public long partSize(long storageDefault) {
        return partSizeBytes > 0 ? partSizeBytes : storageDefault;
    }

    /** Parts in flight per upload into this bucket, given the storage-wide number. */
    public int partConcurrency(int storageDefault) {
        return partConcurrency > 0 ? partConcurrency : storageDefault;
    }

    /** {@code type: s3}: the bucket, its endpoint and credentials, and the checksums. */
    public static final BackendType TYPE = new Type();

    /** The SDK's request checksum policy; some S3-compatible services reject the newer default. */
    public enum Checksums {
        /** A CRC32 checksum on every request that supports one (the SDK's default). */
        WHEN_SUPPORTED,
        /** Checksums only where the S3 API requires them. */
        WHEN_REQUIRED
    }

    @Override
    public String toString() {
        // Never print the secret.
        return "S3BackendConfig[name=" + name + ", bucket=" + bucket + ", prefix=" + prefix
                + ", region=" + region + ", endpoint=" + endpoint + ", pathStyle=" + pathStyle + "]";
    }

    private static final class Type implements BackendType {
        @Override
        public String name() {
            return "s3";
        }

        @Override
        public Class<S3BackendConfig> configClass() {
            return S3BackendConfig.class;
        }

        @Override
        public S3BackendConfig parse(ConfigNode n, String name) {
            String bucket = n.requiredString("bucket");
            if (!bucket.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")) {
                throw new ConfigException(n.path("bucket"), bucket + " is not a valid bucket name");
            }
            String prefix = n.string("prefix", "");
            while (prefix.startsWith("/")) {
                prefix = prefix.substring(1);
            }
            if (!prefix.isEmpty() && !prefix.endsWith("/")) {
                prefix = prefix + "/";
            }
            URI endpoint = n.parsed("endpoint", null, Type::endpoint);
            String accessKey = n.string("access-key");
            String secretKey = n.string("secret-key");
            if ((accessKey == null) != (secretKey == null)) {
                throw new ConfigException(n.path(accessKey == null ? "access-key" : "secret-key"),
                        "is required when " + (accessKey == null ? "secret-key" : "access-key") + " is set");
            }
            // S3-compatible services (S3Proxy, older MinIO and Ceph) reject the SDK's default
            // checksums; AWS itself takes them.
            S3BackendConfig.Checksums byDefault = endpoint != null
                    ? S3BackendConfig.Checksums.WHEN_REQUIRED : S3BackendConfig.Checksums.WHEN_SUPPORTED;
            S3BackendConfig.Checksums checksums = n.parsed("checksums", byDefault, v ->
                    switch (v) {
                        case "when-supported" -> S3BackendConfig.Checksums.WHEN_SUPPORTED;
                        case "when-required" -> S3BackendConfig.Checksums.WHEN_REQUIRED;
                        default -> throw new IllegalArgumentException(v + " is not when-supported or when-required");
                    });
            long partSize = n.parsed("part-size", 0L, Units::parseSize);
            if (partSize != 0 && (partSize < 5L * 1024 * 1024 || partSize > 5L * 1024 * 1024 * 1024)) {
                throw new ConfigException(n.path("part-size"), Units.formatSize(partSize)
                        + " is outside 5MiB-5GiB, the part sizes S3 accepts");
            }
            int concurrency = n.integer("part-concurrency", 0, 1, 64);
            // ListObjectsV2 carries no metadata: reading kept times costs a HeadObject per file.
            boolean serverTimes = n.parsed("listing-times", false, v ->
                    switch (v) {
                        case "kept" -> false;
                        case "server" -> true;
                        default -> throw new IllegalArgumentException(v + " is not kept or server");
                    });
            // Over http:// the SDK signs every upload body (a SHA-256 of each 128 KiB); false sends
            // them unsigned, as over https://. No effect on https:// endpoints.
            boolean signedPayloads = n.bool("payload-signing", true);
            return new S3BackendConfig(name, bucket, prefix, n.string("region", "us-east-1"), endpoint,
                    n.bool("path-style", endpoint != null), accessKey, secretKey, checksums, partSize, concurrency,
                    serverTimes, signedPayloads);
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
