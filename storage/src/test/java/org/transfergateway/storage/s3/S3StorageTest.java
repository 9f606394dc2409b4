package org.transfergateway.storage.s3;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.BodyPipe;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.testing.S3ProxyFixture;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

/** The S3 backend against a real S3 server (S3Proxy), checked with a plain SDK client. */
class S3StorageTest {
    static final int PART = 5 * 1024 * 1024;
    private static final String PREFIX = "gw/";

    /** In memory: keys stay flat as on S3, so listings can be asserted exactly. */
    private final S3ProxyFixture s3 = S3ProxyFixture.sharedInMemory();
    private final S3Client plain = s3.client();
    private final List<S3Storage> opened = new ArrayList<>();
    private String bucket;
    private S3Storage storage;

    @BeforeEach
    void newBucket() throws IOException {
        bucket = "t-" + UUID.randomUUID().toString().substring(0, 12);
        s3.createBucket(bucket);
        storage = open(s3.backend("archive", bucket, PREFIX), 4 * PART, 2);
    }

    @AfterEach
    void closeStoragesAndDropTheBucket() {
        opened.forEach(S3Storage::close);
        s3.deleteBucket(bucket);
    }

    private S3Storage open(S3BackendConfig cfg, long budgetBytes, int concurrency) throws IOException {
        return open(cfg, new MemoryBudget(budgetBytes), concurrency, Duration.ofDays(1));
    }

