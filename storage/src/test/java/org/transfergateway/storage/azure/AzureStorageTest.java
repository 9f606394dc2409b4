package org.transfergateway.storage.azure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.azure.core.util.BinaryData;
import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.models.BlobItem;
import com.azure.storage.blob.models.BlobListDetails;
import com.azure.storage.blob.models.Block;
import com.azure.storage.blob.models.BlockListType;
import com.azure.storage.blob.models.ListBlobsOptions;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.transfergateway.config.AzureBackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.JournaledUpload;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.UploadJournal;
import org.transfergateway.storage.s3.MemoryBudget;
import org.transfergateway.storage.testing.AzuriteFixture;

/**
 * What the contract suite does not reach on Azure: the blocks an upload stages and commits,
 * the budget given back, the journal and crash recovery, listings past one page of 5,000,
 * and the start-up checks.
 */
class AzureStorageTest {
    private static final int MIB = 1024 * 1024;
    private static final int BLOCK = MIB;
    private static final String CONTAINER = "unit-" + UUID.randomUUID().toString().substring(0, 8);
    private static final AtomicInteger tests = new AtomicInteger();
    private static AzuriteFixture azurite;
    private static BlobContainerClient container;

    private String prefix;
    private MemoryBudget budget;
    private AzureStorage storage;

    @BeforeAll
    static void createContainer() {
        azurite = AzuriteFixture.shared();
        container = azurite.createContainer(CONTAINER);
    }

    @AfterAll
    static void dropContainer() {
        if (azurite != null) {
            azurite.deleteContainer(CONTAINER);
        }
    }

    @BeforeEach
    void open() throws IOException {
        prefix = "u" + tests.incrementAndGet() + "/";
        budget = new MemoryBudget(4L * BLOCK);
        storage = open(azurite.backend("unit", CONTAINER, prefix));
    }

