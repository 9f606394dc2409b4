package org.transfergateway.protocols.http;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.FileRegion;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drops a connection whose transfer is too slow: a request body being received or a
 * streamed response body being sent, averaging fewer than the minimum bytes per second
 * since it started, once the grace period has passed. A download sent as a file region
 * counts the bytes the kernel has taken from it so far. Checked once a second on the
 * connection's event loop; closing the connection aborts the transfer the usual way.
 *
 * <p>While the gateway itself holds an upload back (no read asked for, because storage
 * has not yet taken what it was given), the clock does not run: a slow backend is not
 * the client's fault. An event stream ({@code text/event-stream}) is no transfer and is
 * not timed.
 */
final class RateGuard extends ChannelDuplexHandler {
    private static final Logger log = LoggerFactory.getLogger(RateGuard.class);
    private static final long CHECK_MILLIS = 1000;

    private final long minBytesPerSecond;
    private final long graceNanos;
    private ScheduledFuture<?> check;
    /** What is being transferred now, or null; event loop only, like every field below. */
    private String transfer;
    private boolean upload;
    private long startedAt;
    private long bytes;
    private long heldBackNanos;
    /** When the gateway stopped asking for input, or -1 while it is asking. */
    private long heldBackSince = -1;
    /** A file region of the download still being sent, and whether the response's end is queued behind it. */
    private FileRegion region;
    private boolean endQueued;

    RateGuard(long minBytesPerSecond, Duration grace) {
        this.minBytesPerSecond = minBytesPerSecond;
        this.graceNanos = grace.toNanos();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        long period = Math.min(CHECK_MILLIS, Math.max(1, graceNanos / 1_000_000));
        check = ctx.executor().scheduleAtFixedRate(() -> check(ctx), period, period, TimeUnit.MILLISECONDS);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        check.cancel(false);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        check.cancel(false);
        super.channelInactive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof HttpRequest request && !(msg instanceof FullHttpMessage) && hasBody(request)) {
            start("upload of " + request.uri(), true);
        }
        if (msg instanceof HttpContent content && transfer != null) {
            bytes += content.content().readableBytes();
            if (msg instanceof LastHttpContent) {
                transfer = null;
            }
        }
        super.channelRead(ctx, msg);
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) throws Exception {
        if (transfer != null && upload && heldBackSince < 0) {
            heldBackSince = System.nanoTime();
        }
        super.channelReadComplete(ctx);
    }

    @Override
    public void read(ChannelHandlerContext ctx) throws Exception {
        if (heldBackSince >= 0) {
            heldBackNanos += System.nanoTime() - heldBackSince;
            heldBackSince = -1;
        }
        super.read(ctx);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) throws Exception {
        if (msg instanceof HttpResponse response && !(msg instanceof FullHttpMessage)
                && response.status().codeClass() != HttpStatusClass.INFORMATIONAL && !isEventStream(response)) {
            start("download", false);
        } else if (msg instanceof FileRegion r && transfer != null) {
            // Sent by the kernel over time: followed through transferred(), and the download
            // ends when the region is through, not when its last content is queued behind it.
            region = r;
            promise.addListener(done -> {
                if (region == r) {
                    bytes += r.transferred();
                    region = null;
                    if (endQueued) {
                        transfer = null;
                    }
                }
            });
        } else if (msg instanceof HttpContent content && !(msg instanceof FullHttpMessage) && transfer != null) {
            bytes += content.content().readableBytes();
            if (msg instanceof LastHttpContent) {
                if (region != null) {
                    endQueued = true;
                } else {
                    transfer = null;
                }
            }
        }
        super.write(ctx, msg, promise);
    }

    /** An event stream sends a little every second for as long as it is open: not a transfer. */
    private static boolean isEventStream(HttpResponse response) {
        String type = response.headers().get(io.netty.handler.codec.http.HttpHeaderNames.CONTENT_TYPE);
        return type != null && type.startsWith(EventsHandler.CONTENT_TYPE);
    }

    private static boolean hasBody(HttpRequest request) {
        return HttpUtil.isTransferEncodingChunked(request) || HttpUtil.getContentLength(request, 0L) > 0;
    }

    private void start(String what, boolean in) {
        transfer = what;
        upload = in;
        startedAt = System.nanoTime();
        bytes = 0;
        region = null;
        endQueued = false;
        heldBackNanos = 0;
        heldBackSince = -1;
    }

    private void check(ChannelHandlerContext ctx) {
        if (transfer == null) {
            return;
        }
        long now = System.nanoTime();
        long heldBack = heldBackNanos + (heldBackSince >= 0 ? now - heldBackSince : 0);
        long elapsed = now - startedAt - heldBack;
        if (elapsed < graceNanos) {
            return;
        }
        long sent = bytes + (region != null ? region.transferred() : 0);
        double rate = sent / (elapsed / 1e9);
        if (rate >= minBytesPerSecond) {
            return;
        }
        log.info("dropping the connection from {}: {} at {} bytes/s ({} bytes in {} ms), below the minimum of {}",
                ProxyHeaderHandler.client(ctx.channel()), transfer, (long) rate, sent, elapsed / 1_000_000, minBytesPerSecond);
        transfer = null;
        ctx.close();
    }
}
