package org.transfergateway.storage.s3;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import org.transfergateway.storage.GatewayException;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/**
 * The bytes {@code [offset, end)} of a large object as several ranged GetObjects at once,
 * handed out in order. The first range is read straight from its response as its bytes
 * arrive, so the first byte comes as soon as with one GetObject. Meanwhile up to
 * {@link #AHEAD} following ranges are read into buffers of the {@link MemoryBudget}, each
 * only if the budget has room at that moment and keeps half of itself free for uploads:
 * a download never waits for memory, it reads its next range straight from the service
 * instead. A reader that stops reading stops the read-ahead once those buffers are full.
 *
 * <p>Every range after the first asks for the ETag of the first (If-Match), so that an
 * object replaced meanwhile cannot mix two objects' bytes. A range that fails, or that
 * brings fewer bytes than asked, fails the stream at its place: the reader gets an
 * {@link IOException} after the bytes before it, never a short or mixed body.
 */
final class RangedRead extends InputStream {
    /** Bytes per range. */
    static final int RANGE = 8 * 1024 * 1024;
    /** Downloads longer than this are read in ranges; shorter ones with one GetObject. */
    static final long THRESHOLD = 2L * RANGE;
    /** Ranges read ahead of the one being handed out. */
    static final int AHEAD = 3;

    private final S3Bucket s3;
    private final String key;
    private final long end;
    private final String etag;
    /** The range being read straight from the service, or null while one from {@link #ahead} is. */
    private InputStream direct;
    private long directLeft;
    /** Read-ahead ranges in order: they cover the bytes from the current one's end up to {@link #next}. */
    private final ArrayDeque<Ahead> ahead = new ArrayDeque<>();
    private long next;
    private boolean closed;

    /**
     * Starts with the response of the first range, {@code [offset, offset + firstLength)},
     * already open.
     */
    RangedRead(S3Bucket s3, String key, long offset, long end, ResponseInputStream<GetObjectResponse> first, long firstLength) {
        this.s3 = s3;
        this.key = key;
        this.end = end;
        this.etag = first.response().eTag();
        this.direct = new AbortingInputStream(first);
        this.directLeft = firstLength;
        this.next = offset + firstLength;
        topUp();
    }

    private GetObjectRequest request(long from, long length) {
        GetObjectRequest.Builder b = GetObjectRequest.builder().bucket(s3.bucket).key(s3.full(key))
                .range("bytes=" + from + "-" + (from + length - 1));
        if (etag != null) {
            b.ifMatch(etag);
        }
        return b.build();
    }

    /**
     * Starts read-ahead ranges while there are ranges left, room in the budget and fewer
     * than AHEAD running. Holding this stream's lock (or in the constructor).
     */
    private void topUp() {
        while (ahead.size() < AHEAD && next < end) {
            int length = (int) Math.min(RANGE, end - next);
            ByteBuffer buffer = s3.budget.tryAcquire(length, s3.budget.capacityBytes() / 2);
            if (buffer == null) {
                return;
            }
            Ahead a = new Ahead(next, length, buffer);
            next += length;
            ahead.add(a);
            try {
                s3.executor.execute(a);
            } catch (RuntimeException e) {
                a.fail(new IOException("cannot start reading a range of " + key + ": " + e, e));
                a.letGo();
            }
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        if (len == 0) {
            return 0;
        }
        while (true) {
            InputStream d;
            Ahead head;
            synchronized (this) {
                if (closed) {
                    throw new IOException("stream closed");
                }
                d = direct;
                head = ahead.peek();
            }
            if (d != null) {
                if (directLeft > 0) {
                    int n = d.read(b, off, (int) Math.min(len, directLeft));
                    if (n < 0) {
                        throw new IOException("S3 ended a range of " + key + " " + directLeft + " bytes early");
                    }
                    directLeft -= n;
                    return n;
                }
                // The range is read: its response is at its end (the connection goes back to the pool).
                if (d.read() >= 0) {
                    throw new IOException("S3 sent more bytes than asked for in a range of " + key);
                }
                d.close();
                synchronized (this) {
                    direct = null;
                }
                continue;
            }
            if (head != null) {
                int n = head.take(b, off, len);
                if (n > 0) {
                    return n;
                }
                synchronized (this) {
                    if (closed) {
                        throw new IOException("stream closed");
                    }
                    ahead.poll();
                    s3.budget.release(head.buffer);
                    topUp();
                }
                continue;
            }
            long from;
            long length;
            synchronized (this) {
                if (next >= end) {
                    return -1;
                }
                from = next;
                length = Math.min(RANGE, end - next);
                next += length;
            }
            // No read-ahead (no room in the budget): the next range straight from the service.
            InputStream opened;
            try {
                opened = new AbortingInputStream(s3.client.getObject(request(from, length)));
            } catch (SdkException e) {
                throw s3.failure("reading " + key, e);
            }
            synchronized (this) {
                if (closed) {
                    opened.close();
                    throw new IOException("stream closed");
                }
                direct = opened;
                directLeft = length;
                topUp();
            }
        }
    }

    /** Stops every range; may come from another thread while a read waits, which then fails. */
    @Override
    public void close() throws IOException {
        InputStream d;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            for (Ahead a; (a = ahead.poll()) != null; ) {
                a.cancel();
            }
            d = direct;
        }
        if (d != null) {
            d.close();
        }
    }

