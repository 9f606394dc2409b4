package org.transfergateway.storage.s3;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.KeptCopies;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.JournaledUpload;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UploadJournal;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CopyPartResult;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

/**
 * An upload of no known length, in parts from buffers of the shared {@link MemoryBudget}:
 * a body that ends within its first part is sent as one PutObject on commit; a longer one
 * becomes a multipart upload whose full parts are sent in parallel
 * ({@code storage.part-concurrency} per upload), with part sizes that grow
 * ({@link PartPlan#partSize}) so that one stream can outgrow 10,000 first-size parts.
 * Whatever fails, the multipart upload is aborted; it is reported to the
 * {@link UploadJournal} before its first part is sent.
 *
 * <p>An upload that continues a stored object ({@link Kept}: FTP APPE, REST + STOR) is
 * always a multipart upload whose first parts are UploadPartCopy requests for ranges of
 * that object, made by the service while the writer's bytes arrive; they start at the
 * first write (or the commit), once the journal is set, and every one names the ETag the
 * object had when the upload began, so that an object changed since fails the upload
 * instead of mixing two versions.
 *
 * <p>The state: a part buffer being filled by the writer and the parts in flight on the
 * executor. The writer's methods are synchronized, so an {@link #abort()} from another
 * thread waits for a write blocked on the budget; part tasks report back through
 * {@link #parts} and {@link #partFailure}. An abort waits for the parts in flight, so
 * that none lands after the AbortMultipartUpload.
 */
final class MultipartPut implements JournaledUpload {
    /** One log category for the whole backend, whichever class of it logs. */
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
    /** For uploads whose owner keeps no record of them. */
    private static final UploadJournal NO_JOURNAL = new UploadJournal() {
        @Override
        public void opened(String key, String uploadId) {
        }

        @Override
        public void closed(String key, String uploadId) {
        }
    };

    private final S3Bucket s3;
    private final MultipartCleanup cleanup;
    private final String key;
    private final String fullKey;
    /** The stored bytes this upload starts with, or null. */
    private final Kept kept;
    /** Told of the multipart upload; set before the first write. */
    private volatile UploadJournal journal = NO_JOURNAL;
    /** Permits for parts in flight; all free means none is running. */
    private final Semaphore inFlight;
    private final Map<Integer, CompletedPart> parts = new ConcurrentSkipListMap<>();
    private final AtomicReference<GatewayException> partFailure = new AtomicReference<>();
    private volatile UploadState state = UploadState.OPEN;
    private ByteBuffer buffer;
    private int partsSent;
    private long written;
    private String uploadId;
    /** The modification time to create the object with ({@link #commitWithModified}), or null. */
    private java.time.Instant modified;
    /** The copies of the kept bytes, once started. */
    private KeptCopies copies;

    /**
     * The first {@code size} bytes of the object being continued, which had the ETag
     * {@code etag} (unquoted) when the upload began, copied in parts of at least
     * {@code partSize} as {@link PartPlan#keptParts(long, long)} cuts them.
     */
    record Kept(String etag, long size, long partSize) {
    }

    MultipartPut(S3Bucket s3, MultipartCleanup cleanup, String key) {
        this(s3, cleanup, key, null);
    }

    /** An upload that starts with the bytes {@code kept} of the object stored at {@code key}. */
    MultipartPut(S3Bucket s3, MultipartCleanup cleanup, String key, Kept kept) {
        this.s3 = s3;
        this.cleanup = cleanup;
        this.inFlight = new Semaphore(s3.partConcurrency);
        this.key = key;
        this.fullKey = s3.full(key);
        this.kept = kept;
        this.written = kept == null ? 0 : kept.size();
    }

    /** The user metadata the object is created with: the kept time, when one was asked for. */
    private java.util.Map<String, String> metadata() {
        return modified == null ? java.util.Map.of()
                : java.util.Map.of(org.transfergateway.storage.ModTimes.S3_KEY, org.transfergateway.storage.ModTimes.formatSeconds(modified));
    }

    /** Taken while no request has named the object yet: the time goes with its creation. */
    @Override
    public synchronized boolean commitWithModified(java.time.Instant time) {
        if (uploadId != null || state != UploadState.OPEN) {
            return false;
        }
        modified = time;
        return true;
    }

    @Override
    public void journalTo(UploadJournal journal) {
        this.journal = journal;
    }

    /** The part being filled has room: the write is a copy, with no part to send or buffer to wait for. */
    @Override
    public synchronized boolean takesWithoutWaiting(int bytes) {
        return state == UploadState.OPEN && partFailure.get() == null && buffer != null && buffer.remaining() >= bytes;
    }

