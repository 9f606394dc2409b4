package org.transfergateway.protocols.http;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.ByteBuffer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.ErrorCode;

/**
 * Streams a request body to an {@link UploadTarget} with backpressure: chunks go, in
 * order, to a serial executor on the blocking pool, and reading goes on while fewer than
 * {@link #IN_FLIGHT} chunks wait for storage, so that the socket and storage work at the
 * same time while memory stays bounded. Where a chunk's write would only copy it (to
 * local disk, or into an S3 part buffer with room) and nothing is queued, it is written
 * on the event loop instead. A body that ends early or a connection that closes aborts
 * the upload.
 */
final class StreamedBody implements BodyConsumer {
    private static final Logger log = LoggerFactory.getLogger(StreamedBody.class);
    /**
     * Chunks (of up to 64 KiB) handed to storage and not yet taken, before reading pauses.
     * One would make every chunk wait for the previous write: a stop-and-wait hand-off
     * between threads that left both idle half the time.
     */
    static final int IN_FLIGHT = 4;

    private final Exchange exchange;
    private final UploadHandler handler;
    private final SerialExecutor serial;
    /** Chunks (and the open task) handed over but not yet written; event loop only. */
    private int pending;
    /** Event loop only. */
    private boolean stopped;
    /**
     * Set by the serial tasks; read on the event loop only while no task is queued (the
     * hand-back of the last one orders the read after its writes).
     */
    private UploadTarget target;
    private boolean failed;

    StreamedBody(Exchange exchange, UploadHandler handler) {
        this.exchange = exchange;
        this.handler = handler;
        this.serial = new SerialExecutor(exchange.services().blocking());
        submit(this::open);
    }

    private void open() {
        try {
            exchange.caller();
            target = handler.open(exchange);
            // Only now: credentials, permission, size and quota were checked by the open.
            exchange.sendContinue();
        } catch (Exception | Error e) {
            fail(e);
        }
    }

    @Override
    public void content(HttpContent content) {
        if (stopped) {
            content.release();
            return;
        }
        if (content.decoderResult().isFailure()) {
            Throwable cause = content.decoderResult().cause();
            content.release();
            stopped = true;
            serial.execute(() -> fail(ErrorCode.BAD_REQUEST.exception("the request body is malformed: " + cause.getMessage())));
            return;
        }
        boolean last = content instanceof LastHttpContent;
        ByteBuf buf = content.content();
        if (!buf.isReadable()) {
            content.release();
        } else if (pending == 0 && target != null && !failed && target.takesWithoutWaiting(buf.readableBytes())) {
            // Everything before this chunk is done (so target and failed are settled, seen
            // through the hand-back to this loop), and the write is a copy that cannot wait.
            writeHere(content);
        } else {
            submit(() -> write(content));
        }
        if (last) {
            exchange.markBodyDone();
            stopped = true;
            serial.execute(this::finish);
        }
    }

    private void write(HttpContent content) {
        try {
            if (failed || target == null) {
                return;
            }
            ByteBuf buf = content.content();
            for (ByteBuffer b : buf.nioBuffers()) {
                target.write(b);
            }
        } catch (Exception | Error e) {
            fail(e);
        } finally {
            content.release();
        }
    }

    /** On the event loop: a quick write, without the round trip through the pool. */
    private void writeHere(HttpContent content) {
        try {
            for (ByteBuffer b : content.content().nioBuffers()) {
                target.write(b);
            }
        } catch (Exception | Error e) {
            stopped = true;
            serial.execute(() -> fail(e));
        } finally {
            content.release();
        }
    }

    private void finish() {
        if (failed || target == null) {
            return;
        }
        try {
            exchange.send(target.finish());
        } catch (Exception | Error e) {
            fail(e);
        }
    }

    /** On a serial task: abort and answer the error; the connection closes after it. */
    private void fail(Throwable e) {
        if (failed) {
            return;
        }
        failed = true;
        if (target != null) {
            target.abort();
        }
        log.debug("upload of {} failed: {}", exchange.rawPath(), e.toString());
        exchange.sendError(e);
        exchange.ctx().executor().execute(() -> stopped = true);
    }

    private void submit(Runnable task) {
        pending++;
        serial.execute(() -> {
            try {
                task.run();
            } finally {
                exchange.ctx().executor().execute(this::taken);
            }
        });
    }

    /** Event loop: storage took a chunk; read on when there is room again. */
    private void taken() {
        pending--;
        if (wantsRead() && exchange.ctx().channel().isActive()) {
            exchange.ctx().read();
        }
    }

    @Override
    public boolean wantsRead() {
        return pending < IN_FLIGHT && !stopped;
    }

    @Override
    public boolean busy() {
        return pending > 0 || (exchange.bodyDone() && !exchange.responded());
    }

    @Override
    public void closed() {
        if (exchange.bodyDone() && exchange.responded()) {
            return;
        }
        stopped = true;
        serial.execute(() -> {
            if (failed) {
                return;
            }
            failed = true;
            if (target != null) {
                target.abort();
            }
            log.debug("upload of {} cut off by the client", exchange.rawPath());
        });
    }
}