    /** One range read ahead into a budget buffer, on the backend's executor, taken as it fills. */
    private final class Ahead implements Runnable {
        private final long from;
        private final int length;
        final ByteBuffer buffer;
        /** Bytes written into the buffer by the reading thread; guarded by this. */
        private int filled;
        /** Bytes handed out; only the consumer's thread. */
        private int taken;
        private IOException failure;
        private boolean done;
        private boolean cancelled;
        /** The reading thread let go of the buffer (or never got to run). */
        private boolean finished;
        private ResponseInputStream<GetObjectResponse> response;

        Ahead(long from, int length, ByteBuffer buffer) {
            this.from = from;
            this.length = length;
            this.buffer = buffer;
        }

        @Override
        public void run() {
            byte[] chunk = new byte[64 * 1024];
            try {
                ResponseInputStream<GetObjectResponse> in;
                synchronized (this) {
                    if (cancelled) {
                        return;
                    }
                }
                in = s3.client.getObject(request(from, length));
                synchronized (this) {
                    response = in;
                    if (cancelled) {
                        in.abort();
                        return;
                    }
                }
                try (in) {
                    int have = 0;
                    while (have < length) {
                        int n = in.read(chunk, 0, Math.min(chunk.length, length - have));
                        if (n < 0) {
                            throw new IOException("S3 ended a range of " + key + " " + (length - have) + " bytes early");
                        }
                        synchronized (this) {
                            if (cancelled) {
                                in.abort();
                                return;
                            }
                            buffer.put(have, chunk, 0, n);
                            have += n;
                            filled = have;
                            notifyAll();
                        }
                    }
                    if (in.read() >= 0) {
                        throw new IOException("S3 sent more bytes than asked for in a range of " + key);
                    }
                }
                synchronized (this) {
                    done = true;
                    notifyAll();
                }
            } catch (SdkException e) {
                fail(s3.failure("reading " + key, e));
            } catch (IOException | RuntimeException e) {
                fail(e instanceof IOException io ? io : new IOException("reading " + key + " failed: " + e, e));
            } finally {
                letGo();
            }
        }

        /** The reading thread is done with the buffer; of this and {@link #cancel}, the later one gives it back. */
        synchronized void letGo() {
            finished = true;
            if (cancelled) {
                s3.budget.release(buffer);
            }
        }

        synchronized void fail(IOException e) {
            if (failure == null) {
                failure = e;
            }
            done = true;
            notifyAll();
        }

        /**
         * Up to {@code len} of the next bytes, waiting until some have arrived; 0 at the end
         * of the range.
         */
        synchronized int take(byte[] b, int off, int len) throws IOException {
            while (filled == taken && failure == null && !cancelled && !(done && taken == length)) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while reading " + key);
                }
            }
            if (cancelled) {
                throw new IOException("stream closed");
            }
            int available = filled - taken;
            if (available == 0) {
                if (failure != null) {
                    throw failure instanceof GatewayException ? failure
                            : new IOException("reading " + key + " failed: " + failure.getMessage(), failure);
                }
                return 0;
            }
            // Under the lock: a close from another thread gives the buffer back only after the copy.
            int n = Math.min(len, available);
            buffer.get(taken, b, off, n);
            taken += n;
            return n;
        }

        /** Stops the reading; the buffer goes back to the budget once the reading thread lets go of it. */
        void cancel() {
            ResponseInputStream<GetObjectResponse> in;
            synchronized (this) {
                cancelled = true;
                notifyAll();
                in = response;
                if (finished) {
                    s3.budget.release(buffer);
                    return;
                }
            }
            if (in != null) {
                in.abort();
            }
        }
    }
}
