package org.transfergateway.storage.azure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.azure.core.util.BinaryData;
import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.models.Block;
import com.azure.storage.blob.models.BlockListType;
import com.azure.storage.blob.specialized.BlockBlobClient;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.UUID;
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
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.UploadJournal;
import org.transfergateway.storage.s3.MemoryBudget;
import org.transfergateway.storage.testing.AzuriteFixture;
import org.transfergateway.storage.testing.CountingRelay;

/**
 * Appending to and resuming Azure blobs (FTP APPE, REST + STOR) without reading them back:
 * the committed blocks are named again and the rest is copied by Azure (Put Block From
 * URL). The backend talks to Azurite through a {@link CountingRelay}, so the tests see
 * every byte that crossed.
 */
class AzureAppendTest {
    private static final int MIB = 1024 * 1024;
    private static final String CONTAINER = "append-" + UUID.randomUUID().toString().substring(0, 8);
    /** The answers to the property, block list, copy and commit requests of one append are far below this. */
    private static final long REQUEST_OVERHEAD = 64 * 1024;
    private static final AtomicInteger tests = new AtomicInteger();
    private static AzuriteFixture azurite;
    private static BlobContainerClient container;
    private static CountingRelay relay;

    private String prefix;
    private AzureStorage storage;

    @BeforeAll
    static void start() throws IOException {
        azurite = AzuriteFixture.shared();
        container = azurite.createContainer(CONTAINER);
        relay = new CountingRelay(azurite.endpoint());
    }

    @AfterAll
    static void stop() throws IOException {
        relay.close();
        azurite.deleteContainer(CONTAINER);
    }