    private AzureStorage open(AzureBackendConfig cfg) throws GatewayException {
        return AzureStorage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), BLOCK, 2, Duration.ofDays(1)), budget);
    }

    @AfterEach
    void close() {
        storage.close();
    }

    private static void writeAll(Upload u, byte[] content) throws IOException {
        for (int off = 0; off < content.length; off += 64 * 1024) {
            u.write(ByteBuffer.wrap(content, off, Math.min(64 * 1024, content.length - off)));
        }
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Blobs under the prefix that exist only as staged blocks. */
    private List<String> stagedOnly() {
        List<String> committed = container.listBlobs(new ListBlobsOptions().setPrefix(prefix), null).stream()
                .map(BlobItem::getName).toList();
        return container.listBlobs(new ListBlobsOptions().setPrefix(prefix)
                        .setDetails(new BlobListDetails().setRetrieveUncommittedBlobs(true)), null).stream()
                .map(BlobItem::getName).filter(n -> !committed.contains(n)).toList();
    }

    /** rclone's convention on Azure: blob metadata {@code mtime} in RFC 3339 with nine decimals. */
    @Test
    void aTimeSetIsKeptAsRcloneKeepsItAndATimeAnotherClientKeptIsRead() throws IOException {
        var blob = container.getBlobClient(prefix + "r.csv").getBlockBlobClient();
        blob.upload(com.azure.core.util.BinaryData.fromString("a,b\n"), true);
        blob.setMetadata(java.util.Map.of("owner", "alice"));
        java.time.Instant time = java.time.Instant.parse("2001-02-03T04:05:06.123456789Z");

        storage.setModified("r.csv", time);

        var p = blob.getProperties();
        assertEquals(java.util.Map.of("mtime", "2001-02-03T04:05:06.123456789Z", "owner", "alice"), p.getMetadata());
        assertEquals(4, p.getBlobSize());
        assertEquals(time, storage.stat("r.csv").modified());

        var other = container.getBlobClient(prefix + "other.bin").getBlockBlobClient();
        other.upload(com.azure.core.util.BinaryData.fromString("x"), true);
        other.setMetadata(java.util.Map.of("mtime", "2023-11-14T22:13:20.5+01:00"));
        assertEquals(java.time.Instant.parse("2023-11-14T21:13:20.5Z"), storage.stat("other.bin").modified());
        assertEquals(java.util.List.of(java.time.Instant.parse("2023-11-14T21:13:20.5Z"), time),
                storage.list("").stream().map(ObjectInfo::modified).toList());
    }

    @Test
    void aLongBodyIsCommittedAsOneBlockListOfFullBlocksAndTheBudgetIsGivenBack() throws IOException {
        byte[] content = random(3 * BLOCK + 1000, 1);
        ObjectInfo stored;
        try (Upload u = storage.create("big.bin")) {
            writeAll(u, content);
            stored = u.commit();
        }
        assertEquals(content.length, stored.size());
        List<Long> sizes = container.getBlobClient(prefix + "big.bin").getBlockBlobClient()
                .listBlocks(BlockListType.COMMITTED).getCommittedBlocks().stream().map(Block::getSizeLong).toList();
        assertEquals(List.of((long) BLOCK, (long) BLOCK, (long) BLOCK, 1000L), sizes);
        assertEquals(0, budget.inUseBytes());
        try (InputStream in = storage.read("big.bin", BLOCK - 10, BLOCK + 20)) {
            byte[] expected = new byte[BLOCK + 20];
            System.arraycopy(content, BLOCK - 10, expected, 0, expected.length);
            assertArrayEquals(expected, in.readAllBytes());
        }
    }

    /** The budget is shared: while others hold all of it, a write waits, and goes on once memory is given back. */
    @Test
    void aWriteWaitsWhileTheSharedBudgetIsSpent() throws Exception {
        java.nio.ByteBuffer held = budget.acquire((int) budget.capacityBytes());
        byte[] content = random(BLOCK + 10, 7);
        ExecutorService writer = Executors.newSingleThreadExecutor();
        try (Upload u = storage.create("waits.bin")) {
            Future<?> write = writer.submit(() -> {
                writeAll(u, content);
                return null;
            });
            Thread.sleep(300);
            assertFalse(write.isDone(), "the write waits for memory");
            budget.release(held);
            write.get(10, TimeUnit.SECONDS);
            u.commit();
        } finally {
            writer.shutdownNow();
        }
        try (InputStream in = storage.read("waits.bin", 0, -1)) {
            assertArrayEquals(content, in.readAllBytes());
        }
        assertEquals(0, budget.inUseBytes());
    }

    @Test
    void aBodyOfKnownSizeThatFitsOneBlockIsOnePutBlobFromNoMoreMemoryThanItNeeds() throws IOException {
        byte[] content = random(1000, 2);
        try (Upload u = storage.create("small.bin", content.length)) {
            u.write(ByteBuffer.wrap(content));
            assertEquals(1000, budget.inUseBytes());
            u.commit();
        }
        // A Put Blob leaves no block list behind.
        assertEquals(List.of(), container.getBlobClient(prefix + "small.bin").getBlockBlobClient()
                .listBlocks(BlockListType.COMMITTED).getCommittedBlocks());
        assertEquals(0, budget.inUseBytes());
    }

    /**
     * A known size beyond the first block (up to 256 MiB) streams as one Put Blob: no block
     * is staged and no memory of the budget is held, whatever the size.
     */
    @Test
    void aBodyOfKnownSizeBeyondOneBlockStreamsAsOnePutBlobWithoutTheBudget() throws IOException {
        byte[] content = random(5 * BLOCK + 123, 3);
        ObjectInfo stored;
        try (Upload u = storage.create("streamed.bin", content.length)) {
            writeAll(u, content);
            assertEquals(0, budget.inUseBytes());
            assertFalse(container.getBlobClient(prefix + "streamed.bin").exists(), "visible before the commit");
            stored = u.commit();
        }
        assertEquals(content.length, stored.size());
        assertEquals(List.of(), container.getBlobClient(prefix + "streamed.bin").getBlockBlobClient()
                .listBlocks(BlockListType.ALL).getCommittedBlocks());
        assertEquals(List.of(), stagedOnly());
        try (InputStream in = storage.read("streamed.bin", 0, -1)) {
            assertArrayEquals(content, in.readAllBytes());
        }
    }

    /**
     * A streamed Put Blob aborted after its last write, cut short, or sent too long leaves
     * nothing, and the blob it would have replaced stays whole.
     */
    @Test
    void aStreamedPutAbortedAfterItsLastWriteCutShortOrTooLongLeavesNothing() throws IOException {
        byte[] content = random(2 * BLOCK + 5, 4);
        try (Upload u = storage.create("aborted.bin", content.length)) {
            writeAll(u, content);
            u.abort();
        }
        assertFalse(container.getBlobClient(prefix + "aborted.bin").exists());
        byte[] old = random(100, 5);
        try (Upload u = storage.create("kept.bin", old.length)) {
            u.write(ByteBuffer.wrap(old));
            u.commit();
        }
        try (Upload u = storage.create("kept.bin", content.length)) {
            u.write(ByteBuffer.wrap(content, 0, content.length - 1));
            GatewayException e = assertThrows(GatewayException.class, u::commit);
            assertEquals(ErrorCode.BAD_REQUEST, e.code());
        }
        try (Upload u = storage.create("kept.bin", content.length)) {
            GatewayException e = assertThrows(GatewayException.class, () -> writeAll(u, java.util.Arrays.copyOf(content, content.length + 1)));
            assertEquals(ErrorCode.BAD_REQUEST, e.code());
        }
        try (InputStream in = storage.read("kept.bin", 0, -1)) {
            assertArrayEquals(old, in.readAllBytes());
        }
        assertEquals(List.of(), stagedOnly());
    }

    @Test
    void theJournalHearsOfStagedBlocksAndRecoveryDiscardsThem() throws IOException {
        List<String> events = new CopyOnWriteArrayList<>();
        UploadJournal journal = new UploadJournal() {
            @Override
            public void opened(String key, String uploadId) {
                events.add("opened " + key);
            }

            @Override
            public void closed(String key, String uploadId) {
                events.add("closed " + key);
            }
        };
        JournaledUpload committed = (JournaledUpload) storage.create("done.bin");
        committed.journalTo(journal);
        writeAll(committed, random(2 * BLOCK + 1, 3));
        committed.commit();
        assertEquals(List.of("opened " + prefix + "done.bin", "closed " + prefix + "done.bin"), events);

        // A crash: blocks staged, neither committed nor aborted; recovery aborts what the journal recorded.
        events.clear();
        List<String> ids = new ArrayList<>();
        JournaledUpload crashed = (JournaledUpload) storage.create("crashed.bin");
        crashed.journalTo(new UploadJournal() {
            @Override
            public void opened(String key, String uploadId) {
                ids.add(key + " " + uploadId);
            }

            @Override
            public void closed(String key, String uploadId) {
            }
        });
        writeAll(crashed, random(3 * BLOCK, 4));
        assertEquals(1, ids.size());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (stagedOnly().isEmpty() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(List.of(prefix + "crashed.bin"), stagedOnly());
        String[] recorded = ids.get(0).split(" ");
        try (AzureStorage afterRestart = open(azurite.backend("unit", CONTAINER, prefix))) {
            assertTrue(afterRestart.abortUpload(recorded[0], recorded[1]));
        }
        assertEquals(List.of(), stagedOnly());
        assertNull(storage.stat("crashed.bin"));
        crashed.abort(); // the "crashed" process's leftovers, for this test's own budget
    }

    @Test
    void anAbortedUploadOverAnExistingBlobKeepsItWhole() throws IOException {
        byte[] old = random(10, 5);
        container.getBlobClient(prefix + "kept.bin").upload(BinaryData.fromBytes(old), true);
        try (Upload u = storage.create("kept.bin")) {
            writeAll(u, random(3 * BLOCK, 6));
        }
        try (InputStream in = storage.read("kept.bin", 0, -1)) {
            assertArrayEquals(old, in.readAllBytes());
        }
        assertEquals(List.of(), stagedOnly());
        assertEquals(0, budget.inUseBytes());
    }

    /** Azure lists at most 5,000 blobs a page: the listing and the walk follow the continuation. */
    @Test
    void aListingPastFiveThousandBlobsReturnsThemAll() throws Exception {
        int count = 5_100;
        ExecutorService writers = Executors.newFixedThreadPool(16);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                String name = prefix + String.format("many/f%05d", i);
                done.add(writers.submit(() -> container.getBlobClient(name).upload(BinaryData.fromBytes(new byte[] {7}), true)));
            }
            for (Future<?> f : done) {
                f.get();
            }
        } finally {
            writers.shutdown();
        }
        List<ObjectInfo> listed = storage.list("many");
        assertEquals(count, listed.size());
        for (int i = 0; i < count; i++) {
            assertEquals(String.format("many/f%05d", i), listed.get(i).key());
            assertEquals(1, listed.get(i).size());
        }
        AtomicInteger walked = new AtomicInteger();
        storage.walk("", o -> walked.incrementAndGet());
        assertEquals(count, walked.get());
        storage.makeFolder("moved-from");
        assertEquals(List.of("many", "moved-from"), storage.list("").stream().map(ObjectInfo::name).toList());
    }

    // ---- start-up checks ----

    private static String startUpFailure(AzureBackendConfig cfg) {
        MemoryBudget b = new MemoryBudget(4L * BLOCK);
        GatewayException e = assertThrows(GatewayException.class, () -> AzureStorage.open(cfg,
                new StorageConfig(List.of(cfg), b.capacityBytes(), BLOCK, 2, Duration.ofDays(1)), b));
        assertEquals(ErrorCode.BACKEND_UNAVAILABLE, e.code());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    @Test
    void aMissingContainerWrongKeyOrUnreachableEndpointFailsInOneLineNamingTheBackend() throws IOException {
        URI endpoint = azurite.endpoint();
        String missing = startUpFailure(new AzureBackendConfig("blob", "no-such-container", "", endpoint,
                AzuriteFixture.ACCOUNT, AzuriteFixture.KEY, null, null, 0));
        assertEquals("blob: container no-such-container at " + endpoint + " is unreachable: not found (ContainerNotFound)", missing);

        String wrongKey = startUpFailure(new AzureBackendConfig("blob", CONTAINER, "", endpoint,
                AzuriteFixture.ACCOUNT, "d3Jvbmcga2V5", null, null, 0));
        assertEquals("blob: container " + CONTAINER + " at " + endpoint + " is unreachable: access denied (AuthorizationFailure)",
                wrongKey);

        int closed;
        try (ServerSocket s = new ServerSocket(0)) {
            closed = s.getLocalPort();
        }
        URI nowhere = URI.create("http://127.0.0.1:" + closed + "/" + AzuriteFixture.ACCOUNT);
        String unreachable = startUpFailure(new AzureBackendConfig("blob", CONTAINER, "", nowhere,
                AzuriteFixture.ACCOUNT, AzuriteFixture.KEY, null, null, 0));
        assertTrue(unreachable.startsWith("blob: container " + CONTAINER + " at " + nowhere + " is unreachable: "), unreachable);
    }

    @Test
    void aConnectionStringWorksAsWellAsTheAccountKey() throws IOException {
        String cs = "DefaultEndpointsProtocol=http;AccountName=" + AzuriteFixture.ACCOUNT + ";AccountKey=" + AzuriteFixture.KEY
                + ";BlobEndpoint=" + azurite.endpoint() + ";";
        try (AzureStorage byString = open(new AzureBackendConfig("cs", CONTAINER, prefix, null, null, null, cs, null, 0))) {
            try (Upload u = byString.create("cs.bin")) {
                u.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
                u.commit();
            }
        }
        assertEquals(3, storage.stat("cs.bin").size());
    }

    /**
     * A streamed Put Blob's body is read on a thread of the backend's HTTP client, which
     * waits while the writer sends nothing. More stalled writers than the Azure SDK's
     * shared pool has threads (ten a core) once held up every other request of the
     * backend until a writer went on; now they wait on threads of their own.
     */
    @Test
    void uploadsWhoseWritersStallDoNotHoldUpTheBackend() throws Exception {
        int stalled = 10 * Runtime.getRuntime().availableProcessors() + 2;
        List<Upload> open = new CopyOnWriteArrayList<>();
        byte[] content = random(2 * BLOCK, 99);
        // On a thread of its own: held up, even opening an upload would wait without end.
        ExecutorService side = Executors.newSingleThreadExecutor();
        try {
            Future<ObjectInfo> meanwhile = side.submit(() -> {
                for (int i = 0; i < stalled; i++) {
                    Upload u = storage.create("stalled-" + i + ".bin", 2L * BLOCK);
                    open.add(u);
                    u.write(ByteBuffer.wrap(random(64 * 1024, i)));
                }
                // Until every request has read what was written and waits for more (at most 10 s).
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (threadsWaitingForABody() < stalled && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                Upload u = storage.create("meanwhile.bin", content.length);
                writeAll(u, content);
                u.commit();
                return storage.stat("meanwhile.bin");
            });
            assertEquals(content.length, meanwhile.get(30, TimeUnit.SECONDS).size());
            assertArrayEquals(content, container.getBlobClient(prefix + "meanwhile.bin").downloadContent().toBytes());
        } finally {
            // Failing or not, the stalled requests end: that frees whatever waited behind them.
            open.forEach(Upload::abort);
            side.shutdownNow();
        }
        for (int i = 0; i < stalled; i++) {
            assertNull(storage.stat("stalled-" + i + ".bin"), "an aborted upload left its blob");
        }
    }

    private static long threadsWaitingForABody() {
        return Thread.getAllStackTraces().values().stream()
                .filter(stack -> java.util.Arrays.stream(stack).anyMatch(f -> f.getClassName().endsWith(".BodyPipe") && f.getMethodName().equals("take")))
                .count();
    }
}
