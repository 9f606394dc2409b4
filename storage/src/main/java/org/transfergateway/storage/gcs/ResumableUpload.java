package org.transfergateway.storage.gcs;

import com.google.api.client.http.AbstractHttpContent;
import com.google.api.client.http.ByteArrayContent;
import com.google.api.client.http.GenericUrl;
import com.google.api.client.http.HttpRequest;
import com.google.api.client.http.HttpResponse;
import com.google.api.client.json.JsonObjectParser;
import com.google.api.client.json.gson.GsonFactory;
import com.google.api.services.storage.model.StorageObject;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.JournaledUpload;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UploadJournal;

/**
 * An upload into GCS from buffers of the shared memory budget. A body that ends within its
 * first chunk goes as one media upload on commit. A longer one opens a resumable session
 * and sends it chunk by chunk ({@link ChunkPlan}): one chunk in flight while the next
 * fills, so an upload holds at most two chunks of the budget. The object appears only when
 * the last chunk, which names the total, arrives at commit. Whatever fails, the session is
 * cancelled (a DELETE of its URI), so nothing is left; the session is reported to the
 * {@link UploadJournal} before its first chunk, so that a crash can cancel it too.
 *
 * <p>The resumable protocol is spoken here, over the client library's own HTTP transport
 * and credentials, because the library's write channel cannot be cancelled: closing it
 * would make the partial object visible.
 *
 * <p>The writer's methods are synchronized, so an {@link #abort()} from another thread
 * waits for a write blocked on the budget; an abort waits for the chunk in flight.
 */
final class ResumableUpload implements JournaledUpload {
    private static final Logger log = LoggerFactory.getLogger(GcsStorage.class);
    private static final UploadJournal NO_JOURNAL = new UploadJournal() {
        @Override
        public void opened(String key, String uploadId) {
        }

        @Override
        public void closed(String key, String uploadId) {
        }
    };
    /** The status GCS answers a cancelled session with (and to a DELETE of it). */
    static final int CANCELLED = 499;

    private enum State { OPEN, COMMITTED, ABORTED }

    private final GcsBucket gcs;
    private final String key;
    private final String fullName;
    /** The size announced in advance, or -1: a small one gets a first buffer of just that size. */
    private final long announced;
    private volatile UploadJournal journal = NO_JOURNAL;
    private volatile State state = State.OPEN;
    private ByteBuffer buffer;
    private long written;
    /** Bytes handed to chunks so far: the offset of the buffer filling. */
    private long sent;
    private String session;
    private Future<?> inFlight;

    ResumableUpload(GcsBucket gcs, String key, long announced) {
        this.gcs = gcs;
        this.key = key;
        this.fullName = gcs.full(key);
        this.announced = announced;
    }

    @Override
    public void journalTo(UploadJournal journal) {
        this.journal = journal;
    }

    @Override
    public synchronized boolean takesWithoutWaiting(int bytes) {
        // A write that fits the buffer only copies: the chunk in flight is waited for when the buffer is full.
        return state == State.OPEN && buffer != null && buffer.remaining() >= bytes;
    }

    @Override
    public synchronized void write(ByteBuffer src) throws IOException {
        ensureOpen();
        if (written + src.remaining() > ChunkPlan.MAX_OBJECT_SIZE) {
            abort();
            throw ErrorCode.TOO_LARGE.exception("GCS stores objects of at most 5 TiB");
        }
        while (src.hasRemaining()) {
            if (buffer != null && !buffer.hasRemaining()) {
                // More is coming, so the full buffer is not the last chunk.
                sendChunk();
            }
            if (buffer == null) {
                buffer = acquire(nextBufferSize());
            }
            int n = Math.min(buffer.remaining(), src.remaining());
            buffer.put(buffer.position(), src, src.position(), n);
            buffer.position(buffer.position() + n);
            src.position(src.position() + n);
            written += n;
        }
    }

    private int nextBufferSize() {
        if (session == null && announced > 0 && announced < gcs.chunkSize) {
            return (int) announced; // the whole body fits: one request, from no more memory than it needs
        }
        return gcs.chunkSize;
    }

