package org.transfergateway.storage.azure;

import com.azure.core.http.HttpClient;
import com.azure.core.http.jdk.httpclient.JdkHttpClientBuilder;
import com.azure.identity.DefaultAzureCredentialBuilder;
import com.azure.storage.blob.BlobContainerClient;
import com.azure.storage.blob.BlobServiceClientBuilder;
import com.azure.storage.blob.models.BlobProperties;
import com.azure.storage.blob.specialized.BlockBlobClient;
import com.azure.storage.common.StorageSharedKeyCredential;
import com.azure.storage.common.policy.RequestRetryOptions;
import com.azure.storage.common.policy.RetryPolicyType;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.transfergateway.config.AzureBackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ModTimes;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.s3.MemoryBudget;

/**
 * What the parts of one Azure backend share: its name, the container client, the prefix in
 * front of every blob name and the mapping between the gateway's keys and the container's,
 * the executor of blocks, the memory budget and the block settings. Also the requests
 * every part makes: the attributes of one blob, and its deletion.
 */
final class AzureContainer {
    /** A heap or direct buffer holds under 2 GiB; a block is never bigger than this. */
    static final long MAX_BUFFER_SIZE = 1024 * BlockPlan.MIB;
    /**
     * Attempts per request, the first included, with exponential back-off from 200 ms to
     * 2 s: a few seconds of trouble are ridden out, an unreachable endpoint is reported
     * within seconds at start-up. Block bodies sit in memory, so every request can be replayed.
     */
    static final int MAX_ATTEMPTS = 4;

    final String name;
    final AzureBackendConfig config;
    final String prefix;
    final BlobContainerClient client;
    /** The same container without retries: for a request whose body streams once. */
    private final BlobContainerClient once;
    final long firstBlockSize;
    final long blockCeiling;
    final int blockConcurrency;
    final MemoryBudget budget;
    final ExecutorService executor;
    /** The threads of this backend's HTTP client ({@link #httpThreads}). */
    private final ExecutorService http;

