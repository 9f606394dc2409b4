package org.transfergateway.storage.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.StagedUpload;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * Staged uploads on S3 (S3Proxy, in memory: flat keys as on S3), each request a new
 * instance from the state the last one saved and a new backend instance where a restart
 * would make one: full parts go up as they fill, the tail waits in a side object that the
 * listings leave out, what a request wrote without saving is written again, and the
 * commit or abort leaves no multipart upload and no side object.
 */
class S3StagedTest {
    private static final int PART = S3StorageTest.PART;
    private static final String PREFIX = "gw/";

    private final S3ProxyFixture s3 = S3ProxyFixture.sharedInMemory();
    private final S3Client plain = s3.client();
    private final List<S3Storage> opened = new ArrayList<>();
    private String bucket;
    private S3BackendConfig cfg;

    @BeforeEach
    void newBucket() {
        bucket = "st-" + UUID.randomUUID().toString().substring(0, 12);
        s3.createBucket(bucket);
        cfg = s3.backend("archive", bucket, PREFIX);
    }

    @AfterEach
    void closeStoragesAndDropTheBucket() {
        opened.forEach(S3Storage::close);
        s3.deleteBucket(bucket);
    }

    /** A backend instance, as a gateway (re)starting opens one. */
    private S3Storage open() throws IOException {
        MemoryBudget budget = new MemoryBudget(4L * PART);
        S3Storage s = S3Storage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), PART, 2, Duration.ofDays(1)),
                budget);
        opened.add(s);
        return s;
    }

    /** The keys under the backend's prefix (S3Proxy keeps its own entries of multipart uploads outside it). */
    private List<String> plainKeys() {
        return plain.listObjectsV2Paginator(b -> b.bucket(bucket).prefix(PREFIX)).contents().stream().map(S3Object::key)
                .sorted().toList();
    }

    private List<String> sideObjects() {
        return plainKeys().stream().filter(k -> k.startsWith(PREFIX + S3Staged.STAGING)).toList();
    }

    private int openMultipartUploads() {
        return plain.listMultipartUploads(b -> b.bucket(bucket)).uploads().size();
    }

    private static void write(StagedUpload u, byte[] bytes, int from, int to) throws IOException {
        for (int off = from; off < to; off += 64 * 1024) {
            u.write(ByteBuffer.wrap(bytes, off, Math.min(64 * 1024, to - off)));
        }
    }

    /** One request: continues from {@code state}, writes {@code [from, to)}, saves; the new state. */
    private String request(S3Storage storage, String state, byte[] bytes, int from, int to) throws IOException {
        StagedUpload u = storage.stage("alice/s.bin", state);
        try {
            assertEquals(from, u.size());
            write(u, bytes, from, to);
            assertEquals(to, u.size());
            String saved = u.save();
            u.saved();
            return saved;
        } finally {
            u.release();
        }
    }

    @Test
    void tailsWaitInSideObjectsAcrossRestartsAndTheCommitLeavesOnlyTheObject() throws IOException {
        byte[] bytes = S3StorageTest.random(2 * PART + 12345, 1);
        S3Storage storage = open();
        StagedUpload started = storage.stage("alice/s.bin", null);
        String state = started.save();
        assertEquals(1, openMultipartUploads(), "one multipart upload from the start");
        assertEquals(List.of(), plainKeys(), "nothing visible");

        state = request(storage, state, bytes, 0, 1000);
        assertEquals(List.of(PREFIX + S3Staged.STAGING), sideObjects().stream()
                .map(k -> k.substring(0, (PREFIX + S3Staged.STAGING).length())).toList());
        assertEquals(List.of(), storage.list(""), "the side objects are no user's files");
        List<ObjectInfo> walked = new ArrayList<>();
        storage.walk("", walked::add);
        assertEquals(List.of(), walked);

        storage = open(); // a restart
        state = request(storage, state, bytes, 1000, PART + 7);
        assertEquals(1, sideObjects().size(), "the earlier tail went once the new one was recorded");
        assertTrue(sideObjects().get(0).endsWith("/" + (PART + 7)), sideObjects().toString());

        // A request that wrote past a part and was never saved (a crash): its parts are sent again.
        StagedUpload lost = open().stage("alice/s.bin", state);
        write(lost, bytes, PART + 7, 2 * PART + 100);
        lost.release();

        storage = open();
        state = request(storage, state, bytes, PART + 7, 2 * PART + 100);
        // The last request saves (the ledger records the full offset), then commits.
        StagedUpload last = storage.stage("alice/s.bin", state);
        write(last, bytes, 2 * PART + 100, bytes.length);
        state = last.save();
        last.saved();
        ObjectInfo info = last.commit();
        assertEquals(bytes.length, info.size());
        assertArrayEquals(bytes, plain.getObjectAsBytes(b -> b.bucket(bucket).key(PREFIX + "alice/s.bin")).asByteArray());
        assertEquals(List.of(PREFIX + "alice/s.bin"), plainKeys(), "no side object left");
        assertEquals(0, openMultipartUploads());

        // Committed again from that state (a crash lost the ledger's record of the commit): the object as it is.
        assertEquals(bytes.length, open().stage("alice/s.bin", state).commit().size());
        assertArrayEquals(bytes, plain.getObjectAsBytes(b -> b.bucket(bucket).key(PREFIX + "alice/s.bin")).asByteArray());
    }

    @Test
    void anAbortLeavesNothingAndASmallUploadIsOnePart() throws IOException {
        S3Storage storage = open();
        String state = storage.stage("alice/s.bin", null).save();
        byte[] bytes = S3StorageTest.random(PART + 10, 2);
        state = request(storage, state, bytes, 0, PART + 10);
        // A newer side object that a crash left unrecorded goes with the abort too.
        StagedUpload unrecorded = storage.stage("alice/s.bin", state);
        write(unrecorded, bytes, 0, 20);
        unrecorded.save();
        unrecorded.release();
        assertEquals(2, sideObjects().size());
        storage.stage("alice/s.bin", state).abort();
        assertEquals(List.of(), plainKeys());
        assertEquals(0, openMultipartUploads());

        StagedUpload small = storage.stage("alice/small.bin", null);
        write(small, bytes, 0, 100);
        assertEquals(100, small.commit().size());
        StagedUpload empty = storage.stage("alice/empty.bin", null);
        assertEquals(0, empty.commit().size());
        assertEquals(List.of(PREFIX + "alice/empty.bin", PREFIX + "alice/small.bin"), plainKeys());
        assertEquals(0, openMultipartUploads());
    }

    @Test
    void theStagingFolderIsNoUsersPath() throws IOException {
        S3Storage storage = open();
        GatewayException e = assertThrows(GatewayException.class, () -> storage.create(".gateway-staging/x"));
        assertEquals(ErrorCode.BAD_PATH, e.code());
        assertEquals(ErrorCode.BAD_PATH, assertThrows(GatewayException.class, () -> storage.makeFolder(".gateway-staging")).code());
        plain.putObject(b -> b.bucket(bucket).key(PREFIX + "alice/a.txt"), RequestBody.fromString("a"));
        assertEquals(ErrorCode.BAD_PATH, assertThrows(GatewayException.class,
                () -> storage.move("alice/a.txt", ".gateway-staging/a.txt")).code());
    }
}
