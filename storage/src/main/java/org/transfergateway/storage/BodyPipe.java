package org.transfergateway.storage;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Carries a body of known size from the thread that receives it to the thread that sends
 * it to the backend in one request (an S3 PutObject, an Azure Put Blob), holding at most
 * {@link #CAPACITY} bytes (the writer waits beyond that).
 *
 * <p>The last byte is kept back until {@link #release()}: until the upload is committed,
 * the request can never be complete, so an upload aborted after its last write cannot
 * land. {@link #fail} ends the body early on both sides; the service discards a request
 * whose body falls short of its Content-Length.
 */
public final class BodyPipe {
    public static final int CAPACITY = 256 * 1024;
    /** The pipe's pieces; emptied ones are reused, so a body of any size makes no garbage. */
    private static final int PIECE = 64 * 1024;

    private final long size;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<ByteBuffer> chunks = new ArrayDeque<>();
    private final ArrayDeque<byte[]> spare = new ArrayDeque<>();
    private long queued;
    private long delivered;
    private boolean released;
    private boolean opened;
    private IOException failure;

    public BodyPipe(long size) {
        this.size = size;
    }

    /** Copies all of {@code src} in, waiting while the pipe is full. */
    public void write(ByteBuffer src) throws IOException {
        lock.lock();
        try {
            while (src.hasRemaining()) {
                while (failure == null && queued >= CAPACITY) {
                    changed.awaitUninterruptibly();
                }
                if (failure != null) {
                    throw failure;
                }
                byte[] piece = spare.isEmpty() ? new byte[PIECE] : spare.poll();
                int n = Math.min(PIECE, src.remaining());
                src.get(piece, 0, n);
                chunks.add(ByteBuffer.wrap(piece, 0, n));
                queued += n;
                changed.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Whether {@code bytes} more can go in now without waiting. */
    public boolean hasRoom(int bytes) {
        lock.lock();
        try {
            return failure == null && queued + bytes <= CAPACITY;
        } finally {
            lock.unlock();
        }
    }

    /** Lets the last byte go: the body is complete and may be completed on S3. */
    public void release() {
        lock.lock();
        try {
            released = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Ends the body early: readers and writers get {@code cause}. The first cause stays. */
    public void fail(IOException cause) {
        lock.lock();
        try {
            if (failure == null) {
                failure = cause;
            }
            chunks.clear();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /**
     * The body, once: the request cannot be replayed, so a second call (an SDK retry)
     * fails the request instead of sending a body that is gone.
     */
    public InputStream open() {
        lock.lock();
        try {
            if (opened) {
                IOException gone = new IOException("the body streamed from the client cannot be sent again");
                if (failure == null) {
                    failure = gone;
                }
                throw new java.io.UncheckedIOException(gone);
            }
            opened = true;
        } finally {
            lock.unlock();
        }
        return new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return take(b, off, len);
            }
        };
    }

    private int take(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        lock.lock();
        try {
            while (true) {
                if (failure != null) {
                    throw failure;
                }
                if (delivered == size) {
                    return -1;
                }
                long allowed = (released ? size : size - 1) - delivered;
                ByteBuffer head = chunks.peek();
                if (head != null && allowed > 0) {
                    int n = (int) Math.min(Math.min(len, head.remaining()), allowed);
                    head.get(b, off, n);
                    if (!head.hasRemaining()) {
                        spare.add(chunks.poll().array());
                    }
                    queued -= n;
                    delivered += n;
                    changed.signalAll();
                    return n;
                }
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }
}