    private ByteBuffer acquire(int size) throws IOException {
        try {
            return gcs.budget.acquire(size);
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

    /** Hands the full buffer to the executor, once the chunk before it has been taken. */
    private void sendChunk() throws IOException {
        try {
            if (session == null) {
                session = openSession();
                journal.opened(fullName, session);
            }
            awaitInFlight();
        } catch (IOException | RuntimeException e) {
            abort();
            throw e;
        }
        ByteBuffer chunk = buffer.flip();
        buffer = null;
        long offset = sent;
        sent += chunk.remaining();
        inFlight = gcs.executor.submit(() -> {
            try {
                putChunk(chunk, offset, -1);
            } finally {
                gcs.budget.release(chunk);
            }
            return null;
        });
    }

    /** Waits for the chunk in flight; its failure becomes this call's. */
    private void awaitInFlight() throws IOException {
        Future<?> f = inFlight;
        if (f == null) {
            return;
        }
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while uploading " + key);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw gcs.failure("uploading " + key, e.getCause() instanceof RuntimeException r ? r : new RuntimeException(e.getCause()));
        } finally {
            inFlight = null;
        }
    }

    @Override
    public long written() {
        return written;
    }

    @Override
    public synchronized ObjectInfo commit() throws IOException {
        ensureOpen();
        StorageObject stored;
        ByteBuffer last = buffer;
        buffer = null;
        try {
            ByteBuffer body = last == null ? ByteBuffer.allocate(0) : last.flip();
            if (session == null) {
                stored = putWhole(body);
            } else {
                awaitInFlight();
                stored = putChunk(body, sent, sent + body.remaining());
                journal.closed(fullName, session);
            }
        } catch (IOException | RuntimeException e) {
            if (last != null) {
                gcs.budget.release(last);
            }
            abort();
            throw e;
        }
        if (last != null) {
            gcs.budget.release(last);
        }
        state = State.COMMITTED;
        log.debug("{}: stored {} ({} bytes{})", gcs.name, key, written, session == null ? "" : ", resumable");
        return info(stored);
    }

    private ObjectInfo info(StorageObject o) {
        long size = o != null && o.getSize() != null ? o.getSize().longValue() : written;
        if (size != written) {
            // Never report a commit the service did not store in full.
            log.warn("{}: {} stored with {} bytes, {} sent", gcs.name, key, size, written);
        }
        Instant modified = o != null && o.getUpdated() != null ? Instant.ofEpochMilli(o.getUpdated().getValue()) : Instant.now();
        String etag = o != null && o.getGeneration() != null ? o.getGeneration().toString() : null;
        return ObjectInfo.file(key, size, modified, etag);
    }

    @Override
    public synchronized void abort() {
        if (state != State.OPEN) {
            return;
        }
        state = State.ABORTED;
        if (buffer != null) {
            gcs.budget.release(buffer);
            buffer = null;
        }
        // A chunk still running would otherwise be sent after the cancel.
        try {
            awaitInFlight();
        } catch (IOException e) {
            log.debug("{}: a chunk of {} failed before the abort: {}", gcs.name, key, e.toString());
        }
        if (session != null && cancelQuietly(gcs, session, key)) {
            journal.closed(fullName, session);
        }
    }

    // ---- the protocol ----

    /** Starts a resumable session; its URI is where every chunk goes. */
    private String openSession() throws IOException {
        GenericUrl url = new GenericUrl(gcs.host + "/upload/storage/v1/b/" + gcs.bucket + "/o");
        url.set("uploadType", "resumable");
        url.set("name", fullName);
        for (int attempt = 1; ; attempt++) {
            try {
                HttpRequest req = request(gcs.http.buildPostRequest(url,
                        new ByteArrayContent("application/json; charset=UTF-8", "{}".getBytes(StandardCharsets.UTF_8))));
                req.getHeaders().set("X-Upload-Content-Type", "application/octet-stream");
                HttpResponse resp = req.execute();
                try {
                    int status = resp.getStatusCode();
                    if (status == 200 || status == 201) {
                        String location = resp.getHeaders().getLocation();
                        if (location == null) {
                            throw ErrorCode.BACKEND_FAILED.failure(gcs.name + ": starting the upload of " + key
                                    + " failed: no session Location in the answer");
                        }
                        return location;
                    }
                    if (!retryable(status) || attempt >= GcsBucket.MAX_ATTEMPTS) {
                        throw GcsErrors.answered(gcs.name, "starting the upload of " + key, status, resp.parseAsString());
                    }
                } finally {
                    resp.disconnect();
                }
            } catch (GatewayException e) {
                throw e;
            } catch (IOException e) {
                if (attempt >= GcsBucket.MAX_ATTEMPTS) {
                    throw unreachable("starting the upload of " + key, e);
                }
            }
            backOff(attempt);
        }
    }

    /** A body that ended within the first chunk, in one media upload. */
    private StorageObject putWhole(ByteBuffer body) throws IOException {
        GenericUrl url = new GenericUrl(gcs.host + "/upload/storage/v1/b/" + gcs.bucket + "/o");
        url.set("uploadType", "media");
        url.set("name", fullName);
        for (int attempt = 1; ; attempt++) {
            try {
                HttpResponse resp = request(gcs.http.buildPostRequest(url, new BufferContent(body.duplicate()))).execute();
                try {
                    int status = resp.getStatusCode();
                    if (status == 200 || status == 201) {
                        return resp.parseAs(StorageObject.class);
                    }
                    if (!retryable(status) || attempt >= GcsBucket.MAX_ATTEMPTS) {
                        throw GcsErrors.answered(gcs.name, "uploading " + key, status, resp.parseAsString());
                    }
                } finally {
                    resp.disconnect();
                }
            } catch (GatewayException e) {
                throw e;
            } catch (IOException e) {
                if (attempt >= GcsBucket.MAX_ATTEMPTS) {
                    throw unreachable("uploading " + key, e);
                }
            }
            backOff(attempt);
        }
    }

    /**
     * Sends {@code chunk}, which starts at {@code offset} of the object; {@code total} is the
     * object's size on the last chunk, -1 before. After a failure or a partial take, asks the
     * session what it holds and sends the rest. Returns the object after the last chunk.
     */
    private StorageObject putChunk(ByteBuffer chunk, long offset, long total) throws IOException {
        long end = offset + chunk.remaining();
        long from = offset;
        String what = "uploading " + key + " (bytes " + offset + "-" + end + ")";
        for (int attempt = 1; ; attempt++) {
            ByteBuffer rest = chunk.duplicate().position(chunk.position() + (int) (from - offset));
            int status;
            try {
                HttpRequest req = request(gcs.http.buildPutRequest(new GenericUrl(session), new BufferContent(rest)));
                req.getHeaders().setContentRange(ChunkPlan.contentRange(from, end - from, total));
                HttpResponse resp = req.execute();
                try {
                    status = resp.getStatusCode();
                    if ((status == 200 || status == 201) && total >= 0) {
                        return resp.parseAs(StorageObject.class);
                    }
                    if (status == 308) {
                        long persisted = ChunkPlan.persisted(resp.getHeaders().getRange());
                        if (persisted == end && total < 0) {
                            return null;
                        }
                        long next = resumeFrom(persisted, offset, end, what);
                        if (next > from) {
                            // A partial take: send the rest at once, with attempts counted afresh.
                            from = next;
                            attempt = 0;
                            continue;
                        }
                        // No progress at all: a failure like any other below.
                    }
                    if (!(retryable(status) || status == 308) || attempt >= GcsBucket.MAX_ATTEMPTS) {
                        throw GcsErrors.answered(gcs.name, what, status, resp.parseAsString());
                    }
                } finally {
                    resp.disconnect();
                }
            } catch (GatewayException e) {
                throw e;
            } catch (IOException e) {
                if (attempt >= GcsBucket.MAX_ATTEMPTS) {
                    throw unreachable(what, e);
                }
            }
            backOff(attempt);
            Long persisted = queryPersisted(what);
            if (persisted == null) {
                return total >= 0 ? null : fail(what, "the session completed early");
            }
            from = resumeFrom(persisted, offset, end, what);
        }
    }

    private long resumeFrom(long persisted, long offset, long end, String what) throws GatewayException {
        if (persisted < offset || persisted > end) {
            throw ErrorCode.BACKEND_FAILED.failure(gcs.name + ": " + what + " failed: the session holds "
                    + persisted + " bytes");
        }
        return persisted;
    }

    private <T> T fail(String what, String why) throws GatewayException {
        throw ErrorCode.BACKEND_FAILED.failure(gcs.name + ": " + what + " failed: " + why);
    }

    /** What the session holds ({@code Content-Range: bytes *}{@code /*}); null when it is complete. */
    private Long queryPersisted(String what) throws IOException {
        HttpRequest req = request(gcs.http.buildPutRequest(new GenericUrl(session), new ByteArrayContent(null, new byte[0])));
        req.getHeaders().setContentRange("bytes */*");
        HttpResponse resp;
        try {
            resp = req.execute();
        } catch (IOException e) {
            throw unreachable(what, e);
        }
        try {
            int status = resp.getStatusCode();
            if (status == 308) {
                return ChunkPlan.persisted(resp.getHeaders().getRange());
            }
            if (status == 200 || status == 201) {
                return null;
            }
            throw GcsErrors.answered(gcs.name, what, status, resp.parseAsString());
        } finally {
            resp.disconnect();
        }
    }

    /**
     * Cancels the session at {@code sessionUri}: true when it is gone, also when it was gone
     * already. Throws when the service could not be asked.
     */
    static boolean cancel(GcsBucket gcs, String sessionUri) throws IOException {
        HttpResponse resp = gcs.http.buildDeleteRequest(new GenericUrl(sessionUri))
                .setThrowExceptionOnExecuteError(false).setFollowRedirects(false).execute();
        try {
            int status = resp.getStatusCode();
            // 499 is GCS's answer to a cancel; 404 and 410 say the session is gone already.
            if (status == CANCELLED || status == 204 || status == 200 || status == 404 || status == 410) {
                return true;
            }
            throw GcsErrors.answered(gcs.name, "cancelling an upload session", status, resp.parseAsString());
        } finally {
            resp.disconnect();
        }
    }

    static boolean cancelQuietly(GcsBucket gcs, String sessionUri, String key) {
        try {
            return cancel(gcs, sessionUri);
        } catch (IOException | RuntimeException e) {
            log.warn("{}: could not cancel the upload session of {}: {}", gcs.name, key, e.getMessage());
            return false;
        }
    }

    private HttpRequest request(HttpRequest req) {
        return req.setThrowExceptionOnExecuteError(false).setFollowRedirects(false).setNumberOfRetries(0)
                .setParser(new JsonObjectParser(GsonFactory.getDefaultInstance()));
    }

    private static boolean retryable(int status) {
        return status == 408 || status == 429 || status >= 500;
    }

    private GatewayException unreachable(String what, IOException e) {
        return ErrorCode.BACKEND_UNAVAILABLE.failure(gcs.name + ": " + what + " failed: the backend did not answer: "
                + GcsErrors.reason(e), e);
    }

    private void backOff(int attempt) throws InterruptedIOException {
        try {
            Thread.sleep(Math.min(2000L, 200L << (attempt - 1)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while uploading " + key);
        }
    }

    /** A request body from a buffer, copied to the connection through a small array; replayable. */
    private static final class BufferContent extends AbstractHttpContent {
        private final ByteBuffer body;

        BufferContent(ByteBuffer body) {
            super("application/octet-stream");
            this.body = body;
        }

        @Override
        public long getLength() {
            return body.remaining();
        }

        @Override
        public boolean retrySupported() {
            return true;
        }

        @Override
        public void writeTo(OutputStream out) throws IOException {
            ByteBuffer b = body.duplicate();
            byte[] copy = new byte[(int) Math.min(64 * 1024, Math.max(1, b.remaining()))];
            while (b.hasRemaining()) {
                int n = Math.min(copy.length, b.remaining());
                b.get(copy, 0, n);
                out.write(copy, 0, n);
            }
            out.flush();
        }
    }
}