    private S3Storage open(S3BackendConfig cfg, MemoryBudget budget, int concurrency, Duration abandoned) throws IOException {
        StorageConfig shared = new StorageConfig(List.of(cfg), budget.capacityBytes(), PART, concurrency, abandoned);
        S3Storage s = S3Storage.open(cfg, shared, budget);
        opened.add(s);
        return s;
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Writes in 64 KiB pieces, as a network front end would. */
    static ObjectInfo upload(S3Storage storage, String key, byte[] content) throws IOException {
        try (Upload u = storage.create(key)) {
            for (int off = 0; off < content.length; off += 64 * 1024) {
                u.write(ByteBuffer.wrap(content, off, Math.min(64 * 1024, content.length - off)));
            }
            assertEquals(content.length, u.written());
            return u.commit();
        }
    }

    private byte[] plainGet(String fullKey) {
        return plain.getObjectAsBytes(b -> b.bucket(bucket).key(fullKey)).asByteArray();
    }

    private void plainPut(String fullKey, byte[] content) {
        plain.putObject(b -> b.bucket(bucket).key(fullKey), RequestBody.fromBytes(content));
    }

    private List<String> plainKeys() {
        return plain.listObjectsV2Paginator(b -> b.bucket(bucket)).contents().stream().map(S3Object::key).toList();
    }

    private int pendingMultipartUploads() {
        return plain.listMultipartUploads(b -> b.bucket(bucket)).uploads().size();
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {0, 1, PART, PART + 1, 3 * PART + 12345})
    void uploadedBytesComeBackExactly(int size) throws IOException {
        byte[] content = random(size, size);
        ObjectInfo info = upload(storage, "alice/data.bin", content);

        assertEquals("alice/data.bin", info.key());
        assertEquals(size, info.size());
        assertArrayEquals(content, plainGet(PREFIX + "alice/data.bin"));
        try (InputStream in = storage.read("alice/data.bin", 0, -1)) {
            assertArrayEquals(content, in.readAllBytes());
        }
        assertEquals(0, pendingMultipartUploads());
    }

    /** Writes {@code content} to an upload opened with its size announced. */
    static Upload writeAnnounced(S3Storage storage, String key, byte[] content) throws IOException {
        Upload u = storage.create(key, content.length);
        for (int off = 0; off < content.length; off += 64 * 1024) {
            u.write(ByteBuffer.wrap(content, off, Math.min(64 * 1024, content.length - off)));
        }
        return u;
    }

    @ParameterizedTest(name = "{0} bytes")
    @ValueSource(ints = {1, PART, 3 * PART + 12345})
    void aBodyOfAnnouncedSizeIsOneStreamedPutWithNoPartBuffers(int size) throws IOException {
        // A budget of one part: a multipart upload of these sizes would need more at once.
        S3Storage tight = open(s3.backend("tight", bucket, PREFIX), PART, 1);
        byte[] content = random(size, size + 3);
        ObjectInfo info;
        try (Upload u = writeAnnounced(tight, "streamed.bin", content)) {
            assertEquals(size, u.written());
            info = u.commit();
        }
        assertEquals(size, info.size());
        assertFalse(info.etag().contains("-"), "one PutObject, not parts: " + info.etag());
        assertArrayEquals(content, plainGet(PREFIX + "streamed.bin"));
        assertEquals(0, pendingMultipartUploads());
    }

    @Test
    void aStreamedPutAbortedAfterItsLastByteLeavesTheOldObject() throws IOException {
        plainPut(PREFIX + "keep.bin", new byte[] {42});
        Upload u = writeAnnounced(storage, "keep.bin", random(2 * PART, 21));
        assertEquals(2 * PART, u.written());
        u.abort(); // every byte was written: only the held-back last one keeps the PUT from landing
        assertArrayEquals(new byte[] {42}, plainGet(PREFIX + "keep.bin"));
        assertEquals(List.of(PREFIX + "keep.bin"), plainKeys());
        assertThrows(IOException.class, u::commit);
    }

    @Test
    void aStreamedPutShorterOrLongerThanAnnouncedFailsAndLeavesNothing() throws IOException {
        Upload shortBody = storage.create("short.bin", 1000);
        shortBody.write(ByteBuffer.wrap(new byte[999]));
        GatewayException e = assertThrows(GatewayException.class, shortBody::commit);
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
        assertTrue(e.getMessage().contains("999 of the 1000 bytes"), e.getMessage());

        Upload longBody = storage.create("long.bin", 1000);
        longBody.write(ByteBuffer.wrap(new byte[600]));
        e = assertThrows(GatewayException.class, () -> longBody.write(ByteBuffer.wrap(new byte[600])));
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
        assertThrows(IOException.class, longBody::commit);
        assertEquals(List.of(), plainKeys());
        assertEquals(0, pendingMultipartUploads());
    }

    /** What a front end may write from its event loop: copies that cannot wait. */
    @Test
    void aWriteTakesWithoutWaitingOnlyWhileItFitsWhatIsHeld() throws IOException {
        try (Upload parts = storage.create("parts.bin")) {
            assertFalse(parts.takesWithoutWaiting(1), "no part buffer is held yet");
            parts.write(ByteBuffer.wrap(new byte[1000]));
            assertTrue(parts.takesWithoutWaiting(PART - 1000), "the rest of the first part is held");
            assertFalse(parts.takesWithoutWaiting(PART - 999), "one byte more needs a new part");
        }
        try (Upload streamed = storage.create("streamed.bin", 10 * PART)) {
            assertTrue(streamed.takesWithoutWaiting(64 * 1024));
            assertFalse(streamed.takesWithoutWaiting(BodyPipe.CAPACITY + 1), "more than the pipe holds");
        }
    }

    @Test
    void anAnnouncedSizeOverTheSinglePutLimitGoesInParts() throws IOException {
        Upload u = storage.create("big.bin", S3Storage.SINGLE_PUT_MAX + 1);
        u.write(ByteBuffer.wrap(random(2 * PART, 22)));
        assertEquals(1, pendingMultipartUploads(), "a multipart upload was started");
        u.abort();
        assertEquals(0, pendingMultipartUploads());
    }

    @Test
    void aBodyOfOnePartIsOneObjectWithoutMultipart() throws IOException {
        byte[] content = random(PART, 7);
        ObjectInfo info = upload(storage, "one.bin", content);
        // A multipart ETag ends in "-<parts>"; a PutObject's is the MD5.
        assertFalse(info.etag().contains("-"), info.etag());
    }

    @Test
    void aBodyOverOnePartIsAMultipartUploadOfGrowingCount() throws IOException {
        ObjectInfo info = upload(storage, "multi.bin", random(3 * PART + 1, 8));
        assertTrue(info.etag().endsWith("-4"), info.etag());
    }

    @Test
    void s3ProxyRefusesTheSdkDefaultChecksumsWithAClearError() throws IOException {
        // The reason for checksums: when-required with S3Proxy (and other S3-compatible services).
        S3Storage defaults = open(s3.backend("defaults", bucket, PREFIX, S3BackendConfig.Checksums.WHEN_SUPPORTED), 4 * PART, 2);
        GatewayException e = assertThrows(GatewayException.class, () -> upload(defaults, "crc.bin", new byte[] {1, 2, 3}));
        assertEquals(ErrorCode.BACKEND_FAILED, e.code());
        assertTrue(e.getMessage().startsWith("defaults: "), e.getMessage());
        assertTrue(e.getMessage().contains("crc.bin"), e.getMessage());
        assertEquals(List.of(), plainKeys());
    }

    @Test
    void closingAReadEarlyStopsAndLeavesTheStorageUsable() throws IOException {
        byte[] content = random(4 * PART, 11);
        upload(storage, "big.bin", content);
        for (int i = 0; i < 30; i++) {
            // More early closes than the pool has connections: a leaked connection would hang.
            InputStream in = storage.read("big.bin", 0, -1);
            assertEquals(content[0], (byte) in.read());
            in.close();
        }
        try (InputStream in = storage.read("big.bin", PART, 10)) {
            assertArrayEquals(Arrays.copyOfRange(content, PART, PART + 10), in.readAllBytes());
        }
    }

    @Test
    void statTellsFilesFromFoldersAndTheRootIsAlwaysAFolder() throws IOException {
        plainPut(PREFIX + "a/b/c.txt", new byte[3]);
        plainPut(PREFIX + "empty/", new byte[0]);
        ObjectInfo file = storage.stat("a/b/c.txt");
        assertEquals(ObjectInfo.file("a/b/c.txt", 3, file.modified(), file.etag()), file);
        assertTrue(storage.stat("a").folder());
        assertTrue(storage.stat("a/b").folder());
        assertTrue(storage.stat("empty").folder());
        assertTrue(storage.stat("").folder());
        assertNull(storage.stat("a/b/c"));
        assertNull(storage.stat("nothing"));
    }

    @Test
    void listingPagesThroughMoreThanAThousandKeys() throws IOException {
        int files = 1_003;
        for (int i = 0; i < files; i++) {
            s3.seed(bucket, String.format("%smany/f%04d", PREFIX, i), new byte[] {1});
        }
        plainPut(PREFIX + "many/", new byte[0]);
        plainPut(PREFIX + "many/sub/x", new byte[2]);
        plainPut(PREFIX + "many/sub/", new byte[0]);
        assertEquals(files + 3, plainKeys().size());

        List<ObjectInfo> entries = storage.list("many");
        assertEquals(files + 1, entries.size());
        assertEquals("many/f0000", entries.get(0).key());
        assertEquals(String.format("many/f%04d", files - 1), entries.get(files - 1).key());
        assertEquals(ObjectInfo.folder("many/sub", java.time.Instant.EPOCH), entries.get(files));
        assertTrue(entries.stream().limit(files).allMatch(e -> !e.folder() && e.size() == 1));

        List<ObjectInfo> walked = new ArrayList<>();
        storage.walk("many", walked::add);
        assertEquals(files + 1, walked.size(), "markers left out");
        assertTrue(walked.stream().anyMatch(e -> e.key().equals("many/sub/x") && e.size() == 2));

        assertEquals(List.of(ObjectInfo.folder("many", java.time.Instant.EPOCH)), storage.list(""));
        assertEquals(List.of(), storage.list("nowhere"));
    }

    @Test
    void deleteSaysWhetherThereWasAnObject() throws IOException {
        upload(storage, "d/x.bin", new byte[] {1, 2});
        assertTrue(storage.delete("d/x.bin"));
        assertFalse(storage.delete("d/x.bin"));
        assertEquals(List.of(), plainKeys());

        upload(storage, "d/y.bin", new byte[] {1});
        GatewayException e = assertThrows(GatewayException.class, () -> storage.delete("d"));
        assertEquals(ErrorCode.CONFLICT, e.code());
    }

    @Test
    void moveOfAFolderMovesEverythingUnderIt() throws IOException {
        storage.makeFolder("src");
        upload(storage, "src/a.bin", new byte[] {1});
        upload(storage, "src/deep/b.bin", new byte[] {2, 2});
        storage.move("src", "dst");
        assertEquals(List.of(PREFIX + "dst/", PREFIX + "dst/a.bin", PREFIX + "dst/deep/b.bin"), plainKeys());
        assertArrayEquals(new byte[] {2, 2}, plainGet(PREFIX + "dst/deep/b.bin"));
        assertNull(storage.stat("src"));
        assertEquals(ErrorCode.CONFLICT,
                assertThrows(GatewayException.class, () -> storage.move("dst", "dst/inner")).code());
    }

    @Test
    void foldersAreMadeAndRemovedOnlyWhenEmpty() throws IOException {
        storage.makeFolder("f");
        storage.makeFolder("f");
        assertEquals(List.of(PREFIX + "f/"), plainKeys());
        assertTrue(storage.stat("f").folder());
        assertEquals(List.of(), storage.list("f"));

        upload(storage, "f/child.bin", new byte[] {1});
        GatewayException e = assertThrows(GatewayException.class, () -> storage.removeFolder("f"));
        assertEquals(ErrorCode.NOT_EMPTY, e.code());

        assertTrue(storage.delete("f/child.bin"));
        assertTrue(storage.removeFolder("f"));
        assertFalse(storage.removeFolder("f"));
        assertEquals(List.of(), plainKeys());
    }

    @Test
    void abortMidUploadLeavesNoObjectAndNoParts() throws IOException {
        plainPut(PREFIX + "keep.bin", new byte[] {42});
        Upload u = storage.create("keep.bin");
        byte[] content = random(3 * PART, 13);
        u.write(ByteBuffer.wrap(content));
        assertEquals(1, pendingMultipartUploads(), "parts went out before the abort");
        u.abort();
        u.abort();
        u.close();

        assertEquals(0, pendingMultipartUploads());
        assertArrayEquals(new byte[] {42}, plainGet(PREFIX + "keep.bin"), "the replaced object is unchanged");
        assertEquals(List.of(PREFIX + "keep.bin"), plainKeys());
        assertThrows(IOException.class, u::commit);
    }

    @Test
    void concurrentUploadsShareASmallBudgetAndAllSucceed() throws Exception {
        // Two parts of memory for four writers of four parts each: they must take turns.
        MemoryBudget budget = new MemoryBudget(2L * PART);
        S3Storage tight = open(s3.backend("tight", bucket, PREFIX), budget, 2, Duration.ofDays(1));
        ExecutorService writers = Executors.newFixedThreadPool(4);
        try {
            List<Future<ObjectInfo>> results = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                int n = i;
                results.add(writers.submit(() -> upload(tight, "c/" + n + ".bin", random(3 * PART + n, n))));
            }
            for (Future<ObjectInfo> f : results) {
                f.get();
            }
        } finally {
            writers.shutdown();
        }
        for (int i = 0; i < 4; i++) {
            assertArrayEquals(random(3 * PART + i, i), plainGet(PREFIX + "c/" + i + ".bin"));
        }
        assertEquals(0, budget.inUseBytes(), "every buffer went back");
    }

