package org.transfergateway.storage.azure;

import com.azure.core.util.BinaryData;
import com.azure.core.util.Context;
import com.azure.storage.blob.options.BlockBlobSimpleUploadOptions;
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

/**
 * An upload of announced size sent as one Put Blob whose body streams from the writer
 * through a {@link BodyPipe}, on an executor thread, as the SDK itself sends files up to
 * its single-upload size. No block is staged, so nothing needs discarding: the pipe keeps
 * the last byte back until {@link #commit()}, and Azure discards a request whose body
 * falls short of its Content-Length, so an abort, even after the last write, leaves
 * nothing. The body cannot be replayed: a failed attempt fails the upload.
 *
 * <p>Why not blocks: for the same bytes, staged blocks and their commit cost Azurite
 * (the emulator every test and benchmark runs against) about three times the CPU of one
 * Put Blob, and files up to 256 MiB are what the SDK uploads in one request by default.
 */
final class StreamedBlobPut implements Upload {
    private static final Logger log = LoggerFactory.getLogger(AzureStorage.class);

    private enum State { OPEN, COMMITTED, ABORTED }

    private final AzureContainer az;
    private final AzureStorage storage;
    private final Semaphore streamedPuts;
    private final String key;
    private final String fullName;
    private final long size;
    private final BodyPipe pipe;
    private final CompletableFuture<String> put = new CompletableFuture<>();
    private volatile State state = State.OPEN;
    private volatile long written;

    StreamedBlobPut(AzureContainer az, AzureStorage storage, Semaphore streamedPuts, String key, long size) {
        this.az = az;
        this.storage = storage;
        this.streamedPuts = streamedPuts;
        this.key = key;
        this.fullName = az.full(key);
        this.size = size;
        this.pipe = new BodyPipe(size);
        storage.uploadOpened(fullName);
        az.executor.execute(() -> {
            try {
                put.complete(az.blobOnce(fullName).uploadWithResponse(
                        new BlockBlobSimpleUploadOptions(BinaryData.fromStream(pipe.open(), size)), null, Context.NONE)
                        .getValue().getETag());
            } catch (RuntimeException e) {
                put.completeExceptionally(az.failure("uploading " + key, e));
            } catch (Error e) {
                put.completeExceptionally(ErrorCode.INTERNAL.failure(az.name + ": uploading " + key + " failed: " + e, e));
            } finally {
                // A writer waiting on a full pipe must not wait for a request that is over.
                pipe.fail(new IOException("the upload of " + key + " has ended"));
                storage.uploadEnded(fullName);
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
        ensureOpen();
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

    private void ensureOpen() throws IOException {
        if (state != State.OPEN) {
            throw new IOException("the upload of " + key + " is already " + (state == State.COMMITTED ? "committed" : "aborted"));
        }
    }

    @Override
    public long written() {
        return written;
    }

    @Override
    public synchronized ObjectInfo commit() throws IOException {
        ensureOpen();
        if (written != size) {
            abort();
            throw ErrorCode.BAD_REQUEST.exception("the body ended after " + written + " of the " + size + " bytes announced");
        }
        pipe.release();
        String etag;
        try {
            etag = put.join();
        } catch (CompletionException e) {
            state = State.ABORTED;
            throw e.getCause() instanceof IOException io ? io
                    : ErrorCode.INTERNAL.failure(az.name + ": uploading " + key + " failed: " + e.getCause(), e.getCause());
        }
        state = State.COMMITTED;
        log.debug("{}: stored {} ({} bytes, one request)", az.name, key, written);
        return storage.storedInfo(key, written, etag);
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
        } catch (CompletionException expected) {
            // the aborted request failed, as it must
        }
    }
}
