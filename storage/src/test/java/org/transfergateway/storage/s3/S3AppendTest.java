package org.transfergateway.storage.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.JournaledUpload;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.UploadJournal;
import org.transfergateway.storage.testing.CountingRelay;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Appending to and resuming S3 objects (FTP APPE, REST + STOR) without reading them back:
 * the service copies the kept bytes into the new multipart upload. The backend talks to
 * S3Proxy through a {@link CountingRelay}, so the tests see every byte that crossed.
 */
class S3AppendTest {
    private static final int MIB = 1024 * 1024;
    private static final String PREFIX = "gw/";
    /** Responses to the create, the copies, one part and the complete are far below this. */
    private static final long REQUEST_OVERHEAD = 64 * 1024;

    private static final S3ProxyFixture s3 = S3ProxyFixture.sharedInMemory();
    private static CountingRelay relay;
    private final S3Client plain = s3.client();
    private final List<S3Storage> opened = new ArrayList<>();
    private String bucket;
    private S3Storage storage;

    @BeforeAll
    static void startRelay() throws IOException {
        relay = new CountingRelay(s3.endpoint());
    }

    @AfterAll
    static void stopRelay() throws IOException {
        relay.close();
    }

    @BeforeEach
    void newBucket() throws IOException {
        bucket = "append-" + UUID.randomUUID().toString().substring(0, 12);
        s3.createBucket(bucket);
        S3BackendConfig cfg = new S3BackendConfig("archive", bucket, PREFIX, S3ProxyFixture.REGION, relay.endpoint(), true,
                s3.accessKey(), s3.secretKey(), S3BackendConfig.Checksums.WHEN_REQUIRED);
        MemoryBudget budget = new MemoryBudget(8L * 5 * MIB);
        storage = S3Storage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), 5L * MIB, 2, Duration.ofDays(1)), budget);
        opened.add(storage);
    }

    @AfterEach
    void closeStoragesAndDropTheBucket() {
        opened.forEach(S3Storage::close);
        s3.deleteBucket(bucket);
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

    private static byte[] sha256(byte[] b) throws NoSuchAlgorithmException {
        return MessageDigest.getInstance("SHA-256").digest(b);
    }

    private void plainPut(String key, byte[] content) {
        plain.putObject(b -> b.bucket(bucket).key(PREFIX + key), RequestBody.fromBytes(content));
    }

    private byte[] plainGet(String key) {
        return plain.getObjectAsBytes(b -> b.bucket(bucket).key(PREFIX + key)).asByteArray();
    }

    private int pendingMultipartUploads() {
        return plain.listMultipartUploads(b -> b.bucket(bucket)).uploads().size();
    }

    /** Writes in 64 KiB pieces, as a network front end would. */
    private static void write(Upload u, byte[] content) throws IOException {
        for (int off = 0; off < content.length; off += 64 * 1024) {
            u.write(ByteBuffer.wrap(content, off, Math.min(64 * 1024, content.length - off)));
        }
    }

    /** What an upload told its journal, in order. */
    private static final class RecordingJournal implements UploadJournal {
        final List<String> events = new ArrayList<>();

        @Override
        public synchronized void opened(String key, String uploadId) {
            events.add("opened " + key + " " + uploadId);
        }

        @Override
        public synchronized void closed(String key, String uploadId) {
            events.add("closed " + key + " " + uploadId);
        }
    }

    @Test
    void appendingOneMibToTwelveMibReadsNothingBackAndStoresTheConcatenation() throws Exception {
        byte[] stored = random(12 * MIB, 1);
        byte[] tail = random(MIB, 2);
        plainPut("big.bin", stored);
        relay.reset();
        RecordingJournal journal = new RecordingJournal();
        ObjectInfo info;
        try (Upload u = storage.createContinuing("big.bin", stored.length)) {
            ((JournaledUpload) u).journalTo(journal);
            assertEquals(12L * MIB, u.written(), "the kept bytes count from the start");
            write(u, tail);
            assertEquals(13L * MIB, u.written());
            info = u.commit();
        }
        assertTrue(relay.fromServer() < REQUEST_OVERHEAD, relay.fromServer() + " bytes came back from S3");
        assertTrue(relay.toServer() < MIB + REQUEST_OVERHEAD, relay.toServer() + " bytes went to S3 for a 1 MiB append");
        assertEquals(13L * MIB, info.size());
        byte[] expected = concat(stored, stored.length, tail);
        byte[] now = plainGet("big.bin");
        assertEquals(expected.length, now.length);
        assertArrayEquals(sha256(expected), sha256(now));
        assertEquals(0, pendingMultipartUploads());
        assertEquals(2, journal.events.size(), journal.events.toString());
        assertTrue(journal.events.get(0).startsWith("opened gw/big.bin "), journal.events.toString());
        assertEquals(journal.events.get(0).replace("opened", "closed"), journal.events.get(1));
    }

    @Test
    void keptBytesOfMoreCopiedPartsThanRunAtOnceComeOutInOrder() throws Exception {
        // 6 copied parts of 5 MiB with 2 at once, then new parts numbered after them.
        byte[] stored = random(30 * MIB, 20);
        byte[] tail = random(7 * MIB + 3, 21);
        plainPut("many.bin", stored);
        relay.reset();
        try (Upload u = storage.createContinuing("many.bin", stored.length, 5L * MIB)) {
            write(u, tail);
            assertEquals(stored.length + tail.length, u.commit().size());
        }
        assertTrue(relay.fromServer() < REQUEST_OVERHEAD, relay.fromServer() + " bytes came back from S3");
        assertArrayEquals(sha256(concat(stored, stored.length, tail)), sha256(plainGet("many.bin")));
        assertEquals(0, pendingMultipartUploads());
    }

    @Test
    void anAppendAbortedWhileItsCopiesRunLeavesTheOldObjectAndNoUpload() throws Exception {
        byte[] stored = random(30 * MIB, 22);
        plainPut("copying.bin", stored);
        Upload u = storage.createContinuing("copying.bin", stored.length, 5L * MIB);
        write(u, random(1000, 23)); // the first write sets the 6 copies going
        u.abort();
        assertEquals(0, pendingMultipartUploads());
        assertArrayEquals(sha256(stored), sha256(plainGet("copying.bin")));
    }

    @Test
    void fewerKeptBytesThanOnePartAreReadThrough() throws Exception {
        // The contrast that shows the relay counts a read-back: under 5 MiB cannot be a copied part.
        byte[] stored = random(5 * MIB - 1, 3);
        byte[] tail = random(1000, 4);
        plainPut("small.bin", stored);
        relay.reset();
        try (Upload u = storage.createContinuing("small.bin", stored.length)) {
            write(u, tail);
            u.commit();
        }
        assertTrue(relay.fromServer() >= stored.length, relay.fromServer() + " bytes came back from S3");
        assertArrayEquals(concat(stored, stored.length, tail), plainGet("small.bin"));
    }

    @Test
    void resumingBelowTheSizeKeepsOnlyTheBytesBeforeTheOffset() throws Exception {
        byte[] stored = random(12 * MIB, 5);
        byte[] tail = random(6 * MIB + 7, 6);
        int keep = 7 * MIB + 1;
        plainPut("resume.bin", stored);
        relay.reset();
        try (Upload u = storage.createContinuing("resume.bin", keep)) {
            write(u, tail);
            assertEquals(keep + tail.length, u.written());
            assertEquals(keep + tail.length, u.commit().size());
        }
        assertTrue(relay.fromServer() < REQUEST_OVERHEAD, relay.fromServer() + " bytes came back from S3");
        assertArrayEquals(sha256(concat(stored, keep, tail)), sha256(plainGet("resume.bin")));
        assertEquals(0, pendingMultipartUploads());
    }

    @Test
    void anAppendOfNothingLeavesTheSameBytes() throws Exception {
        byte[] stored = random(6 * MIB, 7);
        plainPut("same.bin", stored);
        try (Upload u = storage.createContinuing("same.bin", stored.length)) {
            assertEquals(stored.length, u.commit().size());
        }
        assertArrayEquals(sha256(stored), sha256(plainGet("same.bin")));
        assertEquals(0, pendingMultipartUploads());
    }

    @Test
    void anAppendAbortedMidwayLeavesTheOldObjectAndNoUpload() throws Exception {
        byte[] stored = random(12 * MIB, 8);
        plainPut("abort.bin", stored);
        RecordingJournal journal = new RecordingJournal();
        Upload u = storage.createContinuing("abort.bin", stored.length);
        ((JournaledUpload) u).journalTo(journal);
        write(u, random(6 * MIB, 9)); // a full new part goes out after the copied one
        assertEquals(1, pendingMultipartUploads(), "the multipart upload is open before the abort");
        assertArrayEquals(sha256(stored), sha256(plainGet("abort.bin")), "the old object stays readable meanwhile");
        u.abort();
        u.close();
        assertEquals(0, pendingMultipartUploads());
        assertArrayEquals(sha256(stored), sha256(plainGet("abort.bin")));
        assertEquals(2, journal.events.size(), journal.events.toString());
        assertTrue(journal.events.get(1).startsWith("closed gw/abort.bin "), journal.events.toString());
        assertThrows(IOException.class, u::commit);
    }

    @Test
    void anObjectReplacedSinceTheAppendBeganFailsItAndStaysAsReplaced() throws Exception {
        byte[] stored = random(12 * MIB, 10);
        byte[] replacement = random(12 * MIB, 11); // the same size: only the ETag tells them apart
        plainPut("raced.bin", stored);
        Upload u = storage.createContinuing("raced.bin", stored.length);
        plainPut("raced.bin", replacement);
        GatewayException e = assertThrows(GatewayException.class, () -> {
            write(u, random(MIB, 12));
            u.commit();
        });
        assertEquals(ErrorCode.CONFLICT, e.code(), e.getMessage());
        u.close();
        assertArrayEquals(sha256(replacement), sha256(plainGet("raced.bin")));
        assertEquals(0, pendingMultipartUploads());
    }

    @Test
    void anObjectShorterThanTheBytesToKeepIsAConflictAndAnAbsentOneNotFound() throws IOException {
        plainPut("short.bin", random(6 * MIB, 13));
        assertEquals(ErrorCode.CONFLICT,
                assertThrows(GatewayException.class, () -> storage.createContinuing("short.bin", 7L * MIB)).code());
        assertEquals(ErrorCode.NOT_FOUND,
                assertThrows(GatewayException.class, () -> storage.createContinuing("absent.bin", 7L * MIB)).code());
        assertEquals(0, pendingMultipartUploads());
    }
}
