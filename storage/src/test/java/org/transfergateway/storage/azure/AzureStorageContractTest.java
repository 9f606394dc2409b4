package org.transfergateway.storage.azure;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.azure.core.util.BinaryData;
import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.models.BlobItem;
import com.azure.storage.blob.models.BlobListDetails;
import com.azure.storage.blob.models.ListBlobsOptions;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.transfergateway.config.AzureBackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.StorageContractTest;
import org.transfergateway.storage.s3.MemoryBudget;
import org.transfergateway.storage.testing.AzuriteFixture;

/**
 * The storage contract on the Azure backend against Azurite: one container for the class,
 * a prefix of its own per test, and 5 MiB first blocks, so that {@link #LARGE} bodies are
 * staged as two blocks and committed by a block list.
 */
class AzureStorageContractTest extends StorageContractTest {
    static final int BLOCK = 5 * MIB;

    static AzuriteFixture azurite;
    private static final String CONTAINER = "contract-" + UUID.randomUUID().toString().substring(0, 8);
    private static final AtomicInteger tests = new AtomicInteger();
    private static BlobContainerClient container;
    private String prefix;

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

    @Override
    protected Storage newStorage() throws IOException {
        prefix = "gw/t" + tests.incrementAndGet() + "/";
        AzureBackendConfig cfg = backend(CONTAINER, prefix);
        MemoryBudget budget = new MemoryBudget(4L * BLOCK);
        return AzureStorage.open(cfg, new StorageConfig(List.of(cfg), budget.capacityBytes(), BLOCK, 2, Duration.ofDays(1)), budget);
    }

    /** The backend under test: with the account key. */
    AzureBackendConfig backend(String container, String prefix) {
        return azurite.backend("contract", container, prefix);
    }

    @Override
    protected void seed(String key, byte[] content) {
        container.getBlobClient(prefix + key).upload(BinaryData.fromBytes(content), true);
    }

    /**
     * No blob under the test's prefix exists only as staged blocks: every upload that was
     * not committed had them discarded. (Blocks staged for a blob that existed stay
     * invisible until they expire; Azure offers no way to drop them short of a commit.)
     */
    @Override
    protected void assertNoUploadLeftOpen() {
        Set<String> committed = container.listBlobs(new ListBlobsOptions().setPrefix(prefix), null).stream()
                .map(BlobItem::getName).collect(Collectors.toSet());
        List<String> staged = container.listBlobs(new ListBlobsOptions().setPrefix(prefix)
                        .setDetails(new BlobListDetails().setRetrieveUncommittedBlobs(true)), null).stream()
                .map(BlobItem::getName).filter(n -> !committed.contains(n)).toList();
        assertEquals(List.of(), staged);
    }
}
