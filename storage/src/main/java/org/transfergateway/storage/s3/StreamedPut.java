package org.transfergateway.storage.s3;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Semaphore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.BodyPipe;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.Upload;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;

/**
 * An upload of announced size sent as one PutObject whose body streams from the writer
 * through a {@link BodyPipe}, on an executor thread. The pipe keeps the last byte back
 * until {@link #commit()}, so an abort, even after the last write, leaves nothing; the
 * body cannot be replayed, so a failed attempt fails the upload.
 */
final class StreamedPut implements Upload {
    /** One log category for the whole backend, whichever class of it logs. */
    private static final Logger log = LoggerFactory.getLogger(S3Storage.class);

    private final S3Bucket s3;
    /** The permit of this put, given back when its request is over. */
    private final Semaphore streamedPuts;
    private final String key;
    private final long size;
    private final BodyPipe pipe;
    private final CompletableFuture<String> put = new CompletableFuture<>();
    private volatile UploadState state = UploadState.OPEN;
    private volatile long written;

    StreamedPut(S3Bucket s3, Semaphore streamedPuts, String key, long size) {
        this.s3 = s3;
        this.streamedPuts = streamedPuts;
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
        return state == UploadState.OPEN && written + bytes <= size && pipe.hasRoom(bytes);
    }

    @Override
    public synchronized void write(ByteBuffer src) throws IOException {
        if (state != UploadState.OPEN) {
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
            } catch (CompletionException c) {
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
        if (state != UploadState.OPEN) {
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
        } catch (CompletionException e) {
            state = UploadState.ABORTED;
            throw e.getCause() instanceof IOException io ? io
                    : ErrorCode.INTERNAL.failure(s3.name + ": uploading " + key + " failed: " + e.getCause(), e.getCause());
        }
        state = UploadState.COMMITTED;
        log.debug("{}: stored {} ({} bytes, one request)", s3.name, key, written);
        return s3.storedInfo(key, written, etag);
    }

    @Override
    public synchronized void abort() {
        if (state != UploadState.OPEN) {
            return;
        }
        state = UploadState.ABORTED;
        pipe.fail(new IOException("the upload of " + key + " was aborted"));
        try {
            put.join(); // the request is over, short of its last byte: nothing lands
        } catch (CompletionException expected) {
            // the aborted request failed, as it must
        }
    }
}