    @Test
    void startUpAbortsAbandonedMultipartUploads() throws IOException {
        plain.createMultipartUpload(b -> b.bucket(bucket).key(PREFIX + "old.bin"));
        plain.createMultipartUpload(b -> b.bucket(bucket).key("other-prefix/old.bin"));
        assertEquals(2, pendingMultipartUploads());

        open(s3.backend("again", bucket, PREFIX), new MemoryBudget(PART), 1, Duration.ZERO);

        List<String> left = plain.listMultipartUploads(b -> b.bucket(bucket)).uploads().stream()
                .map(u -> u.key()).toList();
        assertEquals(List.of("other-prefix/old.bin"), left, "only uploads under the prefix are aborted");
    }

    @Test
    void startUpKeepsRecentMultipartUploads() throws IOException {
        plain.createMultipartUpload(b -> b.bucket(bucket).key(PREFIX + "recent.bin"));
        open(s3.backend("again", bucket, PREFIX), new MemoryBudget(PART), 1, Duration.ofHours(1));
        assertEquals(1, pendingMultipartUploads());
    }

    @Test
    void anUnreachableBucketFailsStartUpWithOneClearLine() throws IOException {
        GatewayException missing = assertThrows(GatewayException.class,
                () -> open(s3.backend("archive", "no-such-bucket", ""), PART, 1));
        assertEquals(ErrorCode.BACKEND_UNAVAILABLE, missing.code());
        assertTrue(missing.getMessage().startsWith("archive: bucket no-such-bucket at " + s3.endpoint() + " is unreachable: "),
                missing.getMessage());
        assertFalse(missing.getMessage().contains("\n"));

        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        URI nowhere = URI.create("http://127.0.0.1:" + closedPort);
        S3BackendConfig down = new S3BackendConfig("archive", bucket, "", "us-east-1", nowhere, true,
                s3.accessKey(), s3.secretKey(), S3BackendConfig.Checksums.WHEN_SUPPORTED);
        GatewayException refused = assertThrows(GatewayException.class, () -> open(down, PART, 1));
        assertEquals(ErrorCode.BACKEND_UNAVAILABLE, refused.code());
        assertTrue(refused.getMessage().startsWith("archive: bucket " + bucket + " at " + nowhere + " is unreachable: "),
                refused.getMessage());
        assertTrue(refused.getMessage().toLowerCase().contains("refused"), refused.getMessage());
    }

