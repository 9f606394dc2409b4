package org.transfergateway.storage.s3;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.S3BackendConfig;
import org.transfergateway.config.StorageConfig;
import org.transfergateway.storage.AbortsUploads;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.JournaledUpload;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.SizedUpload;
import org.transfergateway.storage.Storage;
import org.transfergateway.storage.Upload;
import org.transfergateway.storage.UploadJournal;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

/**
 * A bucket of Amazon S3 or of an S3-compatible service, on the synchronous SDK client
 * with the Apache 5 HTTP transport. Every key gets the configured prefix in front; keys
 * handed out leave it off again. Folders are key prefixes, made to exist when empty by a
 * zero-byte marker object {@code dir/}.
 *
 * <p>Uploads have no known length. A body that ends within its first part is sent as
 * one PutObject on commit; a longer one becomes a multipart upload whose full parts
 * are sent in parallel ({@code storage.part-concurrency} per upload) from buffers of
 * the shared {@link MemoryBudget}, with part sizes that grow ({@link PartPlan#partSize})
 * so that one stream can outgrow 10,000 first-size parts. Whatever fails, the multipart
 * upload is aborted; an abort that the backend cannot take at that moment is retried
 * on the next upload and on close. Each multipart upload is reported to the upload's
 * {@link UploadJournal} before its first part is sent, so that after a crash the gateway
 * aborts exactly those its transfers left ({@link #abortUpload}); the rest, older than
 * the configured age, are aborted at start-up.
 *
 * <p>SDK failures become {@link GatewayException}s as {@link S3Errors} says.
 */
public final class S3Storage implements Storage, AbortsUploads {
    private static final Logger log = LoggerFactory.getLogger(S3Storage.class);

