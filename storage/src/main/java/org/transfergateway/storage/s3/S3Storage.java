package org.transfergateway.storage.s3;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.AbortsUploads;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.OneRequestUpload;
import org.transfergateway.storage.SizedUpload;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A bucket of Amazon S3 or of an S3-compatible service, on the synchronous SDK client
 * with the Apache 5 HTTP transport. Every key gets the configured prefix in front; keys
 * handed out leave it off again. Folders are key prefixes, made to exist when empty by a
 * zero-byte marker object {@code dir/}.
 *
 * <p>This class wires the backend's parts and delegates to them: {@link S3Clients} builds
 * the SDK clients, {@link S3Bucket} holds what the parts share, {@link S3Listing} answers
 * stat and listings, {@link S3Copy} renames by server-side copy, and
 * {@link MultipartCleanup} aborts multipart uploads: those that fail, those the journal
 * recorded before a crash ({@link #abortUpload}), and at start-up those older than the
 * configured age. An upload of announced size up to {@link #SINGLE_PUT_MAX} is one
 * {@link OneRequestUpload}: one PutObject whose body streams as it arrives; any other is a {@link MultipartPut}, whose parts come from the
 * shared {@link MemoryBudget}. An upload that continues a stored object (an append)
 * copies the kept bytes on the service's side ({@link #createContinuing}).
 *
 * <p>SDK failures become {@link GatewayException}s as {@link S3Errors} says.
 */
public final class S3Storage implements Storage, AbortsUploads {
    /**
     * Bodies of known size up to this go as one streamed PutObject (AWS suggests multipart
     * from about 100 MB on): no part buffers, one request instead of a create, parts and
     * a complete. Larger ones, and those of unknown size, go in parts.
     */
    static final long SINGLE_PUT_MAX = 100L * 1024 * 1024;
    /** Streamed PutObjects at once; more uploads go in parts, within the memory budget. */
    private static final int MAX_STREAMED_PUTS = 256;

    private final S3Clients clients;
    private final S3Bucket s3;
    private final S3Listing listing;
    private final MultipartCleanup cleanup;
    private final S3Copy copier;
    private final Semaphore streamedPuts = new Semaphore(MAX_STREAMED_PUTS);

    private S3Storage(S3BackendConfig cfg, StorageConfig shared, MemoryBudget budget, S3Clients clients) {
        this.clients = clients;
        this.s3 = new S3Bucket(cfg, shared, budget, clients);
        this.listing = new S3Listing(s3);
        this.cleanup = new MultipartCleanup(s3);
        this.copier = new S3Copy(s3, listing, cleanup);
    }

    /**
     * Connects to the bucket of {@code cfg}, checks that it answers (HeadBucket) and
     * aborts the multipart uploads under the prefix older than
     * {@link StorageConfig#abandonedUploadAge()}.
     *
     * <p>{@link S3BackendConfig.Checksums#WHEN_REQUIRED} makes the SDK send and check
     * checksums only where the S3 API demands them, for S3-compatible services that
     * reject the SDK's newer default (CRC32 checksums on every upload, sent as
     * aws-chunked trailers).
     *
     * @param budget the memory budget shared by all S3 backends
     * @throws GatewayException {@link ErrorCode#BACKEND_UNAVAILABLE} with a one-line
     *                          message naming the backend, bucket and endpoint when the
     *                          bucket cannot be reached
     */
    public static S3Storage open(S3BackendConfig cfg, StorageConfig shared, MemoryBudget budget) throws GatewayException {
        return open(cfg, shared, budget, true);
    }

    /**
     * As {@link #open(S3BackendConfig, StorageConfig, MemoryBudget)}; {@code sweep} false
     * leaves the multipart uploads alone, for a tool (reconcile) that runs beside gateways.
     */
    public static S3Storage open(S3BackendConfig cfg, StorageConfig shared, MemoryBudget budget, boolean sweep)
            throws GatewayException {
        // Enough connections for every part the budget can hold in flight, plus reads,
        // plus the streamed PutObjects.
        long parts = budget.capacityBytes() / cfg.partSize(shared.partSizeBytes());
        int connections = (int) Math.max(S3Clients.MIN_CONNECTIONS, Math.min(512, parts + S3Clients.MIN_CONNECTIONS))
                + MAX_STREAMED_PUTS;
        S3Storage storage = new S3Storage(cfg, shared, budget, S3Clients.connect(cfg, connections));
        if (sweep) {
            storage.cleanup.abortAbandonedUploads(shared.abandonedUploadAge());
        }
        return storage;
    }

    @Override
    public String name() {
        return s3.name;
    }

    @Override
    public ObjectInfo stat(String key) throws IOException {
        return listing.stat(key);
    }

    @Override
    public InputStream read(String key, long offset, long length) throws IOException {
        if (length == 0) {
            return s3.headFile(key) == null ? null : InputStream.nullInputStream();
        }
        GetObjectRequest.Builder request = GetObjectRequest.builder().bucket(s3.bucket).key(s3.full(key));
        if (offset > 0 || length > 0) {
            request.range("bytes=" + offset + "-" + (length > 0 ? String.valueOf(offset + length - 1) : ""));
        }
        try {
            ResponseInputStream<GetObjectResponse> in = s3.client.getObject(request.build());
            return new AbortingInputStream(in);
        } catch (NoSuchKeyException e) {
            return null;
        } catch (SdkException e) {
            if (S3Errors.isStatus(e, 404)) {
                return null;
            }
            if (S3Errors.isStatus(e, 416)) {
                // The range starts at or after the end: nothing to read, if the object exists.
                return s3.headFile(key) == null ? null : InputStream.nullInputStream();
            }
            throw s3.failure("reading " + key, e);
        }
    }

    @Override
    public List<ObjectInfo> list(String dirKey) throws IOException {
        return listing.list(dirKey);
    }

    @Override
    public void walk(String dirKey, Consumer<ObjectInfo> sink) throws IOException {
        listing.walk(dirKey, sink);
    }

    // ---- changing ----

    @Override
    public boolean delete(String key) throws IOException {
        if (s3.headFile(key) == null) {
            if (listing.isFolder(key)) {
                throw ErrorCode.CONFLICT.exception("that is a folder");
            }
            return false;
        }
        s3.deleteFull(s3.full(key), key);
        return true;
    }

    @Override
    public ObjectInfo copyFrom(Storage source, String key) throws IOException {
        if (source instanceof S3Storage other && s3.sameService(other.s3)) {
            return copier.copyFrom(other.s3, key);
        }
        return null;
    }

    @Override
    public void move(String from, String to) throws IOException {
        copier.move(from, to);
    }

    @Override
    public void makeFolder(String dirKey) throws IOException {
        if (dirKey.isEmpty()) {
            return;
        }
        if (s3.headFile(dirKey) != null) {
            throw ErrorCode.CONFLICT.exception("a file exists at that path");
        }
        try {
            s3.client.putObject(b -> b.bucket(s3.bucket).key(s3.under(dirKey)), RequestBody.empty());
        } catch (SdkException e) {
            throw s3.failure("making the folder " + dirKey, e);
        }
    }

    @Override
    public boolean removeFolder(String dirKey) throws IOException {
        String dir = s3.under(dirKey);
        List<S3Object> found;
        try {
            found = s3.client.listObjectsV2(b -> b.bucket(s3.bucket).prefix(dir).maxKeys(2)).contents();
        } catch (SdkException e) {
            throw s3.failure("listing " + dirKey, e);
        }
        if (found.stream().anyMatch(o -> !o.key().equals(dir))) {
            throw ErrorCode.NOT_EMPTY.exception("the folder is not empty");
        }
        boolean marker = !found.isEmpty() || listing.isFolder(dirKey, true);
        if (!marker) {
            if (s3.headFile(dirKey) != null) {
                throw ErrorCode.CONFLICT.exception("that is a file, not a folder");
            }
            return false;
        }
        s3.deleteFull(dir, "the folder " + dirKey);
        return true;
    }

    // ---- uploads ----

    @Override
    public Upload create(String key) throws IOException {
        beforeUpload(key);
        return new MultipartPut(s3, cleanup, key);
    }

    private void beforeUpload(String key) throws IOException {
        cleanup.retryPendingAborts();
        if (listing.isFolder(key)) {
            // As on local disk: a file and a folder of the same name would confuse every client.
            throw ErrorCode.CONFLICT.exception("a folder exists at that path");
        }
    }

    /**
     * With a known size up to {@link #SINGLE_PUT_MAX}, one PutObject streamed from the
     * writer; otherwise in parts, held to the size all the same.
     */
    @Override
    public Upload create(String key, long size) throws IOException {
        if (size <= 0 || size > SINGLE_PUT_MAX || !streamedPuts.tryAcquire()) {
            return SizedUpload.of(create(key), size);
        }
        try {
            beforeUpload(key);
            String fullKey = s3.full(key);
            return new OneRequestUpload(s3.name, key, size, s3.executor, (body, n) -> {
                try {
                    return s3.once.putObject(b -> b.bucket(s3.bucket).key(fullKey).contentLength(n),
                            RequestBody.fromContentProvider(body::get, n, "application/octet-stream")).eTag();
                } catch (SdkException e) {
                    throw s3.failure("uploading " + key, e);
                }
            }, streamedPuts::release, (written, etag) -> s3.storedInfo(key, written, etag));
        } catch (IOException | RuntimeException e) {
            streamedPuts.release();
            throw e;
        }
    }

    /**
     * Continues the stored object without reading it: from {@link PartPlan#MIN_PART_SIZE}
     * kept bytes on, one multipart upload whose first parts the service copies from the
     * object as it is now (its ETag checked by every copy), then the new bytes in parts as
     * {@link #create(String)} sends them. Fewer kept bytes cannot be a part of their own
     * (every part but the last has that minimum), so they are read and written through.
     */
    @Override
    public Upload createContinuing(String key, long keep) throws IOException {
        return createContinuing(key, keep, PartPlan.COPY_PART_SIZE);
    }

    /** As {@link #createContinuing(String, long)}, copying parts of at least {@code copyPartSize} (tests take small ones). */
    Upload createContinuing(String key, long keep, long copyPartSize) throws IOException {
        if (keep < PartPlan.MIN_PART_SIZE) {
            return Storage.super.createContinuing(key, keep);
        }
        beforeUpload(key);
        ObjectInfo stored = s3.headFile(key);
        if (stored == null) {
            throw ErrorCode.NOT_FOUND.exception("the file to continue is gone");
        }
        if (stored.size() < keep) {
            throw ErrorCode.CONFLICT.exception("the file to continue changed: it has " + stored.size()
                    + " bytes, not the " + keep + " to keep");
        }
        if (stored.etag() == null || stored.etag().isEmpty()) {
            // Nothing to hold the copies to the version measured: read it through instead.
            return Storage.super.createContinuing(key, keep);
        }
        return new MultipartPut(s3, cleanup, key, new MultipartPut.Kept(stored.etag(), keep, copyPartSize));
    }

    /** {@code fullKey} is the key as recorded by the journal: the prefix included. */
    @Override
    public boolean abortUpload(String fullKey, String uploadId) throws IOException {
        return cleanup.abortUpload(fullKey, uploadId);
    }

    @Override
    public void close() {
        cleanup.retryPendingAborts();
        s3.executor.shutdown();
        try {
            if (!s3.executor.awaitTermination(30, TimeUnit.SECONDS)) {
                s3.executor.shutdownNow();
            }
        } catch (InterruptedException e) {
            s3.executor.shutdownNow();
            Thread.currentThread().interrupt();
        }
        clients.close();
    }
}