    @Test
    void wrongCredentialsAreForbidden() throws IOException {
        S3BackendConfig good = s3.backend("archive", bucket, PREFIX);
        S3BackendConfig bad = new S3BackendConfig("archive", bucket, PREFIX, "us-east-1", good.endpoint(), true,
                good.accessKey(), "wrong-secret", good.checksums());
        GatewayException e = assertThrows(GatewayException.class, () -> open(bad, PART, 1));
        assertEquals(ErrorCode.BACKEND_UNAVAILABLE, e.code());
        assertTrue(e.getMessage().contains("access denied"), e.getMessage());
    }

    @Test
    void keysAreHandedOutWithoutThePrefix() throws IOException {
        upload(storage, "p/q.bin", new byte[] {5});
        plainPut("outside.bin", new byte[] {6});
        assertEquals(List.of("p/q.bin"), walkAll(""));
        assertEquals(List.of(ObjectInfo.folder("p", java.time.Instant.EPOCH)), storage.list(""));
        assertNull(storage.stat("outside.bin"));
    }

    private List<String> walkAll(String dir) throws IOException {
        List<String> keys = new ArrayList<>();
        storage.walk(dir, o -> keys.add(o.key()));
        return keys;
    }

    @Test
    void anUploadOntoAFolderIsAConflict() throws IOException {
        storage.makeFolder("dir");
        GatewayException e = assertThrows(GatewayException.class, () -> storage.create("dir"));
        assertEquals(ErrorCode.CONFLICT, e.code());
        assertEquals(List.of(PREFIX + "dir/"), plainKeys());
    }

    @Test
    void bytesWrittenAfterCommitAreRefused() throws IOException {
        Upload u = storage.create("once.bin");
        u.write(ByteBuffer.wrap(new byte[] {1}));
        assertNotNull(u.commit());
        assertThrows(IOException.class, () -> u.write(ByteBuffer.wrap(new byte[] {2})));
        u.close();
        assertArrayEquals(new byte[] {1}, plainGet(PREFIX + "once.bin"));
    }
}
