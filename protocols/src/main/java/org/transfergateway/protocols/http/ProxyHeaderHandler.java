package org.transfergateway.protocols.http;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.protocols.proxy.ProxyHeader;

/**
 * With {@code listeners.proxy-protocol}: waits for the PROXY header that Netty's
 * {@code HAProxyMessageDecoder} (just before it) decodes, records the client it names on
 * the channel, and only then lets the rest of the pipeline see the connection as active,
 * so the connection limits count the real client. A connection whose header is missing,
 * malformed or late is closed unseen: behind a balancer, an address the gateway cannot
 * verify is not to be trusted.
 */
final class ProxyHeaderHandler extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(ProxyHeaderHandler.class);
    /** The client a PROXY header named; absent when the connection's own peer stands. */
    private static final AttributeKey<InetSocketAddress> CLIENT = AttributeKey.valueOf("gateway.proxy-client");

    private final Duration timeout;
    private ScheduledFuture<?> deadline;
    private boolean received;

    /** @param timeout how long the header may take to arrive */
    ProxyHeaderHandler(Duration timeout) {
        this.timeout = timeout;
    }

    /** The client of a connection: the one its PROXY header named, else its peer. */
    static SocketAddress client(Channel channel) {
        InetSocketAddress claimed = channel.attr(CLIENT).get();
        return claimed != null ? claimed : channel.remoteAddress();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        // Held back until the header names the client; reads are on demand (AUTO_READ off).
        deadline = ctx.executor().schedule(() -> {
            log.debug("closing {}: no PROXY header within {}", ctx.channel().remoteAddress(), timeout);
            ctx.close();
        }, timeout.toMillis(), TimeUnit.MILLISECONDS);
        ctx.read();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (received || !(msg instanceof HAProxyMessage header)) {
            ctx.fireChannelRead(msg);
            return;
        }
        received = true;
        deadline.cancel(false);
        try {
            InetSocketAddress client = ProxyHeader.client(header);
            if (client != null) {
                ctx.channel().attr(CLIENT).set(client);
            }
        } catch (ProxyHeader.InvalidException e) {
            refuse(ctx, e.getMessage());
            return;
        } finally {
            ReferenceCountUtil.release(header);
        }
        ctx.pipeline().remove(this);
        ctx.fireChannelActive();
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (!received) {
            ctx.read(); // the header is not whole yet
        } else {
            ctx.fireChannelReadComplete();
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (received) {
            ctx.fireExceptionCaught(cause);
            return;
        }
        refuse(ctx, cause.getMessage());
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (deadline != null) {
            deadline.cancel(false);
        }
        ctx.fireChannelInactive();
    }

    private static void refuse(ChannelHandlerContext ctx, String why) {
        log.debug("closing {}: {}", ctx.channel().remoteAddress(), why);
        ctx.close();
    }
}
