package org.transfergateway.protocols.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
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
 */
final class OutboundChunks implements ChunkedInput<ByteBuf> {
    private static final Logger log = LoggerFactory.getLogger(OutboundChunks.class);
    static final int CHUNK = 64 * 1024;
    private static final int AHEAD = 2;

    private final UserFiles.Outbound source;
    private final Executor pool;
    private final ChunkedWriteHandler writer;
    private final ArrayDeque<ByteBuf> ready = new ArrayDeque<>();
    private boolean reading;
    private boolean eof;
    private boolean closed;
    private long progress;
    private IOException failure;

    OutboundChunks(UserFiles.Outbound source, Executor pool, ChunkedWriteHandler writer) {
        this.source = source;
        this.pool = pool;
        this.writer = writer;
        synchronized (this) {
            scheduleLocked();
        }
    }

    private void scheduleLocked() {
        if (reading || eof || closed || failure != null || ready.size() >= AHEAD) {
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
                // A pooled buffer: Netty releases it once written, and it goes back to the pool.
                ByteBuf buf = PooledByteBufAllocator.DEFAULT.heapBuffer(CHUNK, CHUNK);
                int n = fillFrom(buf);
                if (n > 0) {
                    chunk = buf;
                } else {
                    buf.release();
                }
                end = n < CHUNK;
            } catch (IOException e) {
                error = e;
            }
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
                if (end || error != null || ready.size() >= AHEAD) {
                    reading = false;
                    break;
                }
            }
            writer.resumeTransfer();
        }
        writer.resumeTransfer();
    }

    /** Reads until the buffer is full or the source ends; the bytes read. */
    private int fillFrom(ByteBuf buf) throws IOException {
        try {
            while (buf.isWritable()) {
                if (buf.writeBytes(source, buf.writableBytes()) < 0) {
                    break;
                }
            }
            return buf.readableBytes();
        } catch (IOException | RuntimeException e) {
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
    public ByteBuf readChunk(io.netty.channel.ChannelHandlerContext ctx) throws Exception {
        return readChunk(ctx.alloc());
    }

    @Override
    public synchronized ByteBuf readChunk(ByteBufAllocator allocator) throws Exception {
        if (failure != null && ready.isEmpty()) {
            throw failure;
        }
        ByteBuf next = ready.poll();
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
