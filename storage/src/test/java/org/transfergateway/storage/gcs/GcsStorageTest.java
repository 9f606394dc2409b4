package org.transfergateway.storage.gcs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.config.GcsBackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.UploadJournal;
import org.transfergateway.storage.s3.MemoryBudget;
import org.transfergateway.storage.testing.FakeGcsServer;

/**
 * What the GCS backend does beyond the contract, checked on the requests the fake saw:
 * chunks of exactly the chunk size with the total on the last only, at most two chunks of
 * the budget held, one request for a small body, a cancelled session on abort, the
 * journal and crash recovery, a failed chunk resumed from what the session holds,
 * rewrites looping on their token, the start-up checks, and the fake's own strictness.
 */
class GcsStorageTest {
    static final int CHUNK = 256 * 1024;
    static final String BUCKET = "unit";
    static FakeGcsServer fake;
    static final AtomicInteger tests = new AtomicInteger();
    @TempDir
    Path dir;
    String prefix;
    MemoryBudget budget;
    GcsStorage storage;

    @BeforeAll
    static void startFake() throws IOException {
        fake = FakeGcsServer.start();
        fake.createBucket(BUCKET);
    }

    @AfterAll
    static void stopFake() {
        fake.close();
    }

    @BeforeEach
    void open() throws IOException {
        prefix = "u" + tests.incrementAndGet() + "/";
        budget = new MemoryBudget(4L * CHUNK);
        storage = open(config(BUCKET, fake.endpoint(), null));
    }

    @AfterEach
    void close() {
        storage.close();
        assertEquals(List.of(), fake.takeRejected());
        assertEquals(0, budget.inUseBytes());
    }

    GcsBackendConfig config(String bucket, URI endpoint, Path credentials) {
        return new GcsBackendConfig("g", bucket, prefix, "test-project", credentials, endpoint, CHUNK);
    }

