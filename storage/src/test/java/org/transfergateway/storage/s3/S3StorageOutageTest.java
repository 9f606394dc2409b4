package org.transfergateway.storage.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.transfergateway.storage.s3.S3StorageTest.PART;
import static org.transfergateway.storage.s3.S3StorageTest.random;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;

/** The S3 backend when the S3 server goes away in the middle of an upload and comes back. */
class S3StorageOutageTest {
    private static final String BUCKET = "outage";

    private S3ProxyFixture s3;
    private MemoryBudget budget;
    private S3Storage storage;

    @BeforeEach
    void startOwnServer() throws IOException {
        s3 = S3ProxyFixture.start(S3ProxyFixture.Provider.FILESYSTEM);
        s3.createBucket(BUCKET);
        S3BackendConfig cfg = s3.backend("archive", BUCKET, "");
        budget = new MemoryBudget(4L * PART);
        storage = S3Storage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), PART, 2, Duration.ofDays(1)), budget);
    }

    @AfterEach
    void stopServer() {
        storage.close();
        s3.close();
    }

    @Test
    void uploadCutOffMidwayByTheBackendFailsClearlyAndLeavesNothing() throws Exception {
        byte[] content = random(4 * PART, 21);
        Upload cut = storage.create("cut.bin");
        cut.write(ByteBuffer.wrap(content, 0, 2 * PART + 1));
        // Let the two parts land first: S3Proxy's stop() leaves a request that is being
        // received hanging, which only the attempt timeout would end (slowly).
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (budget.inUseBytes() > PART && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(PART, budget.inUseBytes(), "only the buffer being filled is held");
        s3.stop();

        GatewayException e = assertThrows(GatewayException.class, () -> {
            cut.write(ByteBuffer.wrap(content, 2 * PART + 1, 2 * PART - 1));
            cut.commit();
        });
        cut.close();
        assertEquals(ErrorCode.BACKEND_UNAVAILABLE, e.code());
        assertTrue(e.getMessage().startsWith("archive: "), e.getMessage());
        assertTrue(e.getMessage().contains("cut.bin"), e.getMessage());
        assertTrue(e.getMessage().contains("did not answer"), e.getMessage());
        assertEquals(0, budget.inUseBytes(), "the failed upload gave its buffers back");

        s3.restart();
        byte[] next = random(2 * PART + 5, 22);
        S3StorageTest.upload(storage, "next.bin", next);

        S3Client plain = s3.client();
        assertArrayEquals(next, plain.getObjectAsBytes(b -> b.bucket(BUCKET).key("next.bin")).asByteArray());
        assertThrows(NoSuchKeyException.class, () -> plain.headObject(b -> b.bucket(BUCKET).key("cut.bin")));
        assertEquals(List.of(), plain.listMultipartUploads(b -> b.bucket(BUCKET)).uploads(),
                "the cut-off upload was aborted once the backend was back");
    }
}
