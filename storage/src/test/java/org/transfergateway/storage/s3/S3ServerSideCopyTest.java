package org.transfergateway.storage.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.local.LocalStorage;
import org.transfergateway.storage.testing.S3ProxyFixture;

/** A copy between two buckets of one S3 service, made by the service (a pool's replica). */
class S3ServerSideCopyTest {
    private static final S3ProxyFixture s3 = S3ProxyFixture.shared();
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final String FROM = "copy-from-" + RUN;
    private static final String TO = "copy-to-" + RUN;
    private static S3Storage source;
    private static S3Storage target;

    @TempDir
    Path dir;

    @BeforeAll
    static void open() throws IOException {
        s3.createBucket(FROM);
        s3.createBucket(TO);
        source = open(s3.backend("from", FROM, "a/"));
        target = open(s3.backend("to", TO, "b/"));
    }

    private static S3Storage open(S3BackendConfig cfg) throws IOException {
        MemoryBudget budget = new MemoryBudget(32L * 1024 * 1024);
        return S3Storage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), 5L * 1024 * 1024, 2,
                Duration.ofDays(1)), budget);
    }

    @AfterAll
    static void close() {
        source.close();
        target.close();
        s3.deleteBucket(FROM);
        s3.deleteBucket(TO);
    }

    @Test
    void theServiceCopiesAnObjectIntoAnotherBucketUnderItsPrefix() throws IOException {
        byte[] body = new byte[3 * 1024 * 1024 + 17];
        new Random(3).nextBytes(body);
        try (Upload u = source.create("dir/obj.bin")) {
            u.write(ByteBuffer.wrap(body));
            u.commit();
        }
        ObjectInfo copy = target.copyFrom(source, "dir/obj.bin");
        assertEquals("dir/obj.bin", copy.key());
        assertEquals(body.length, copy.size());
        try (InputStream in = target.read("dir/obj.bin", 0, -1)) {
            assertArrayEquals(body, in.readAllBytes());
        }
        assertEquals(body.length, s3.client().headObject(b -> b.bucket(TO).key("b/dir/obj.bin")).contentLength());
    }

    @Test
    void anAbsentObjectIsNotFoundAndAnotherKindOfBackendCannotCopy() throws IOException {
        assertEquals(ErrorCode.NOT_FOUND,
                assertThrows(GatewayException.class, () -> target.copyFrom(source, "absent")).code());
        assertNull(new LocalStorage("disk", dir).copyFrom(source, "dir/obj.bin"));
        assertNull(target.copyFrom(new LocalStorage("disk", dir), "x"));
    }
}