    @Override
    public synchronized void write(ByteBuffer src) throws IOException {
        ensureOpen();
        GatewayException failed = partFailure.get();
        if (failed != null) {
            throw failed; // the caller aborts, as after any failed write: that waits for the parts in flight
        }
        if (kept != null && uploadId == null) {
            startUpload(); // the service copies the kept bytes while the new ones arrive
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
        if (state != UploadState.OPEN) {
            throw new IOException("the upload of " + key + " is already " + (state == UploadState.COMMITTED ? "committed" : "aborted"));
        }
    }

    private void failIfAPartFailed() throws GatewayException {
        GatewayException failed = partFailure.get();
        if (failed != null) {
            abort();
            throw failed;
        }
    }

    /** Opens the multipart upload, records it in the journal, and sets the kept parts going. */
    private void startUpload() throws IOException {
        try {
            uploadId = s3.client.createMultipartUpload(b -> b.bucket(s3.bucket).key(fullKey).metadata(metadata())).uploadId();
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
        if (kept != null) {
            List<PartPlan.CopyPart> plan = PartPlan.keptParts(kept.size(), kept.partSize());
            partsSent = plan.size(); // the new bytes' parts are numbered after them
            try {
                copies = KeptCopies.start(s3.executor, s3.partConcurrency, plan,
                        () -> state == UploadState.ABORTED || partFailure.get() != null, this::copyPart,
                        (part, e) -> partFailure.compareAndSet(null, ErrorCode.INTERNAL.failure(
                                s3.name + ": copying part " + part.number() + " of " + key + " failed: " + e, e)));
            } catch (RuntimeException e) {
                abort();
                throw ErrorCode.INTERNAL.failure(s3.name + ": copying the kept bytes of " + key + " failed: " + e, e);
            }
        }
    }

    /** Waits until no copy of the kept bytes is running. */
    private void awaitCopies() {
        if (copies != null) {
            copies.await();
        }
    }

    private void acquirePermit() throws IOException {
        try {
            inFlight.acquire();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            abort();
            throw new InterruptedIOException("interrupted while uploading " + key);
        }
    }

    private void sendPart() throws IOException {
        if (uploadId == null) {
            startUpload();
        }
        acquirePermit();
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
            if (state == UploadState.ABORTED || partFailure.get() != null) {
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

    /** Runs on the executor: the service copies a range of the stored object as a part. */
    private void copyPart(PartPlan.CopyPart part) {
        try {
            if (state == UploadState.ABORTED || partFailure.get() != null) {
                return;
            }
            CopyPartResult r = s3.client.uploadPartCopy(b -> b.sourceBucket(s3.bucket).sourceKey(fullKey)
                    .copySourceIfMatch("\"" + kept.etag() + "\"").copySourceRange(part.range())
                    .destinationBucket(s3.bucket).destinationKey(fullKey).uploadId(uploadId).partNumber(part.number()))
                    .copyPartResult();
            parts.put(part.number(), CompletedPart.builder().partNumber(part.number()).eTag(r.eTag())
                    .checksumCRC32(r.checksumCRC32()).checksumCRC32C(r.checksumCRC32C())
                    .checksumCRC64NVME(r.checksumCRC64NVME()).checksumSHA1(r.checksumSHA1())
                    .checksumSHA256(r.checksumSHA256()).build());
        } catch (SdkException e) {
            partFailure.compareAndSet(null, S3Errors.isStatus(e, 412)
                    ? ErrorCode.CONFLICT.exception("the file to continue changed since the upload began")
                    : s3.failure("copying part " + part.number() + " of " + key + " from the stored object", e));
        } catch (RuntimeException e) {
            partFailure.compareAndSet(null, ErrorCode.INTERNAL.failure(
                    s3.name + ": copying part " + part.number() + " of " + key + " failed: " + e, e));
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
            if (uploadId == null && kept == null) {
                etag = putWhole();
            } else {
                if (uploadId == null) {
                    startUpload();
                }
                if (buffer != null && buffer.position() > 0) {
                    sendPart();
                }
                awaitParts();
                awaitCopies();
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
        state = UploadState.COMMITTED;
        log.debug("{}: stored {} ({} bytes, {} parts)", s3.name, key, written, partsSent);
        return s3.storedInfo(key, written, etag);
    }

    /** The whole body in one PutObject: it ended within the first part. */
    private String putWhole() {
        ByteBuffer whole = buffer;
        buffer = null;
        try {
            if (whole == null) {
                return s3.client.putObject(b -> b.bucket(s3.bucket).key(fullKey).contentLength(0L).metadata(metadata()),
                        RequestBody.empty()).eTag();
            }
            whole.flip();
            return s3.client.putObject(b -> b.bucket(s3.bucket).key(fullKey).contentLength((long) whole.limit()).metadata(metadata())
                    .overrideConfiguration(o -> o.apiCallAttemptTimeout(attemptTimeout(whole.limit()))), body(whole)).eTag();
        } finally {
            if (whole != null) {
                s3.budget.release(whole);
            }
        }
    }

    @Override
    public synchronized void abort() {
        if (state != UploadState.OPEN) {
            return;
        }
        state = UploadState.ABORTED;
        if (buffer != null) {
            s3.budget.release(buffer);
            buffer = null;
        }
        // Parts still running would otherwise land after the abort and linger.
        awaitParts();
        awaitCopies();
        if (uploadId != null && cleanup.abortQuietly(fullKey, uploadId)) {
            journal.closed(fullKey, uploadId);
        }
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
}