    private AzureContainer(AzureBackendConfig cfg, StorageConfig shared, MemoryBudget budget, ExecutorService http,
                           BlobContainerClient client) {
        this.name = cfg.name();
        this.config = cfg;
        this.prefix = cfg.prefix() == null ? "" : cfg.prefix();
        this.client = client;
        this.http = http;
        this.once = serviceClient(cfg, 1, http).getBlobContainerClient(cfg.container());
        this.blockCeiling = Math.min(budget.capacityBytes(), MAX_BUFFER_SIZE);
        this.firstBlockSize = Math.min(cfg.blockSize(shared.partSizeBytes()), blockCeiling);
        this.blockConcurrency = shared.partConcurrency();
        this.budget = budget;
        AtomicInteger n = new AtomicInteger();
        this.executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "azure-" + name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * The container of {@code cfg}, once it answers (Get Container Properties).
     *
     * @throws GatewayException {@link ErrorCode#BACKEND_UNAVAILABLE} with one line naming
     *                          the backend, container and endpoint when it cannot be used
     */
    static AzureContainer connect(AzureBackendConfig cfg, StorageConfig shared, MemoryBudget budget) throws GatewayException {
        ExecutorService http = httpThreads(cfg.name());
        try {
            return connect(cfg, shared, budget, http);
        } catch (GatewayException | RuntimeException e) {
            http.shutdownNow();
            throw e;
        }
    }

    private static AzureContainer connect(AzureBackendConfig cfg, StorageConfig shared, MemoryBudget budget, ExecutorService http)
            throws GatewayException {
        BlobContainerClient client;
        try {
            client = serviceClient(cfg, MAX_ATTEMPTS, http).getBlobContainerClient(cfg.container());
        } catch (RuntimeException e) {
            throw ErrorCode.BACKEND_UNAVAILABLE.failure(cfg.name() + ": container " + cfg.container()
                    + " cannot be used: " + AzureErrors.reason(e), e);
        }
        try {
            client.getProperties();
        } catch (RuntimeException e) {
            if (AzureErrors.isAuthentication(e) && usesDefaultChain(cfg)) {
                // Say where the credential was looked for: nothing in the file names one.
                throw ErrorCode.BACKEND_UNAVAILABLE.failure(cfg.name() + ": container " + cfg.container() + " at "
                        + cfg.endpointText() + " cannot be used: the default credential chain gave no token (set account-key,"
                        + " sas-token or connection-string, or a credential the chain finds): " + AzureErrors.reason(e), e);
            }
            throw ErrorCode.BACKEND_UNAVAILABLE.failure(cfg.name() + ": container " + cfg.container() + " at "
                    + cfg.endpointText() + " is unreachable: " + AzureErrors.reason(e), e);
        }
        return new AzureContainer(cfg, shared, budget, http, client);
    }

    /**
     * The executor of the backend's HTTP client, unbounded as the JDK's own default. The
     * client reads a streamed Put Blob's body ({@link AzureStorage#create(String, long)})
     * on these threads, each waiting while its writer has sent nothing new. The SDK's
     * shared pool, which the client would use otherwise, has ten threads a core for the
     * whole JVM: that many uploads with slow or paused clients took all of them, and
     * every other request of every Azure backend waited behind them, even the opening of
     * an upload, until one of those clients sent again or the SDK's timeouts failed them.
     */
    private static ExecutorService httpThreads(String backend) {
        AtomicInteger n = new AtomicInteger();
        return Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "azure-" + backend + "-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Over the JDK's HttpClient, set here rather than found on the class path: the SDK's
     * default (Netty 4.1) is left out, and a class path that still holds it (S3Proxy's, in
     * tests) must not make the choice ambiguous.
     */
    private static com.azure.storage.blob.BlobServiceClient serviceClient(AzureBackendConfig cfg, int attempts, ExecutorService threads) {
        HttpClient http = new JdkHttpClientBuilder().connectionTimeout(Duration.ofSeconds(10)).executor(threads).build();
        BlobServiceClientBuilder b = new BlobServiceClientBuilder()
                .httpClient(http)
                .retryOptions(new RequestRetryOptions(RetryPolicyType.EXPONENTIAL, attempts, (Integer) null,
                        200L, 2000L, null));
        if (cfg.connectionString() != null) {
            return b.connectionString(cfg.connectionString()).buildClient();
        }
        b.endpoint(cfg.endpointText());
        if (cfg.accountKey() != null) {
            b.credential(new StorageSharedKeyCredential(cfg.accountName(), cfg.accountKey()));
        } else if (cfg.sasToken() != null) {
            b.sasToken(cfg.sasToken());
        } else {
            b.credential(new DefaultAzureCredentialBuilder().httpClient(http).build());
        }
        return b.buildClient();
    }

    /** No key, SAS or connection string: the SDK's default credential chain supplies a token. */
    static boolean usesDefaultChain(AzureBackendConfig cfg) {
        return cfg.connectionString() == null && cfg.accountKey() == null && cfg.sasToken() == null;
    }

    String full(String key) {
        return prefix + key;
    }

    /** The prefix of everything under the folder {@code dirKey}. */
    String under(String dirKey) {
        return dirKey.isEmpty() ? prefix : prefix + dirKey + "/";
    }

    String strip(String fullName) {
        return fullName.substring(prefix.length());
    }

    BlockBlobClient blob(String fullName) {
        return client.getBlobClient(fullName).getBlockBlobClient();
    }

    /** {@link #blob} without retries: a body that streams from a pipe cannot be sent twice. */
    BlockBlobClient blobOnce(String fullName) {
        return once.getBlobClient(fullName).getBlockBlobClient();
    }

    /**
     * The URL of a blob to name as a copy source: with the SAS when that is the
     * credential, as Copy Blob authorises the source by its URL alone.
     */
    String sourceUrl(String fullName) {
        String url = client.getBlobClient(fullName).getBlobUrl();
        return config.sasToken() != null ? url + "?" + config.sasToken() : url;
    }

    static String unquote(String etag) {
        return etag != null && etag.length() >= 2 && etag.startsWith("\"") && etag.endsWith("\"")
                ? etag.substring(1, etag.length() - 1) : etag;
    }

    GatewayException failure(String what, RuntimeException e) {
        return AzureErrors.failure(name, what, e);
    }

    /** The blob at {@code key}, or null: Get Blob Properties only, folders not considered. */
    ObjectInfo headFile(String key) throws GatewayException {
        if (key.isEmpty()) {
            return null;
        }
        try {
            return info(key, blob(full(key)).getProperties());
        } catch (RuntimeException e) {
            if (AzureErrors.isStatus(e, 404)) {
                return null;
            }
            throw failure("reading the attributes of " + key, e);
        }
    }

    static ObjectInfo info(String key, BlobProperties p) {
        return ObjectInfo.file(key, p.getBlobSize(), modified(p.getMetadata(), p.getLastModified()), unquote(p.getETag()));
    }

    /** The metadata of a new blob kept with the modification time {@code modified} (null: none, and no metadata). */
    static java.util.Map<String, String> metadata(Instant modified) {
        return modified == null ? null : java.util.Map.of(ModTimes.AZURE_KEY, ModTimes.formatRfc3339(modified));
    }

    /** The time kept in the metadata ({@link ModTimes}), else the blob's Last-Modified. */
    static Instant modified(java.util.Map<String, String> metadata, java.time.OffsetDateTime lastModified) {
        Instant kept = metadata == null ? null : ModTimes.parseRfc3339(metadata.get(ModTimes.AZURE_KEY));
        return kept != null ? kept : lastModified != null ? lastModified.toInstant() : Instant.EPOCH;
    }

    void deleteFull(String fullName, String what) throws GatewayException {
        try {
            client.getBlobClient(fullName).deleteIfExists();
        } catch (RuntimeException e) {
            throw failure("deleting " + what, e);
        }
    }

    void close() {
        executor.shutdown();
        try {
            if (!executor.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
        // After the uploads' threads: their last requests needed the client.
        http.shutdown();
    }
}
