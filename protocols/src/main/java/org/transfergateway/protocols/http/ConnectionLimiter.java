package org.transfergateway.protocols.http;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Counts the listener's open connections, in total and per client address (the one a
 * PROXY header named, with {@code listeners.proxy-protocol}), and turns
 * away one over either limit as it is accepted: a 503 and the connection closes, before
 * anything is read from it. Shared by every connection of one listener.
 */
@ChannelHandler.Sharable
final class ConnectionLimiter extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ConnectionLimiter.class);

    private final int maxTotal;
    private final int maxPerAddress;
    private final Responses responses;
    private final AtomicInteger total = new AtomicInteger();
    private final ConcurrentHashMap<InetAddress, Integer> perAddress = new ConcurrentHashMap<>();

    ConnectionLimiter(int maxTotal, int maxPerAddress, Responses responses) {
        this.maxTotal = maxTotal;
        this.maxPerAddress = maxPerAddress;
        this.responses = responses;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        InetAddress address = ((InetSocketAddress) ProxyHeaderHandler.client(ctx.channel())).getAddress();
        String refusal = admit(address);
        if (refusal != null) {
            log.debug("refusing an HTTP connection from {}: {}", address.getHostAddress(), refusal);
            // Not passed on: the rest of the pipeline never starts reading this connection.
            FullHttpResponse busy = responses.error(HttpResponseStatus.SERVICE_UNAVAILABLE, "too_many_connections", refusal);
            HttpUtil.setKeepAlive(busy, false);
            ctx.channel().writeAndFlush(busy).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        ctx.channel().closeFuture().addListener(f -> release(address));
        ctx.pipeline().remove(this);
        ctx.fireChannelActive();
    }

    /**
     * Only a refused connection gets here (an admitted one no longer has this handler):
     * what its client sent after a PROXY header is dropped while the refusal closes it.
     */
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        io.netty.util.ReferenceCountUtil.release(msg);
    }

    /** Counts the connection in; null when admitted, else why not. */
    private String admit(InetAddress address) {
        if (total.incrementAndGet() > maxTotal) {
            total.decrementAndGet();
            return "the gateway has the most connections it accepts (" + maxTotal + ")";
        }
        if (perAddress.merge(address, 1, Integer::sum) > maxPerAddress) {
            release(address);
            return "this address has the most connections it may open (" + maxPerAddress + ")";
        }
        return null;
    }

    private void release(InetAddress address) {
        perAddress.computeIfPresent(address, (a, n) -> n == 1 ? null : n - 1);
        total.decrementAndGet();
    }

    /** Open connections counted now; for tests. */
    int open() {
        return total.get();
    }
}