    /** A heap buffer holds under 2 GiB; a part is never bigger than this. */
    static final long MAX_BUFFER_SIZE = PartPlan.GIB;
    /**
     * Every attempt to send a body gets this long plus {@link #SLOWEST_BYTES_PER_SECOND}
     * for its bytes. The socket timeout guards reads only: without this, a backend that
     * keeps a connection open but stops reading would hold a part (and its buffer) for
     * ever.
     */
    static final Duration ATTEMPT_TIMEOUT_BASE = Duration.ofSeconds(10);
    /** The slowest upload that still counts as alive: 1 MiB/s. */
    static final long SLOWEST_BYTES_PER_SECOND = PartPlan.MIB;
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
    /** For uploads whose owner keeps no record of them. */
    private static final UploadJournal NO_JOURNAL = new UploadJournal() {
        @Override
        public void opened(String key, String uploadId) {
        }

        @Override
        public void closed(String key, String uploadId) {
        }
    };

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
        long parts = budget.capacityBytes() / shared.partSizeBytes();
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
        return new S3Upload(key);
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
            return new StreamedPut(key, size);
        } catch (IOException | RuntimeException e) {
            streamedPuts.release();
            throw e;
        }
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

    /** How long one attempt to send {@code bytes} may take before it is abandoned and retried. */
    static Duration attemptTimeout(long bytes) {
        return ATTEMPT_TIMEOUT_BASE.plusSeconds(bytes / SLOWEST_BYTES_PER_SECOND);
    }

    /** A request body over the filled part of a buffer; replayable for retries, never copied whole. */
    private static RequestBody body(ByteBuffer filled) {
        int length = filled.limit();
        return RequestBody.fromContentProvider(() -> new ByteBufferInputStream(filled.duplicate().position(0).limit(length)),
                length, "application/octet-stream");
    }

    /** Reads a buffer (direct or not) without copying it first. */
    private static final class ByteBufferInputStream extends java.io.InputStream {
        private final ByteBuffer buf;

        ByteBufferInputStream(ByteBuffer buf) {
            this.buf = buf;
        }

        @Override
        public int read() {
            return buf.hasRemaining() ? buf.get() & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (!buf.hasRemaining()) {
                return len == 0 ? 0 : -1;
            }
            int n = Math.min(len, buf.remaining());
            buf.get(b, off, n);
            return n;
        }

        @Override
        public int available() {
            return buf.remaining();
        }
    }

    private enum State { OPEN, COMMITTED, ABORTED }

    /**
     * One upload: a part buffer being filled by the writer and the parts in flight on the
     * executor. The writer's methods are synchronized, so an {@link #abort()} from another
     * thread waits for a write blocked on the budget; part tasks report back through
     * {@link #parts} and {@link #partFailure}. An abort waits for the parts in flight, so
     * that none lands after the AbortMultipartUpload.
     */
    private final class S3Upload implements JournaledUpload {
        private final String key;
        private final String fullKey;
        /** Told of the multipart upload; set before the first write. */
        private volatile UploadJournal journal = NO_JOURNAL;
        /** Permits for parts in flight; all free means none is running. */
        private final Semaphore inFlight = new Semaphore(s3.partConcurrency);
        private final Map<Integer, CompletedPart> parts = new ConcurrentSkipListMap<>();
        private final AtomicReference<GatewayException> partFailure = new AtomicReference<>();
        private volatile State state = State.OPEN;
        private ByteBuffer buffer;
        private int partsSent;
        private long written;
        private String uploadId;

        S3Upload(String key) {
            this.key = key;
            this.fullKey = s3.full(key);
        }

        @Override
        public void journalTo(UploadJournal journal) {
            this.journal = journal;
        }

        /** The part being filled has room: the write is a copy, with no part to send or buffer to wait for. */
        @Override
        public synchronized boolean takesWithoutWaiting(int bytes) {
            return state == State.OPEN && partFailure.get() == null && buffer != null && buffer.remaining() >= bytes;
        }

        @Override
        public synchronized void write(ByteBuffer src) throws IOException {
            ensureOpen();
            GatewayException failed = partFailure.get();
            if (failed != null) {
                throw failed; // the caller aborts, as after any failed write: that waits for the parts in flight
            }
            while (src.hasRemaining()) {
                if (buffer != null && !buffer.hasRemaining()) {
                    // More is coming, so the full buffer is not the whole body: send it as a part.
                    sendPart();
                }
                if (buffer == null) {
                    buffer = acquire((int) PartPlan.partSize(partsSent + 1, s3.firstPartSize, s3.partCeiling));
                }
                int n = Math.min(buffer.remaining(), src.remaining());
                buffer.put(buffer.position(), src, src.position(), n);
                buffer.position(buffer.position() + n);
                src.position(src.position() + n);
                written += n;
            }
        }

        private ByteBuffer acquire(int size) throws IOException {
            try {
                return s3.budget.acquire(size);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                abort();
                throw new InterruptedIOException("interrupted while waiting for memory to upload " + key);
            }
        }

        private void ensureOpen() throws IOException {
            if (state != State.OPEN) {
                throw new IOException("the upload of " + key + " is already " + (state == State.COMMITTED ? "committed" : "aborted"));
            }
        }

        private void failIfAPartFailed() throws GatewayException {
            GatewayException failed = partFailure.get();
            if (failed != null) {
                abort();
                throw failed;
            }
        }

        private void sendPart() throws IOException {
            if (uploadId == null) {
                try {
                    uploadId = s3.client.createMultipartUpload(b -> b.bucket(s3.bucket).key(fullKey)).uploadId();
                } catch (SdkException e) {
                    abort();
                    throw s3.failure("starting the upload of " + key, e);
                }
                try {
                    journal.opened(fullKey, uploadId);
                } catch (IOException | RuntimeException e) {
                    abort(); // unrecorded, it must not outlive this process
                    throw e;
                }
            }
            try {
                inFlight.acquire();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                abort();
                throw new InterruptedIOException("interrupted while uploading " + key);
            }
            int number = ++partsSent;
            ByteBuffer part = buffer;
            buffer = null;
            part.flip();
            s3.executor.execute(() -> uploadPart(number, part));
            failIfAPartFailed();
        }

        /** Runs on the executor; always gives the buffer and the permit back. */
        private void uploadPart(int number, ByteBuffer part) {
            try {
                if (state == State.ABORTED || partFailure.get() != null) {
                    return;
                }
                UploadPartResponse r = s3.client.uploadPart(b -> b.bucket(s3.bucket).key(fullKey).uploadId(uploadId)
                        .partNumber(number).contentLength((long) part.limit())
                        .overrideConfiguration(o -> o.apiCallAttemptTimeout(attemptTimeout(part.limit()))), body(part));
                parts.put(number, CompletedPart.builder().partNumber(number).eTag(r.eTag())
                        .checksumCRC32(r.checksumCRC32()).checksumCRC32C(r.checksumCRC32C())
                        .checksumCRC64NVME(r.checksumCRC64NVME()).checksumSHA1(r.checksumSHA1())
                        .checksumSHA256(r.checksumSHA256()).build());
            } catch (SdkException e) {
                partFailure.compareAndSet(null, s3.failure("uploading part " + number + " of " + key, e));
            } catch (RuntimeException e) {
                partFailure.compareAndSet(null, ErrorCode.INTERNAL.failure(
                        s3.name + ": uploading part " + number + " of " + key + " failed: " + e, e));
            } finally {
                s3.budget.release(part);
                inFlight.release();
            }
        }

        /** Waits until no part is in flight. */
        private void awaitParts() {
            inFlight.acquireUninterruptibly(s3.partConcurrency);
            inFlight.release(s3.partConcurrency);
        }

        @Override
        public long written() {
            return written;
        }

        @Override
        public synchronized ObjectInfo commit() throws IOException {
            ensureOpen();
            failIfAPartFailed();
            String etag;
            try {
                if (uploadId == null) {
                    etag = putWhole();
                } else {
                    if (buffer != null && buffer.position() > 0) {
                        sendPart();
                    }
                    awaitParts();
                    failIfAPartFailed();
                    if (parts.size() != partsSent) {
                        throw ErrorCode.INTERNAL.failure(s3.name + ": " + parts.size() + " of " + partsSent
                                + " parts of " + key + " were confirmed");
                    }
                    etag = s3.client.completeMultipartUpload(b -> b.bucket(s3.bucket).key(fullKey).uploadId(uploadId)
                            .multipartUpload(m -> m.parts(parts.values()))).eTag();
                    journal.closed(fullKey, uploadId);
                }
            } catch (SdkException e) {
                abort();
                throw s3.failure("completing the upload of " + key, e);
            } catch (IOException | RuntimeException e) {
                abort();
                throw e;
            }
            state = State.COMMITTED;
            log.debug("{}: stored {} ({} bytes, {} parts)", s3.name, key, written, partsSent);
            return s3.storedInfo(key, written, etag);
        }

        /** The whole body in one PutObject: it ended within the first part. */
        private String putWhole() {
            ByteBuffer whole = buffer;
            buffer = null;
            try {
                if (whole == null) {
                    return s3.client.putObject(b -> b.bucket(s3.bucket).key(fullKey).contentLength(0L), RequestBody.empty()).eTag();
                }
                whole.flip();
                return s3.client.putObject(b -> b.bucket(s3.bucket).key(fullKey).contentLength((long) whole.limit())
                        .overrideConfiguration(o -> o.apiCallAttemptTimeout(attemptTimeout(whole.limit()))), body(whole)).eTag();
            } finally {
                if (whole != null) {
                    s3.budget.release(whole);
                }
            }
        }

        @Override
        public synchronized void abort() {
            if (state != State.OPEN) {
                return;
            }
            state = State.ABORTED;
            if (buffer != null) {
                s3.budget.release(buffer);
                buffer = null;
            }
            // Parts still running would otherwise land after the abort and linger.
            awaitParts();
            if (uploadId != null && cleanup.abortQuietly(fullKey, uploadId)) {
                journal.closed(fullKey, uploadId);
            }
        }
    }

    /**
     * An upload of announced size sent as one PutObject whose body streams from the writer
     * through a {@link BodyPipe}, on an executor thread. The pipe keeps the last byte back
     * until {@link #commit()}, so an abort, even after the last write, leaves nothing; the
     * body cannot be replayed, so a failed attempt fails the upload.
     */
    private final class StreamedPut implements Upload {
        private final String key;
        private final long size;
        private final BodyPipe pipe;
        private final java.util.concurrent.CompletableFuture<String> put = new java.util.concurrent.CompletableFuture<>();
        private volatile State state = State.OPEN;
        private volatile long written;

        StreamedPut(String key, long size) {
            this.key = key;
            this.size = size;
            this.pipe = new BodyPipe(size);
            String fullKey = s3.full(key);
            s3.executor.execute(() -> {
                try {
                    put.complete(s3.once.putObject(b -> b.bucket(s3.bucket).key(fullKey).contentLength(size),
                            RequestBody.fromContentProvider(pipe::open, size, "application/octet-stream")).eTag());
                } catch (SdkException e) {
                    put.completeExceptionally(s3.failure("uploading " + key, e));
                } catch (RuntimeException | Error e) {
                    put.completeExceptionally(ErrorCode.INTERNAL.failure(s3.name + ": uploading " + key + " failed: " + e, e));
                } finally {
                    // A writer waiting on a full pipe must not wait for a request that is over.
                    pipe.fail(new IOException("the upload of " + key + " has ended"));
                    streamedPuts.release();
                }
            });
        }

        /** The pipe has room: the write is a copy into it. */
        @Override
        public boolean takesWithoutWaiting(int bytes) {
            return state == State.OPEN && written + bytes <= size && pipe.hasRoom(bytes);
        }

        @Override
        public synchronized void write(ByteBuffer src) throws IOException {
            if (state != State.OPEN) {
                throw new IOException("the upload of " + key + " is already " + state.name().toLowerCase());
            }
            int n = src.remaining();
            if (written + n > size) {
                abort();
                throw ErrorCode.BAD_REQUEST.exception("the body is longer than the " + size + " bytes announced");
            }
            try {
                pipe.write(src);
            } catch (IOException e) {
                abort();
                throw requestFailure(e);
            }
            written += n;
        }

        /** Why the request failed, when it did; else {@code e}. */
        private IOException requestFailure(IOException e) {
            if (put.isCompletedExceptionally()) {
                try {
                    put.join();
                } catch (java.util.concurrent.CompletionException c) {
                    if (c.getCause() instanceof IOException io) {
                        return io;
                    }
                }
            }
            return e;
        }

        @Override
        public long written() {
            return written;
        }

        @Override
        public synchronized ObjectInfo commit() throws IOException {
            if (state != State.OPEN) {
                throw new IOException("the upload of " + key + " is already " + state.name().toLowerCase());
            }
            if (written != size) {
                abort();
                throw ErrorCode.BAD_REQUEST.exception("the body ended after " + written + " of the "
                        + size + " bytes announced");
            }
            pipe.release();
            String etag;
            try {
                etag = put.join();
            } catch (java.util.concurrent.CompletionException e) {
                state = State.ABORTED;
                throw e.getCause() instanceof IOException io ? io
                        : ErrorCode.INTERNAL.failure(s3.name + ": uploading " + key + " failed: " + e.getCause(), e.getCause());
            }
            state = State.COMMITTED;
            log.debug("{}: stored {} ({} bytes, one request)", s3.name, key, written);
            return s3.storedInfo(key, written, etag);
        }

        @Override
        public synchronized void abort() {
            if (state != State.OPEN) {
                return;
            }
            state = State.ABORTED;
            pipe.fail(new IOException("the upload of " + key + " was aborted"));
            try {
                put.join(); // the request is over, short of its last byte: nothing lands
            } catch (java.util.concurrent.CompletionException expected) {
                // the aborted request failed, as it must
            }
        }
    }
}
