package org.transfergateway.config;

import java.net.URI;

/**
 * A bucket of Amazon S3 or of any S3-compatible service.
 *
 * @param prefix    a key prefix inside the bucket, "" or ending in "/"
 * @param endpoint  a custom endpoint, or null for AWS
 * @param accessKey null to use the SDK's default credential chain
 * @param checksums which request checksums the SDK sends
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
        Checksums checksums) implements BackendConfig {

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
}
