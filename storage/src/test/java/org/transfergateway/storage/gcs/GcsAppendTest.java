package org.transfergateway.storage.gcs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.transfergateway.config.GcsBackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.s3.MemoryBudget;
import org.transfergateway.storage.testing.CountingRelay;
import org.transfergateway.storage.testing.FakeGcsServer;

/**
 * Appending to GCS objects (FTP APPE, REST + STOR at the end) without reading them back:
 * the new bytes as a temporary object, then one compose held to the stored generation.
 * The backend talks to the fake through a {@link CountingRelay}, so the tests see every
 * byte that crossed; the fake refuses any request it does not know.
 */
class GcsAppendTest {
    private static final int CHUNK = 256 * 1024;
    private static final String BUCKET = "append";
    /** The answers to the get, compose and delete requests of one append are far below this. */
    private static final long REQUEST_OVERHEAD = 32 * 1024;
    private static final AtomicInteger tests = new AtomicInteger();
    private static FakeGcsServer fake;
    private static CountingRelay relay;

    private String prefix;
    private MemoryBudget budget;
    private GcsStorage storage;

    @BeforeAll
    static void start() throws IOException {
        fake = FakeGcsServer.start();
        fake.createBucket(BUCKET);
        relay = new CountingRelay(fake.endpoint());
    }

    @AfterAll
    static void stop() throws IOException {
        relay.close();
        fake.close();
    }

    @BeforeEach
    void open() throws IOException {
        prefix = "a" + tests.incrementAndGet() + "/";
        budget = new MemoryBudget(4L * CHUNK);
        GcsBackendConfig cfg = new GcsBackendConfig("g", BUCKET, prefix, "test-project", null, relay.endpoint(), CHUNK);
        storage = GcsStorage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), 8 << 20, 2, Duration.ofDays(1)),
                budget);
    }

    @AfterEach
    void close() {
        storage.close();
        assertEquals(List.of(), fake.takeRejected());
        assertEquals(List.of(), fake.names(BUCKET, prefix + ComposedAppend.TEMPORARY_FOLDER), "no temporary object left");
        assertEquals(List.of(), fake.openSessions(prefix));
        assertEquals(0, budget.inUseBytes());
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] concat(byte[] a, int aLength, byte[] b) {
        byte[] all = new byte[aLength + b.length];
        System.arraycopy(a, 0, all, 0, aLength);
        System.arraycopy(b, 0, all, aLength, b.length);
        return all;
    }

    private static void write(Upload u, byte[] content) throws IOException {
        for (int off = 0; off < content.length; off += 64 * 1024) {
            u.write(ByteBuffer.wrap(content, off, Math.min(64 * 1024, content.length - off)));
        }
    }

    @Test
    void appendingComposesTheStoredObjectWithTheNewBytesAndReadsNothingBack() throws Exception {
        for (int tail : new int[] {1000, 3 * CHUNK + 5}) {
            byte[] before = random(3 * 1024 * 1024 + 7, tail);
            fake.put(BUCKET, prefix + "log.bin", before);
            byte[] added = random(tail, tail + 1);
            relay.reset();
            ObjectInfo committed;
            try (Upload u = storage.createContinuing("log.bin", before.length)) {
                assertEquals(before.length, u.written());
                write(u, added);
                assertEquals(before.length + tail, u.written());
                // Until the commit the object is the old one, and the new bytes are nobody's file.
                assertArrayEquals(before, fake.content(BUCKET, prefix + "log.bin"));
                assertEquals(List.of("log.bin"), storage.list("").stream().map(ObjectInfo::name).toList());
                committed = u.commit();
            }
            assertEquals(before.length + tail, committed.size());
            assertTrue(relay.fromServer() < REQUEST_OVERHEAD, relay.fromServer() + " bytes came back from GCS");
            assertTrue(relay.toServer() >= tail && relay.toServer() < tail + REQUEST_OVERHEAD,
                    relay.toServer() + " bytes went to GCS, the new ones through the relay");
            assertArrayEquals(concat(before, before.length, added), fake.content(BUCKET, prefix + "log.bin"));
            assertEquals(before.length + tail, storage.stat("log.bin").size());
        }
        assertTrue(fake.requests().stream().anyMatch(r -> r.contains("/compose?") && r.contains("ifGenerationMatch=")), fake.requests().toString());
    }

    @Test
    void startUpDeletesTheTemporariesOfAppendsCutOffBeforeTheirComposeOnceOld() throws Exception {
        // What a gateway stopped between an append's upload and its compose leaves.
        String left = prefix + ComposedAppend.TEMPORARY_FOLDER + "/" + java.util.UUID.randomUUID();
        fake.put(BUCKET, left, random(1000, 9));
        fake.put(BUCKET, prefix + "kept.bin", random(100, 10));
        GcsBackendConfig cfg = new GcsBackendConfig("g", BUCKET, prefix, "test-project", null, relay.endpoint(), CHUNK);
        // Younger than the age: it may be an append of another gateway still under way.
        GcsStorage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), 8 << 20, 2, Duration.ofDays(1)), budget)
                .close();
        assertEquals(List.of(left), fake.names(BUCKET, prefix + ComposedAppend.TEMPORARY_FOLDER));
        GcsStorage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), 8 << 20, 2, Duration.ZERO), budget)
                .close();
        assertEquals(List.of(), fake.names(BUCKET, prefix + ComposedAppend.TEMPORARY_FOLDER));
        assertEquals(List.of(prefix + "kept.bin"), fake.names(BUCKET, prefix));
    }

    @Test
    void resumingBeforeTheEndReadsTheKeptBytesThrough() throws Exception {
        byte[] before = random(CHUNK * 2, 3);
        fake.put(BUCKET, prefix + "rest.bin", before);
        byte[] added = random(777, 4);
        try (Upload u = storage.createContinuing("rest.bin", CHUNK)) {
            write(u, added);
            u.commit();
        }
        assertArrayEquals(concat(before, CHUNK, added), fake.content(BUCKET, prefix + "rest.bin"));
    }

    @Test
    void anUploadThatReplacedTheObjectMeanwhileWinsAndTheAppendIsAConflict() throws Exception {
        byte[] before = random(5000, 5);
        fake.put(BUCKET, prefix + "raced.bin", before);
        byte[] newer = random(300, 6);
        try (Upload u = storage.createContinuing("raced.bin", before.length)) {
            write(u, random(CHUNK + 1, 7));
            fake.put(BUCKET, prefix + "raced.bin", newer);
            GatewayException e = assertThrows(GatewayException.class, u::commit);
            assertEquals(ErrorCode.CONFLICT, e.code());
        }
        assertArrayEquals(newer, fake.content(BUCKET, prefix + "raced.bin"));
    }

    @Test
    void anAbortedAppendLeavesTheObjectAsItWasAndNothingElse() throws Exception {
        byte[] before = random(4000, 8);
        fake.put(BUCKET, prefix + "kept.bin", before);
        try (Upload u = storage.createContinuing("kept.bin", before.length)) {
            write(u, random(2 * CHUNK + 3, 9));
            u.abort();
        }
        assertArrayEquals(before, fake.content(BUCKET, prefix + "kept.bin"));
        assertEquals(List.of("kept.bin"), fake.names(BUCKET, prefix).stream().map(n -> n.substring(prefix.length())).toList());
    }
}
