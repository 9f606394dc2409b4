package org.transfergateway.storage.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.StorageContractTest;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.services.s3.model.MultipartUpload;

/**
 * The storage contract on the S3 backend against the shared, disk-backed S3Proxy: one
 * bucket for the class, a prefix of its own per test, and parts of the smallest size S3
 * allows, so that {@link #LARGE} bodies go in two.
 */
class S3StorageContractTest extends StorageContractTest {
    static final int PART = 5 * MIB;

    private static final S3ProxyFixture s3 = S3ProxyFixture.shared();
    private static final String BUCKET = "contract-" + UUID.randomUUID().toString().substring(0, 8);
    private static final AtomicInteger tests = new AtomicInteger();
    private String prefix;

    @BeforeAll
    static void createBucket() {
        s3.createBucket(BUCKET);
    }

    @AfterAll
    static void dropBucket() {
        s3.deleteBucket(BUCKET);
    }

    @Override
    protected Storage newStorage() throws IOException {
        prefix = "gw/t" + tests.incrementAndGet() + "/";
        S3BackendConfig cfg = s3.backend("contract", BUCKET, prefix);
        MemoryBudget budget = new MemoryBudget(4L * PART);
        return S3Storage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), PART, 2, Duration.ofDays(1)), budget);
    }

    /** Straight into S3Proxy's blob store: a thousand small objects in well under a second. */
    @Override
    protected void seed(String key, byte[] content) {
        s3.seed(BUCKET, prefix + key, content);
    }

    /** No multipart upload is open under the test's prefix. */
    @Override
    protected void assertNoUploadLeftOpen() {
        List<String> open = s3.client().listMultipartUploads(b -> b.bucket(BUCKET).prefix(prefix)).uploads().stream()
                .map(MultipartUpload::key).toList();
        assertEquals(List.of(), open);
    }
}
