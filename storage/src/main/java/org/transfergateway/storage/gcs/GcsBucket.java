package org.transfergateway.storage.gcs;

import com.google.api.client.http.HttpRequestFactory;
import com.google.api.gax.retrying.RetrySettings;
import com.google.auth.Credentials;
import com.google.auth.oauth2.GoogleCredentials;
import com.google.cloud.NoCredentials;
import com.google.cloud.http.HttpTransportOptions;
import com.google.cloud.storage.Blob;
import com.google.cloud.storage.BlobId;
import com.google.cloud.storage.Bucket;
import com.google.cloud.storage.Storage;
import com.google.cloud.storage.StorageOptions;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.transfergateway.config.GcsBackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ModTimes;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.s3.MemoryBudget;

/**
 * What the parts of one GCS backend share: its name, the client, the HTTP request factory
 * (with the client's credentials) for the resumable protocol, the prefix in front of every
 * object name, the executor of chunks, the memory budget and the chunk size. Also the
 * requests every part makes: the attributes of one object, and its deletion.
 */
final class GcsBucket {
    /**
     * Attempts per request, the first included, with exponential back-off from 200 ms to
     * 2 s: a few seconds of trouble are ridden out, an unreachable endpoint is reported
     * within seconds at start-up.
     */
    static final int MAX_ATTEMPTS = 4;

    final String name;
    final GcsBackendConfig config;
    final String bucket;
    final String prefix;
    final Storage client;
    final HttpRequestFactory http;
    /** The JSON API's root: {@code https://storage.googleapis.com} or the emulator's. */
    final String host;
    final int chunkSize;
    final MemoryBudget budget;
    final ExecutorService executor;

