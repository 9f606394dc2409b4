package org.transfergateway.storage.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.transfergateway.storage.s3.S3StorageTest.PART;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.testing.S3ProxyFixture;

/** The S3 backend on the shared, disk-backed S3Proxy that the other modules' tests use. */
class S3StorageOnDiskTest {

    @Test
    void aMultipartUploadRoundTripsThroughTheSharedDiskBackedServer() throws IOException {
        S3ProxyFixture s3 = S3ProxyFixture.shared();
        s3.createBucket("on-disk");
        S3BackendConfig cfg = s3.backend("disk", "on-disk", "p/");
        MemoryBudget budget = new MemoryBudget(3L * PART);
        byte[] content = S3StorageTest.random(2 * PART + 77, 31);
        try (S3Storage storage = S3Storage.open(cfg,
                new StorageConfig(List.of(cfg), budget.capacityBytes(), PART, 2, Duration.ofDays(1)), budget)) {
            assertEquals(content.length, S3StorageTest.upload(storage, "a/b.bin", content).size());
            try (InputStream in = storage.read("a/b.bin", PART, -1)) {
                assertArrayEquals(java.util.Arrays.copyOfRange(content, PART, content.length), in.readAllBytes());
            }
        }
        assertArrayEquals(content, s3.client().getObjectAsBytes(b -> b.bucket("on-disk").key("p/a/b.bin")).asByteArray());
        assertEquals(List.of(), s3.client().listMultipartUploads(b -> b.bucket("on-disk")).uploads());
    }
}
