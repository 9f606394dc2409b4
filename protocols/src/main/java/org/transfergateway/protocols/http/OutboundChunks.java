package org.transfergateway.protocols.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.stream.ChunkedInput;
import io.netty.handler.stream.ChunkedWriteHandler;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.UserFiles;

/**
 * A download as chunks for {@link ChunkedWriteHandler}, read ahead on the blocking pool
 * (reading a backend stream may block). At most {@link #AHEAD} chunks wait; the handler
 * asks for chunks only while the channel is writable, so a client that stops reading
 * stops the reading from storage. The download is counted when the response has been
 * written to the end ({@link #delivered}): completed when the client took it all, failed
 * when the connection broke first, also if every byte had been read from storage.
 *
 * <p>Hand-offs between threads cost more than the copying (measured: 64 KiB chunks, two
 * ahead, meant a pool task and an event-loop task per chunk, and half of FTP's speed from
 * the same S3 stream). So the chunks are 256 KiB, a reading task starts again only when
 * the queue is down to {@link #RESUME_AT} and then reads until it is full, and the reader
 * wakes the event loop only when the writer found nothing to write (and at the end):
 * while chunks are waiting, the writer takes the next one itself as soon as the channel
 * is writable again.
 */
final class OutboundChunks implements ChunkedInput<ByteBuf> {
    private static final Logger log = LoggerFactory.getLogger(OutboundChunks.class);
    /** Bytes per chunk; a download holds at most {@link #AHEAD} of them besides the one being written. */
    static final int CHUNK = 256 * 1024;
    /** The first chunk: as soon as this much has come from storage, the response's body starts. */
    private static final int FIRST_CHUNK = 64 * 1024;
    private static final int AHEAD = 3;
    /** A new reading task starts once no more than this many chunks wait. */
    private static final int RESUME_AT = 1;

    private final UserFiles.Outbound source;
    private final Executor pool;
    private final ChunkedWriteHandler writer;
    /** The writer's own context: what is written there passes below the writer. */
    private final ChannelHandlerContext below;
    /** After a read failure: every byte written before it has left the channel's buffer. */
    private boolean drained;
    private boolean draining;
    private final ArrayDeque<ByteBuf> ready = new ArrayDeque<>();
    private boolean reading;
    /** The writer asked for a chunk and found none: the next one must wake it. */
    private boolean starved;
    private long read;
    /** A read failure that came after some bytes of a chunk; thrown by the next fill. */
    private IOException pending;
    private boolean eof;
    private boolean closed;
    private long progress;
    private IOException failure;

    OutboundChunks(UserFiles.Outbound source, Executor pool, ChannelHandlerContext writerContext) {
        this.source = source;
        this.pool = pool;
        this.writer = (ChunkedWriteHandler) writerContext.handler();
        this.below = writerContext;
        synchronized (this) {
            scheduleLocked();
        }
    }

    private void scheduleLocked() {
        if (reading || eof || closed || failure != null || ready.size() > RESUME_AT) {
            return;
        }
        reading = true;
        pool.execute(this::fill);
    }

    private void fill() {
        while (true) {
            ByteBuf chunk = null;
            IOException error = null;
            boolean end = false;
            try {
                // One byte over what is left, so that the last chunk also reads the end of the
                // stream (a backend stream closed at its end is reused, not aborted).
                // The first chunk no larger than before, so that the first byte leaves no later.
                int size = (int) Math.max(1, Math.min(read == 0 ? FIRST_CHUNK : CHUNK, source.length() - read + 1));
                // A pooled buffer: Netty releases it once written, and it goes back to the pool.
                ByteBuf buf = PooledByteBufAllocator.DEFAULT.heapBuffer(size, size);
                int n = fillFrom(buf);
                if (n > 0) {
                    chunk = buf;
                } else {
                    buf.release();
                }
                read += n;
                end = n < size && pending == null;
            } catch (IOException e) {
                error = e;
            }
            boolean wake;
            boolean more;
            synchronized (this) {
                if (closed) {
                    reading = false;
                    if (chunk != null) {
                        chunk.release();
                    }
                    return;
                }
                if (chunk != null) {
                    ready.add(chunk);
                }
                eof = end;
                failure = error;
                wake = starved || end || error != null;
                starved = false;
                more = !end && error == null && ready.size() < AHEAD;
                reading = more;
            }
            if (wake) {
                writer.resumeTransfer();
            }
            if (!more) {
                return;
            }
        }
    }

    /**
     * Reads until the buffer is full or the source ends; the bytes read. A failure after
     * some bytes is kept for the next call: the bytes read before it, which the download
     * counts as sent, go out first.
     */
    private int fillFrom(ByteBuf buf) throws IOException {
        if (pending != null) {
            buf.release();
            throw pending;
        }
        try {
            while (buf.isWritable()) {
                if (buf.writeBytes(source, buf.writableBytes()) < 0) {
                    break;
                }
            }
            return buf.readableBytes();
        } catch (IOException e) {
            if (buf.isReadable()) {
                pending = e;
                return buf.readableBytes();
            }
            buf.release();
            throw e;
        } catch (RuntimeException e) {
            buf.release();
            throw e;
        }
    }

    @Override
    public synchronized boolean isEndOfInput() {
        return eof && ready.isEmpty();
    }

    @Override
    @Deprecated
    public ByteBuf readChunk(ChannelHandlerContext ctx) throws Exception {
        return readChunk(ctx.alloc());
    }

    @Override
    public synchronized ByteBuf readChunk(ByteBufAllocator allocator) throws Exception {
        if (failure != null && ready.isEmpty()) {
            if (drained) {
                throw failure;
            }
            // The failure closes the connection, and a close drops what the channel has not
            // yet written: first let every byte counted as sent reach the socket. An empty
            // write below the writer completes once everything before it is written.
            if (!draining) {
                draining = true;
                below.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(done -> {
                    synchronized (this) {
                        drained = true;
                    }
                    writer.resumeTransfer();
                });
            }
            return null;
        }
        ByteBuf next = ready.poll();
        starved = next == null;
        scheduleLocked();
        if (next != null) {
            progress += next.readableBytes();
        }
        return next;
    }

    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            while (!ready.isEmpty()) {
                ready.poll().release();
            }
            if (eof) {
                return; // all read: delivered() tells how it ended
            }
        }
        // Closing an S3 stream may block too.
        pool.execute(() -> {
            try {
                source.close();
            } catch (IOException e) {
                log.debug("closing a download failed: {}", e.toString());
            }
        });
    }

    /**
     * The response was written to the end ({@code true}) or its connection broke. A
     * finished download is counted at once, on the event loop (its stream is at its end,
     * closing it does not block), so that totals read right after it include it.
     */
    void delivered(boolean ok) {
        close();
        Runnable finish = () -> {
            if (!ok) {
                source.abandon();
            }
            try {
                source.close();
            } catch (IOException e) {
                log.debug("closing a download failed: {}", e.toString());
            }
        };
        boolean atEnd;
        synchronized (this) {
            atEnd = eof;
        }
        if (ok && atEnd) {
            finish.run();
        } else {
            pool.execute(finish); // closing a stream cut short may block (S3)
        }
    }

    @Override
    public long length() {
        return source.length();
    }

    @Override
    public synchronized long progress() {
        return progress;
    }
}
