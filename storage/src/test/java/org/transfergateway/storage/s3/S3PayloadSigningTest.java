package org.transfergateway.storage.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.testing.CountingRelay;
import org.transfergateway.storage.testing.S3ProxyFixture;

/**
 * How upload bodies are signed on a plain-HTTP endpoint: by default as the SDK does
 * (aws-chunked, every chunk signed), and with {@code payload-signing: false} unsigned,
 * as over HTTPS, while every request still authenticates. A relay in front of S3Proxy
 * shows the {@code x-amz-content-sha256} header of each request.
 */
class S3PayloadSigningTest {
    private static final int MIB = 1024 * 1024;
    private static final String PREFIX = "gw/";
    private static final String SIGNED_CHUNKS = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
    private static final String UNSIGNED = "UNSIGNED-PAYLOAD";

    private static final S3ProxyFixture s3 = S3ProxyFixture.sharedInMemory();
    private static CountingRelay relay;
    private String bucket;

    @BeforeAll
    static void startRelay() throws IOException {
        relay = new CountingRelay(s3.endpoint());
    }

    @AfterAll
    static void stopRelay() throws IOException {
        relay.close();
    }

    @BeforeEach
    void newBucket() {
        bucket = "signing-" + UUID.randomUUID().toString().substring(0, 12);
        s3.createBucket(bucket);
    }

    private S3Storage open(boolean signedPayloads, URI endpoint) throws IOException {
        S3BackendConfig cfg = new S3BackendConfig("archive", bucket, PREFIX, S3ProxyFixture.REGION, endpoint, true,
                s3.accessKey(), s3.secretKey(), S3BackendConfig.Checksums.WHEN_REQUIRED, 0, 0, false, signedPayloads);
        MemoryBudget budget = new MemoryBudget(4L * 5 * MIB);
        return S3Storage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), 5L * MIB, 2, Duration.ofDays(1)),
                budget);
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Writes {@code body} in 64 KiB pieces and commits: sized for a single PutObject, else in parts. */
    private static void upload(S3Storage storage, String key, byte[] body, boolean sized) throws IOException {
        try (Upload u = sized ? storage.create(key, body.length) : storage.create(key)) {
            for (int at = 0; at < body.length; at += 64 * 1024) {
                u.write(ByteBuffer.wrap(body, at, Math.min(64 * 1024, body.length - at)));
            }
            assertEquals(body.length, u.commit().size());
        }
    }

    private static byte[] read(S3Storage storage, String key) throws IOException {
        try (InputStream in = storage.read(key, 0, -1)) {
            return in.readAllBytes();
        }
    }

    private void uploadAndReadBack(S3Storage storage) throws IOException {
        byte[] parts = random(12 * MIB + 3, 1);
        byte[] one = random(300 * 1024 + 7, 2);
        upload(storage, "parts.bin", parts, false);
        upload(storage, "one.bin", one, true);
        assertArrayEquals(parts, read(storage, "parts.bin"));
        assertArrayEquals(one, read(storage, "one.bin"));
        storage.delete("one.bin");
        assertEquals(null, storage.stat("one.bin"));
    }

    @Test
    void overHttpBodiesAreSignedChunkByChunkByDefault() throws IOException {
        try (S3Storage storage = open(true, relay.endpoint())) {
            relay.reset();
            uploadAndReadBack(storage);
            List<String> hashes = relay.payloadHashes();
            // Three parts and the single PutObject (requests without a body, such as reads, go
            // UNSIGNED-PAYLOAD either way).
            assertEquals(4, hashes.stream().filter(SIGNED_CHUNKS::equals).count(), hashes.toString());
        }
    }

    @Test
    void withPayloadSigningOffBodiesAreSentUnsignedAndEveryRequestStillAuthenticates() throws IOException {
        try (S3Storage storage = open(false, relay.endpoint())) {
            relay.reset();
            uploadAndReadBack(storage);
            List<String> hashes = relay.payloadHashes();
            assertTrue(hashes.stream().noneMatch(h -> h.startsWith("STREAMING-")), hashes.toString());
            // Besides the reads: the three parts and the single PutObject.
            assertTrue(hashes.stream().filter(UNSIGNED::equals).count() >= 4 + 3, hashes.toString());
        }
    }

    @Test
    void withPayloadSigningOffAWrongSecretIsStillRefused() {
        S3BackendConfig cfg = new S3BackendConfig("archive", bucket, PREFIX, S3ProxyFixture.REGION, relay.endpoint(), true,
                s3.accessKey(), "not-the-secret", S3BackendConfig.Checksums.WHEN_REQUIRED, 0, 0, false, false);
        MemoryBudget budget = new MemoryBudget(4L * 5 * MIB);
        IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> S3Storage.open(cfg,
                new StorageConfig(List.of(cfg), budget.capacityBytes(), 5L * MIB, 2, Duration.ofDays(1)), budget).close());
        assertTrue(e.getMessage().contains("archive"), e.getMessage());
    }
}
