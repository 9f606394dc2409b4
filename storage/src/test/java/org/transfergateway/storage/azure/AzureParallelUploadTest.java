package org.transfergateway.storage.azure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.models.Block;
import com.azure.storage.blob.models.BlockListType;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.AzureBackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.s3.MemoryBudget;
import org.transfergateway.storage.testing.AzuriteFixture;
import org.transfergateway.storage.testing.PatternStream;

/**
 * Many uploads sharing one memory budget: 16 concurrent 64 MiB uploads under the 128 MiB
 * budget of a gateway at -Xmx256m (8 MiB first blocks, 4 in flight an upload). Azurite
 * takes each request at its own pace, so throughput follows the blocks in flight; with
 * blocks sized to the contended budget, more of them are in flight than 8 MiB blocks allow
 * (128 MiB holds 16 of those, the blocks being filled included). Every blob arrives whole.
 */
class AzureParallelUploadTest {
    private static final Logger log = LoggerFactory.getLogger(AzureParallelUploadTest.class);
    private static final long MIB = BlockPlan.MIB;
    private static final String CONTAINER = "par-" + UUID.randomUUID().toString().substring(0, 8);
    private static AzuriteFixture azurite;
    private static BlobContainerClient container;

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

    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void sixteenUploadsUnderA128MebibyteBudgetKeepMoreBlocksInFlightThanEightMebibyteBlocksCould() throws Exception {
        int uploads = 16;
        long size = 64 * MIB;
        MemoryBudget budget = new MemoryBudget(128 * MIB);
        AzureBackendConfig cfg = azurite.backend("par", CONTAINER, "");
        AzureStorage storage = AzureStorage.open(cfg,
                new StorageConfig(List.of(cfg), budget.capacityBytes(), 8 * MIB, 4, Duration.ofDays(1)), budget);
        ExecutorService pool = Executors.newFixedThreadPool(uploads);
        try {
            storage.takePeakBlocksInFlight();
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < uploads; i++) {
                int n = i;
                done.add(pool.submit(() -> {
                    try (Upload u = storage.create("p" + n + ".bin"); InputStream in = new PatternStream(size, n)) {
                        // As the front ends hand over what they read: 64 KiB at a time.
                        byte[] chunk = new byte[64 * 1024];
                        for (int r; (r = in.read(chunk)) > 0; ) {
                            u.write(ByteBuffer.wrap(chunk, 0, r));
                        }
                        u.commit();
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(240, TimeUnit.SECONDS);
            }
            int peak = storage.takePeakBlocksInFlight();
            log.info("{} concurrent {} MiB uploads under a {} MiB budget: at most {} blocks in flight", uploads, size >> 20,
                    budget.capacityBytes() >> 20, peak);
            for (int i = 0; i < uploads; i++) {
                List<Block> blocks = container.getBlobClient("p" + i + ".bin").getBlockBlobClient()
                        .listBlocks(BlockListType.COMMITTED).getCommittedBlocks();
                assertEquals(size, blocks.stream().mapToLong(Block::getSizeLong).sum(), "p" + i + ".bin");
                assertEquals(size, container.getBlobClient("p" + i + ".bin").getProperties().getBlobSize());
            }
            assertEquals(0, budget.inUseBytes());
            assertTrue(peak > 16, "at most " + peak + " blocks were in flight");
        } finally {
            pool.shutdownNow();
            storage.close();
        }
    }
}