    private GcsBucket(GcsBackendConfig cfg, StorageConfig shared, MemoryBudget budget, StorageOptions options) {
        this.name = cfg.name();
        this.config = cfg;
        this.bucket = cfg.bucket();
        this.prefix = cfg.prefix() == null ? "" : cfg.prefix();
        this.client = options.getService();
        HttpTransportOptions transport = (HttpTransportOptions) options.getTransportOptions();
        this.http = transport.getHttpTransportFactory().create().createRequestFactory(transport.getHttpRequestInitializer(options));
        this.host = options.getHost().replaceAll("/+$", "");
        this.chunkSize = ChunkPlan.chunkSize(cfg.chunkSize(shared.partSizeBytes()), budget.capacityBytes());
        this.budget = budget;
        AtomicInteger n = new AtomicInteger();
        this.executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "gcs-" + name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * The bucket of {@code cfg}, once it answers (a bucket get).
     *
     * @throws GatewayException {@link ErrorCode#BACKEND_UNAVAILABLE} with one line naming
     *                          the backend, bucket and endpoint when it cannot be used
     */
    static GcsBucket connect(GcsBackendConfig cfg, StorageConfig shared, MemoryBudget budget) throws GatewayException {
        String where = cfg.name() + ": bucket " + cfg.bucket() + " at " + cfg.endpointText();
        StorageOptions options;
        try {
            options = options(cfg);
        } catch (IOException e) {
            // Our own message (the credentials file) or the library's (no default credentials).
            throw ErrorCode.BACKEND_UNAVAILABLE.failure(where + " cannot be used: " + GcsErrors.oneLine(e.getMessage()), e);
        } catch (RuntimeException e) {
            throw ErrorCode.BACKEND_UNAVAILABLE.failure(where + " cannot be used: " + GcsErrors.reason(e), e);
        }
        Bucket found;
        try {
            found = options.getService().get(cfg.bucket());
        } catch (RuntimeException e) {
            int status = GcsErrors.status(e);
            String why = status == 401 || status == 403 || (status == 0 && GcsErrors.isTokenRefused(e)) ? " refuses the credentials: "
                    : status > 0 ? " cannot be used: " : " is unreachable: ";
            throw ErrorCode.BACKEND_UNAVAILABLE.failure(where + why + GcsErrors.reason(e), e);
        }
        if (found == null) {
            throw ErrorCode.BACKEND_UNAVAILABLE.failure(where + " does not exist");
        }
        return new GcsBucket(cfg, shared, budget, options);
    }

    /**
     * The client's options: the JSON API over HTTP, never gRPC; the credentials file, or
     * none for an emulator, or else the application default credentials.
     */
    private static StorageOptions options(GcsBackendConfig cfg) throws IOException {
        StorageOptions.Builder b = StorageOptions.http()
                .setTransportOptions(HttpTransportOptions.newBuilder()
                        .setConnectTimeout((int) Duration.ofSeconds(10).toMillis())
                        .setReadTimeout((int) Duration.ofMinutes(2).toMillis())
                        .build())
                .setRetrySettings(RetrySettings.newBuilder()
                        .setMaxAttempts(MAX_ATTEMPTS)
                        .setInitialRetryDelayDuration(Duration.ofMillis(200))
                        .setRetryDelayMultiplier(2.0)
                        .setMaxRetryDelayDuration(Duration.ofSeconds(2))
                        .setTotalTimeoutDuration(Duration.ofMinutes(5))
                        .build());
        Credentials credentials;
        if (cfg.credentialsFile() != null) {
            try (InputStream in = Files.newInputStream(cfg.credentialsFile())) {
                credentials = GoogleCredentials.fromStream(in)
                        .createScoped("https://www.googleapis.com/auth/devstorage.read_write");
            } catch (IOException | RuntimeException e) {
                throw new IOException("the credentials file " + cfg.credentialsFile() + " cannot be read: "
                        + GcsErrors.reason(e), e);
            }
        } else if (cfg.endpoint() != null) {
            credentials = NoCredentials.getInstance();
        } else {
            credentials = GoogleCredentials.getApplicationDefault()
                    .createScoped("https://www.googleapis.com/auth/devstorage.read_write");
        }
        b.setCredentials(credentials);
        if (cfg.endpoint() != null) {
            b.setHost(cfg.endpoint().toString().replaceAll("/+$", ""));
        }
        if (cfg.project() != null) {
            b.setProjectId(cfg.project());
        } else if (cfg.endpoint() != null) {
            b.setProjectId("emulator"); // the client insists on one; an emulator ignores it
        }
        return b.build();
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

    BlobId id(String fullName) {
        return BlobId.of(bucket, fullName);
    }

    GatewayException failure(String what, RuntimeException e) {
        return GcsErrors.failure(name, what, e);
    }

    /** The object at {@code key}, or null: an object get only, folders not considered. */
    Blob headBlob(String key) throws GatewayException {
        if (key.isEmpty()) {
            return null;
        }
        try {
            return client.get(id(full(key)));
        } catch (RuntimeException e) {
            throw failure("reading the attributes of " + key, e);
        }
    }

    ObjectInfo headFile(String key) throws GatewayException {
        Blob b = headBlob(key);
        return b == null ? null : info(key, b);
    }

    /** The object as GCS describes it; its time the one kept in its metadata ({@link ModTimes}) when there is one. */
    static ObjectInfo info(String key, Blob b) {
        Instant kept = ModTimes.fromGcs(b.getMetadata());
        Instant modified = kept != null ? kept
                : b.getUpdateTimeOffsetDateTime() != null ? b.getUpdateTimeOffsetDateTime().toInstant() : Instant.EPOCH;
        return ObjectInfo.file(key, b.getSize() != null ? b.getSize() : 0L, modified, etag(b));
    }

    /** The generation identifies one version of an object's content, as an ETag does. */
    static String etag(Blob b) {
        return b.getGeneration() != null ? Long.toString(b.getGeneration()) : b.getEtag();
    }

    /** Deletes an object by its full name; absence is fine. */
    void deleteFull(String fullName, String what) throws GatewayException {
        try {
            client.delete(id(fullName));
        } catch (RuntimeException e) {
            throw failure("deleting " + what, e);
        }
    }

    void close() {
        executor.shutdown();
        try {
            if (!executor.awaitTermination(30, TimeUnit.SECONDS)) {
                executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
        try {
            client.close();
        } catch (Exception e) {
            // Nothing is left to flush: every upload has committed or aborted.
        }
    }
}
