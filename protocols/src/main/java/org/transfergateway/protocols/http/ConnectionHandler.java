package org.transfergateway.protocols.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;

/**
 * One connection's requests, one at a time: hands each request to its route's body
 * consumer and reads from the socket only on demand ({@code AUTO_READ} is off), so an
 * upload is read no faster than storage takes it. Messages that arrive while a response
 * is pending wait in a small backlog (one socket read at most).
 */
final class ConnectionHandler extends ChannelInboundHandlerAdapter implements Exchange.Completion {
    private static final Logger log = LoggerFactory.getLogger(ConnectionHandler.class);

    private final HttpServices services;
    private final RouteTable routes;
    /** How long the rest of a refused request's body is read and dropped before the connection closes. */
    static final long LINGER_MILLIS = 2_000;

    private final ArrayDeque<Object> backlog = new ArrayDeque<>();
    private Exchange current;
    /** A refused request's response is out; what the client still sends is dropped. */
    private boolean lingering;

    ConnectionHandler(HttpServices services, RouteTable routes) {
        this.services = services;
        this.routes = routes;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        ctx.read();
        super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (lingering) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (current != null && current.bodyDone()) {
            backlog.add(msg);
            return;
        }
        dispatch(ctx, msg);
    }

    private void dispatch(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest request) {
            if (current != null) {
                // A new request inside an unfinished one cannot happen with a sane decoder.
                ReferenceCountUtil.release(msg);
                ctx.close();
                return;
            }
            current = new Exchange(ctx, request, services, this);
            if (request.decoderResult().isFailure()) {
                current.body(new DiscardedBody(current, ex -> { }));
                current.sendError(refusal(request.decoderResult().cause()));
            } else {
                current.body(consumerFor(current));
            }
        }
        if (msg instanceof HttpContent content) {
            if (current == null || current.bodyDone()) {
                content.release();
                return;
            }
            current.body().content(content);
        } else if (!(msg instanceof HttpRequest)) {
            ReferenceCountUtil.release(msg);
        }
    }

    /** Why a request the decoder or the validator refused is answered as it is; the connection closes after it. */
    private static GatewayException refusal(Throwable cause) {
        if (cause instanceof GatewayException e) {
            return e;
        }
        ErrorCode code = cause instanceof TooLongFrameException ? ErrorCode.TOO_LARGE : ErrorCode.BAD_REQUEST;
        return code.exception("malformed request: " + cause.getMessage());
    }

    private BodyConsumer consumerFor(Exchange exchange) {
        HttpRequest request = exchange.request();
        RouteTable.Route route = routes.resolve(request.method(), exchange.rawPath());
        if (route.upload() != null) {
            return new StreamedBody(exchange, route.upload());
        }
        SimpleHandler handler = route.simple();
        if (!route.open()) {
            SimpleHandler inner = handler;
            handler = ex -> {
                ex.caller();
                inner.handle(ex);
            };
        }
        BodyConsumer consumer = route.form() ? new FormBody(exchange, handler) : new DiscardedBody(exchange, handler);
        if (HttpUtil.is100ContinueExpected(request)) {
            // A body that is dropped anyway is asked for only from a caller who may send it.
            services.blocking().execute(() -> {
                try {
                    if (!route.open()) {
                        exchange.caller();
                    }
                    exchange.sendContinue();
                } catch (Exception | Error e) {
                    exchange.sendError(e);
                }
            });
        }
        return consumer;
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        if (lingering || current == null || current.body().wantsRead()) {
            ctx.read();
        }
    }

    @Override
    public void finished(Exchange exchange, boolean keepOpen) {
        if (exchange != current) {
            return;
        }
        ChannelHandlerContext ctx = exchange.ctx();
        if (!keepOpen) {
            if (!exchange.bodyDone() && ctx.channel().isActive() && ctx.channel() instanceof SocketChannel socket) {
                linger(ctx, socket);
            } else {
                ctx.close();
            }
            return;
        }
        current = null;
        while (!backlog.isEmpty() && (current == null || !current.bodyDone())) {
            dispatch(ctx, backlog.poll());
        }
        if (current == null || current.body().wantsRead()) {
            ctx.read();
        }
    }

    /**
     * After a response that refused a request before the end of its body: the response is
     * out, and the rest of the body is read and dropped for a short while before the
     * connection closes. Closing at once with unread bytes would make the kernel send a
     * reset, which can destroy the response before the client reads it (a client whose
     * wait for 100 Continue ran out sends its body anyway).
     */
    private void linger(ChannelHandlerContext ctx, SocketChannel socket) {
        lingering = true;
        while (!backlog.isEmpty()) {
            ReferenceCountUtil.release(backlog.poll());
        }
        socket.shutdownOutput(); // the client sees the end of the response stream now
        ctx.executor().schedule(() -> ctx.close(), LINGER_MILLIS, TimeUnit.MILLISECONDS);
        ctx.read();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        while (!backlog.isEmpty()) {
            ReferenceCountUtil.release(backlog.poll());
        }
        if (current != null) {
            current.body().closed();
        }
        super.channelInactive(ctx);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof IdleStateEvent) {
            if (current != null && current.body().busy()) {
                return; // storage is slow, not the client
            }
            if (current != null && current.streaming() && ctx.channel().isWritable()) {
                return; // an event stream that its client reads
            }
            log.debug("closing idle connection {}", ProxyHeaderHandler.client(ctx.channel()));
            ctx.close();
            return;
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        log.debug("connection {} failed: {}", ProxyHeaderHandler.client(ctx.channel()), cause.toString());
        ctx.close();
    }
}
