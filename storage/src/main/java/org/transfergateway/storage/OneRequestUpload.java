package org.transfergateway.storage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * An upload of announced size sent to an object store as one request (an S3 PutObject,
 * an Azure Put Blob) whose body streams from the writer through a {@link BodyPipe}, on
 * an executor thread. The pipe keeps the last byte back until {@link #commit()}, so an
 * abort, even after the last write, leaves nothing: the service discards a request whose
 * body falls short of its Content-Length. The body cannot be replayed, so the request
 * must be sent without retries, and a failed attempt fails the upload.
 */
public final class OneRequestUpload implements Upload {

    /**
     * Sends the request, its body read from the stream {@code body} opens (once: a second
     * open fails), the object to be kept with the modification time {@code modified}
     * ({@link ModTimes}; null: none asked for); the stored object's ETag.
     */
    public interface Request {
        String send(Supplier<InputStream> body, long size, java.time.Instant modified) throws IOException;
    }

    private enum State { OPEN, COMMITTED, ABORTED }

    private final String backend;
    private final String key;
    private final long size;
    private final BiFunction<Long, String, ObjectInfo> stored;
    private final BodyPipe pipe;
    private final CompletableFuture<String> put = new CompletableFuture<>();
    private final Executor executor;
    private final Request request;
    private final Runnable ended;
    private volatile State state = State.OPEN;
    private volatile long written;
    /** Whether the request is on its way: from the first byte on. */
    private volatile boolean started;
    private java.time.Instant modified;

    /**
     * An upload whose {@code request} runs on {@code executor} from the first byte written
     * on (its headers may still take a modification time until then); {@code ended} runs
     * once the request is over, however it ended, or at an abort before it started;
     * {@code stored} describes the object from its size and ETag.
     */
    public OneRequestUpload(String backend, String key, long size, Executor executor, Request request, Runnable ended,
                            BiFunction<Long, String, ObjectInfo> stored) {
        this.backend = backend;
        this.key = key;
        this.size = size;
        this.stored = stored;
        this.pipe = new BodyPipe(size);
        this.executor = executor;
        this.request = request;
        this.ended = ended;
    }

    /** Taken until the first byte: the time goes in the request's headers. */
    @Override
    public synchronized boolean commitWithModified(java.time.Instant time) {
        if (started || state != State.OPEN) {
            return false;
        }
        modified = time;
        return true;
    }

    private void start() {
        if (started) {
            return;
        }
        started = true;
        java.time.Instant time = modified;
        executor.execute(() -> {
            try {
                put.complete(request.send(pipe::open, size, time));
            } catch (IOException e) {
                put.completeExceptionally(e);
            } catch (RuntimeException | Error e) {
                put.completeExceptionally(ErrorCode.INTERNAL.failure(backend + ": uploading " + key + " failed: " + e, e));
            } finally {
                // A writer waiting on a full pipe must not wait for a request that is over.
                pipe.fail(new IOException("the upload of " + key + " has ended"));
                ended.run();
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
        start();
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
            throw new IOException("the upload of " + key + " is already " + state.name().toLowerCase(java.util.Locale.ROOT));
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
                    : ErrorCode.INTERNAL.failure(backend + ": uploading " + key + " failed: " + e.getCause(), e.getCause());
        }
        state = State.COMMITTED;
        return stored.apply(written, etag);
    }

    @Override
    public synchronized void abort() {
        if (state != State.OPEN) {
            return;
        }
        state = State.ABORTED;
        pipe.fail(new IOException("the upload of " + key + " was aborted"));
        if (!started) {
            ended.run(); // no request was sent
            return;
        }
        try {
            put.join(); // the request is over, short of its last byte: nothing lands
        } catch (CompletionException expected) {
            // the aborted request failed, as it must
        }
    }
}