    GcsStorage open(GcsBackendConfig cfg) throws GatewayException {
        return GcsStorage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), 8 << 20, 2, Duration.ofDays(1)), budget);
    }

    static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** The requests the fake saw since the {@code from}th, as "METHOD path?query". */
    List<String> requestsSince(int from) {
        return fake.requests().subList(from, fake.requests().size());
    }

    /**
     * rclone's convention on GCS: custom metadata {@code mtime} in RFC 3339 and gsutil's
     * {@code goog-reserved-file-mtime} in seconds, set by one metadata patch held to the
     * generation and metageneration read; either is read from objects others stored.
     */
    @Test
    void aTimeSetIsKeptAsRcloneKeepsItAndATimeAnotherClientKeptIsRead() throws IOException {
        fake.put(BUCKET, prefix + "r.csv", "a,b\n".getBytes(), Map.of("owner", "alice"));
        Instant time = Instant.parse("2001-02-03T04:05:06.123456789Z");

        storage.setModified("r.csv", time);

        assertEquals(Map.of("mtime", "2001-02-03T04:05:06.123456789Z", "goog-reserved-file-mtime", "981173106", "owner", "alice"),
                fake.metadata(BUCKET, prefix + "r.csv"));
        assertTrue(fake.requests().stream().anyMatch(r -> r.contains("r.csv?") && r.contains("ifGenerationMatch=") && r.contains("ifMetagenerationMatch=1")),
                fake.requests().toString());
        assertArrayEquals("a,b\n".getBytes(), fake.content(BUCKET, prefix + "r.csv"));
        assertEquals(time, storage.stat("r.csv").modified());

        fake.put(BUCKET, prefix + "rclone.bin", "x".getBytes(), Map.of("mtime", "2023-11-14T22:13:20.5Z"));
        fake.put(BUCKET, prefix + "gsutil.bin", "y".getBytes(), Map.of("goog-reserved-file-mtime", "1700000001"));
        assertEquals(List.of(Instant.parse("2023-11-14T22:13:21Z"), time, Instant.parse("2023-11-14T22:13:20.5Z")),
                storage.list("").stream().map(ObjectInfo::modified).toList());
    }

    @Test
    void aLongBodyGoesInChunksOfTheChunkSizeVisibleOnlyWithTheLastAndHoldsAtMostTwoChunks() throws IOException {
        byte[] data = random(5 * CHUNK + 1000, 1);
        int from = fake.requests().size();
        long peak = 0;
        try (Upload u = storage.create("long.bin")) {
            for (int off = 0; off < data.length; off += 64 * 1024) {
                u.write(ByteBuffer.wrap(data, off, Math.min(64 * 1024, data.length - off)));
                peak = Math.max(peak, budget.inUseBytes());
            }
            assertEquals(List.of(), fake.names(BUCKET, prefix), "nothing is visible before the commit");
            assertEquals(1, fake.openSessions(prefix).size());
            assertEquals(data.length, u.commit().size());
        }
        assertTrue(peak <= 2L * CHUNK, "held " + peak);
        assertArrayEquals(data, fake.content(BUCKET, prefix + "long.bin"));
        List<String> seen = requestsSince(from);
        assertEquals(1, seen.stream().filter(r -> r.startsWith("POST") && r.contains("uploadType=resumable")).count(), seen.toString());
        assertEquals(6, seen.stream().filter(r -> r.startsWith("PUT") && r.contains("upload_id=")).count(), seen.toString());
        assertEquals(List.of(), fake.openSessions(prefix));
    }

    @Test
    void aBodyWithinOneChunkIsOneMediaUploadFromNoMoreMemoryThanItNeeds() throws IOException {
        int from = fake.requests().size();
        try (Upload u = storage.create("small.bin", 1000)) {
            u.write(ByteBuffer.wrap(random(1000, 2)));
            assertEquals(1000, budget.inUseBytes());
            u.commit();
        }
        assertArrayEquals(random(1000, 2), fake.content(BUCKET, prefix + "small.bin"));
        List<String> uploads = requestsSince(from).stream().filter(r -> r.contains("/upload/")).toList();
        assertEquals(1, uploads.size(), uploads.toString());
        assertTrue(uploads.get(0).contains("uploadType=media"), uploads.toString());
    }

    @Test
    void anEmptyBodyIsAnEmptyObject() throws IOException {
        try (Upload u = storage.create("empty.bin")) {
            assertEquals(0, u.commit().size());
        }
        assertArrayEquals(new byte[0], fake.content(BUCKET, prefix + "empty.bin"));
    }

    @Test
    void anAbortCancelsTheSessionAndTheJournalHearsOfItsOpeningAndClosing() throws IOException {
        List<String> events = new CopyOnWriteArrayList<>();
        Upload u = storage.create("aborted.bin");
        ((org.transfergateway.storage.JournaledUpload) u).journalTo(new UploadJournal() {
            @Override
            public void opened(String key, String uploadId) {
                events.add("opened " + key + " " + uploadId);
            }

            @Override
            public void closed(String key, String uploadId) {
                events.add("closed " + key + " " + uploadId);
            }
        });
        u.write(ByteBuffer.wrap(random(3 * CHUNK, 3)));
        assertEquals(1, fake.openSessions(prefix).size());
        u.abort();
        assertEquals(List.of(), fake.openSessions(prefix));
        assertEquals(List.of(), fake.names(BUCKET, prefix));
        assertEquals(2, events.size(), events.toString());
        String session = events.get(0).substring(events.get(0).lastIndexOf(' ') + 1);
        assertEquals("opened " + prefix + "aborted.bin " + session, events.get(0));
        assertEquals("closed " + prefix + "aborted.bin " + session, events.get(1));
        assertTrue(fake.requests().stream().anyMatch(r -> r.startsWith("DELETE") && r.contains(session.substring(session.indexOf("upload_id=")))));
    }

    /** A crash: chunks sent, neither committed nor aborted; recovery cancels what the journal recorded. */
    @Test
    void recoveryCancelsTheSessionAJournalRecorded() throws IOException {
        List<String> opened = new ArrayList<>();
        Upload crashed = storage.create("crashed.bin");
        ((org.transfergateway.storage.JournaledUpload) crashed).journalTo(new UploadJournal() {
            @Override
            public void opened(String key, String uploadId) {
                opened.add(uploadId);
            }

            @Override
            public void closed(String key, String uploadId) {
            }
        });
        crashed.write(ByteBuffer.wrap(random(2 * CHUNK + 1, 4)));
        assertEquals(1, fake.openSessions(prefix).size());
        try (GcsStorage afterRestart = open(config(BUCKET, fake.endpoint(), null))) {
            assertTrue(afterRestart.abortUpload(prefix + "crashed.bin", opened.get(0)));
            assertTrue(afterRestart.abortUpload(prefix + "crashed.bin", opened.get(0)), "gone already is fine");
        }
        assertEquals(List.of(), fake.openSessions(prefix));
        crashed.abort();
        assertEquals(List.of(), fake.names(BUCKET, prefix));
    }

    @Test
    void aChunkAnswered503IsResumedFromWhatTheSessionHolds() throws IOException {
        byte[] data = random(4 * CHUNK + 17, 5);
        int from = fake.requests().size();
        fake.failNextChunks(2);
        try (Upload u = storage.create("retried.bin")) {
            u.write(ByteBuffer.wrap(data));
            u.commit();
        }
        assertArrayEquals(data, fake.content(BUCKET, prefix + "retried.bin"));
        // Two refused chunks, each followed by a status query, on top of the five chunks.
        assertEquals(5 + 2 + 2, requestsSince(from).stream().filter(r -> r.startsWith("PUT")).count());
    }

    /** Four refusals of one chunk: the upload fails as the backend's failure, cancels its session and gives the budget back. */
    @Test
    void aChunkThatKeepsFailingFailsTheUploadAndLeavesNothing() throws IOException {
        fake.failNextChunks(GcsBucket.MAX_ATTEMPTS);
        Upload u = storage.create("failing.bin");
        GatewayException e = assertThrows(GatewayException.class, () -> {
            u.write(ByteBuffer.wrap(random(3 * CHUNK, 10)));
            u.commit();
        });
        assertEquals(ErrorCode.BACKEND_FAILED, e.code());
        assertTrue(e.getMessage().contains("HTTP 503"), e.getMessage());
        u.close();
        assertEquals(List.of(), fake.openSessions(prefix));
        assertEquals(List.of(), fake.names(BUCKET, prefix));
        fake.failNextChunks(0);
    }

    /** GCS may persist less than a chunk and say so in the 308's Range: the rest is sent at once. */
    @Test
    void aChunkTakenInPartHasItsRestSentAtOnce() throws IOException {
        budget = new MemoryBudget(8L * CHUNK);
        GcsBackendConfig cfg = new GcsBackendConfig("g", BUCKET, prefix, "test-project", null, fake.endpoint(), 2 * CHUNK);
        byte[] data = random(5 * CHUNK + 3, 9);
        int from = fake.requests().size();
        fake.takePartOfNextChunks(2);
        try (GcsStorage big = GcsStorage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), 8 << 20, 2,
                Duration.ofDays(1)), budget); Upload u = big.create("partial.bin")) {
            u.write(ByteBuffer.wrap(data));
            u.commit();
        }
        assertArrayEquals(data, fake.content(BUCKET, prefix + "partial.bin"));
        // Two chunks of 512 KiB, each taken in two requests, then the last chunk.
        assertEquals(2 * 2 + 1, requestsSince(from).stream().filter(r -> r.startsWith("PUT")).count());
    }

    @Test
    void anOverwriteThatIsAbortedKeepsTheOldObject() throws IOException {
        fake.put(BUCKET, prefix + "kept.bin", "old".getBytes());
        try (Upload u = storage.create("kept.bin")) {
            u.write(ByteBuffer.wrap(random(3 * CHUNK, 6)));
        }
        assertArrayEquals("old".getBytes(), fake.content(BUCKET, prefix + "kept.bin"));
        assertEquals(List.of(), fake.openSessions(prefix));
    }

    @Test
    void aRenameOfABigObjectLoopsOnTheRewriteToken() throws IOException {
        byte[] data = random(3 * CHUNK, 7);
        fake.put(BUCKET, prefix + "big.bin", data);
        fake.rewriteBytesPerCall(CHUNK);
        int from = fake.requests().size();
        try {
            storage.move("big.bin", "moved/big.bin");
        } finally {
            fake.rewriteBytesPerCall(Long.MAX_VALUE);
        }
        assertEquals(3, requestsSince(from).stream().filter(r -> r.contains("/rewriteTo/")).count());
        assertNull(fake.content(BUCKET, prefix + "big.bin"));
        assertArrayEquals(data, fake.content(BUCKET, prefix + "moved/big.bin"));
    }

    @Test
    void aRangedReadAsksForTheRangeOnly() throws IOException {
        byte[] data = random(3 * CHUNK, 8);
        fake.put(BUCKET, prefix + "ranged.bin", data);
        try (InputStream in = storage.read("ranged.bin", 1000, 5000)) {
            assertArrayEquals(java.util.Arrays.copyOfRange(data, 1000, 6000), in.readAllBytes());
        }
        // Well over the read buffer, streamed in one request.
        int from = fake.requests().size();
        try (InputStream in = storage.read("ranged.bin", 10, -1)) {
            assertArrayEquals(java.util.Arrays.copyOfRange(data, 10, data.length), in.readAllBytes());
        }
        assertEquals(1, requestsSince(from).stream().filter(r -> r.contains("alt=media")).count(), requestsSince(from).toString());
    }

    // ---- start-up ----

    private String failure(GcsBackendConfig cfg) {
        GatewayException e = assertThrows(GatewayException.class, () -> open(cfg).close());
        assertEquals(ErrorCode.BACKEND_UNAVAILABLE, e.code());
        assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        return e.getMessage();
    }

    @Test
    void aMissingBucketFailsInOneLineNamingTheBackend() {
        assertEquals("g: bucket absent at " + fake.endpoint() + " does not exist", failure(config("absent", fake.endpoint(), null)));
    }

    @Test
    void anUnreachableEndpointFailsInOneLineNamingTheBackend() throws IOException {
        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        URI endpoint = URI.create("http://127.0.0.1:" + closed);
        String message = failure(config(BUCKET, endpoint, null));
        assertTrue(message.startsWith("g: bucket unit at " + endpoint + " is unreachable: "), message);
    }

    @Test
    void anUnreadableCredentialsFileFailsInOneLineNamingTheBackend() throws IOException {
        Path key = Files.writeString(dir.resolve("key.json"), "{\"type\": \"nonsense\"}");
        String message = failure(config(BUCKET, fake.endpoint(), key));
        assertTrue(message.startsWith("g: bucket unit at " + fake.endpoint() + " cannot be used: "), message);
        assertTrue(message.contains("key.json"), message);
        Path missing = dir.resolve("missing.json");
        assertTrue(failure(config(BUCKET, fake.endpoint(), missing)).contains("missing.json"));
    }

    /** A well-formed service account key whose token request is refused, as Google refuses a revoked key. */
    @Test
    void refusedCredentialsFailInOneLineNamingTheBackend() throws Exception {
        Path key = GcsKeys.serviceAccountKey(dir, fake.tokenUri());
        String message = failure(config(BUCKET, fake.endpoint(), key));
        assertTrue(message.startsWith("g: bucket unit at " + fake.endpoint() + " refuses the credentials: "), message);
        assertTrue(message.contains("invalid_grant"), message);
    }

    // ---- the fake's strictness ----

    @Test
    void theFakeRefusesWhatItDoesNotKnow() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        String base = fake.endpoint().toString();
        assertEquals(400, http.send(HttpRequest.newBuilder(URI.create(base + "/storage/v1/b/" + BUCKET + "?surprise=1")).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode());
        assertEquals(501, http.send(HttpRequest.newBuilder(URI.create(base + "/storage/v1/b/" + BUCKET + "/iam")).build(),
                HttpResponse.BodyHandlers.discarding()).statusCode());
        HttpResponse<Void> start = http.send(HttpRequest.newBuilder(URI.create(base + "/upload/storage/v1/b/" + BUCKET
                        + "/o?uploadType=resumable&name=" + prefix + "strict.bin")).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.discarding());
        assertEquals(200, start.statusCode());
        URI session = URI.create(start.headers().firstValue("Location").orElseThrow());
        // A chunk that is not a multiple of 256 KiB, and one that does not start where the session stands.
        assertEquals(400, http.send(HttpRequest.newBuilder(session).header("Content-Range", "bytes 0-999/*")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[1000])).build(), HttpResponse.BodyHandlers.discarding()).statusCode());
        assertEquals(400, http.send(HttpRequest.newBuilder(session).header("Content-Range", "bytes 5-9/10")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[5])).build(), HttpResponse.BodyHandlers.discarding()).statusCode());
        assertEquals(308, http.send(HttpRequest.newBuilder(session).header("Content-Range", "bytes 0-262143/*")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(new byte[CHUNK])).build(), HttpResponse.BodyHandlers.discarding()).statusCode());
        HttpResponse<Void> query = http.send(HttpRequest.newBuilder(session).header("Content-Range", "bytes */*")
                .PUT(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
        assertEquals(308, query.statusCode());
        assertEquals("bytes=0-262143", query.headers().firstValue("Range").orElseThrow());
        assertEquals(List.of(), fake.names(BUCKET, prefix), "not visible before the last chunk");
        assertEquals(499, http.send(HttpRequest.newBuilder(session).DELETE().build(), HttpResponse.BodyHandlers.discarding()).statusCode());
        assertEquals(404, http.send(HttpRequest.newBuilder(session).header("Content-Range", "bytes */*")
                .PUT(HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding()).statusCode());
        assertEquals(4, fake.takeRejected().size());
    }
}