    @BeforeEach
    void open() throws IOException {
        prefix = "a" + tests.incrementAndGet() + "/";
        URI endpoint = URI.create(relay.endpoint() + "/" + AzuriteFixture.ACCOUNT);
        AzureBackendConfig cfg = new AzureBackendConfig("unit", CONTAINER, prefix, endpoint, AzuriteFixture.ACCOUNT,
                AzuriteFixture.KEY, null, null, 0);
        MemoryBudget budget = new MemoryBudget(8L * MIB);
        storage = AzureStorage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), MIB, 2, Duration.ofDays(1)), budget);
    }

    @AfterEach
    void close() {
        storage.close();
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

    private static byte[] sha256(byte[] b) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(b);
    }

    private BlockBlobClient blob(String key) {
        return container.getBlobClient(prefix + key).getBlockBlobClient();
    }

    private byte[] stored(String key) {
        return blob(key).downloadContent().toBytes();
    }

    private List<String> committedIds(String key) {
        return blob(key).listBlocks(BlockListType.COMMITTED).getCommittedBlocks().stream().map(Block::getName).toList();
    }

    private static void write(Upload u, byte[] content) throws IOException {
        for (int off = 0; off < content.length; off += 64 * 1024) {
            u.write(ByteBuffer.wrap(content, off, Math.min(64 * 1024, content.length - off)));
        }
    }

    /** Stores through the backend: 1 MiB blocks, committed as a block list. */
    private void upload(String key, byte[] content) throws IOException {
        try (Upload u = storage.create(key)) {
            write(u, content);
            u.commit();
        }
    }

    /** Appends {@code tail} to the first {@code keep} bytes of {@code key} and checks the result and what crossed. */
    private void continueAndCheck(String key, byte[] before, int keep, byte[] tail) throws Exception {
        relay.reset();
        try (Upload u = storage.createContinuing(key, keep)) {
            assertEquals(keep, u.written());
            write(u, tail);
            assertEquals(keep + tail.length, u.written());
            assertEquals(keep + tail.length, u.commit().size());
        }
        assertTrue(relay.fromServer() < REQUEST_OVERHEAD, relay.fromServer() + " bytes came back from Azure");
        assertTrue(relay.toServer() < tail.length + REQUEST_OVERHEAD, relay.toServer() + " bytes went to Azure");
        assertArrayEquals(sha256(concat(before, keep, tail)), sha256(stored(key)));
    }

    private static final class RecordingJournal implements UploadJournal {
        final List<String> events = new ArrayList<>();

        @Override
        public synchronized void opened(String key, String uploadId) {
            events.add("opened " + key);
        }

        @Override
        public synchronized void closed(String key, String uploadId) {
            events.add("closed " + key);
        }
    }

    @Test
    void appendingToABlockListNamesTheSameBlocksAgainAndCopiesNoByte() throws Exception {
        byte[] before = random(12 * MIB, 1);
        upload("blocks.bin", before);
        List<String> oldIds = committedIds("blocks.bin");
        assertEquals(12, oldIds.size());
        continueAndCheck("blocks.bin", before, before.length, random(MIB + 5, 2));
        List<String> newIds = committedIds("blocks.bin");
        assertEquals(oldIds, newIds.subList(0, 12));
        assertEquals(14, newIds.size(), "1 MiB + 5 bytes of new blocks");
    }

    @Test
    void appendingToABlobOfOnePutBlobHasAzureCopyItsBytes() throws Exception {
        byte[] before = random(3 * MIB + 7, 3);
        blob("single.bin").upload(BinaryData.fromBytes(before), true);
        assertEquals(List.of(), committedIds("single.bin"));
        continueAndCheck("single.bin", before, before.length, random(1000, 4));
    }

    @Test
    void resumingInsideABlockKeepsTheBlocksBeforeAndCopiesTheStartOfThatOne() throws Exception {
        byte[] before = random(12 * MIB, 5);
        upload("rest.bin", before);
        List<String> oldIds = committedIds("rest.bin");
        continueAndCheck("rest.bin", before, 5 * MIB + MIB / 2, random(2 * MIB, 6));
        assertEquals(oldIds.subList(0, 5), committedIds("rest.bin").subList(0, 5));
    }

    @Test
    void blocksOfAnotherWritersIdLengthAreCopiedByAzureInstead() throws Exception {
        byte[] before = random(2 * MIB, 7);
        BlockBlobClient b = blob("foreign.bin");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            String id = Base64.getEncoder().encodeToString(("b" + i).getBytes());
            b.stageBlock(id, BinaryData.fromBytes(java.util.Arrays.copyOfRange(before, i * MIB, (i + 1) * MIB)));
            ids.add(id);
        }
        b.commitBlockList(ids);
        continueAndCheck("foreign.bin", before, before.length, random(10, 8));
    }

    @Test
    void anAppendAbortedMidwayLeavesTheOldBlob() throws Exception {
        byte[] before = random(4 * MIB, 9);
        upload("abort.bin", before);
        RecordingJournal journal = new RecordingJournal();
        Upload u = storage.createContinuing("abort.bin", before.length);
        ((JournaledUpload) u).journalTo(journal);
        write(u, random(3 * MIB, 10)); // blocks of new bytes are staged before the abort
        u.abort();
        u.close();
        assertArrayEquals(sha256(before), sha256(stored("abort.bin")));
        assertEquals(List.of("opened " + prefix + "abort.bin", "closed " + prefix + "abort.bin"), journal.events);
        assertThrows(IOException.class, u::commit);
    }

    @Test
    void aBlobReplacedSinceTheAppendBeganFailsItAndStaysAsReplaced() throws Exception {
        for (boolean copied : new boolean[] {false, true}) {
            String key = copied ? "raced-copy.bin" : "raced-blocks.bin";
            byte[] before = random(2 * MIB, 11);
            if (copied) {
                blob(key).upload(BinaryData.fromBytes(before), true); // kept by a copy, which names the ETag
            } else {
                upload(key, before); // kept as blocks: the commit names the ETag
            }
            Upload u = storage.createContinuing(key, before.length);
            byte[] replacement = random(2 * MIB, 12);
            blob(key).upload(BinaryData.fromBytes(replacement), true);
            GatewayException e = assertThrows(GatewayException.class, () -> {
                write(u, random(1000, 13));
                u.commit();
            });
            assertEquals(ErrorCode.CONFLICT, e.code(), e.getMessage());
            u.close();
            assertArrayEquals(sha256(replacement), sha256(stored(key)), key);
        }
    }

    @Test
    void aBlobShorterThanTheBytesToKeepIsAConflictAndAnAbsentOneNotFound() throws IOException {
        upload("short.bin", random(MIB, 14));
        assertEquals(ErrorCode.CONFLICT,
                assertThrows(GatewayException.class, () -> storage.createContinuing("short.bin", MIB + 1L)).code());
        assertEquals(ErrorCode.NOT_FOUND,
                assertThrows(GatewayException.class, () -> storage.createContinuing("absent.bin", 10)).code());
    }
}
