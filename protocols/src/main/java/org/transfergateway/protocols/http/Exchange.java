package org.transfergateway.protocols.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelProgressiveFuture;
import io.netty.channel.ChannelProgressiveFutureListener;
import io.netty.channel.ChannelProgressivePromise;
import io.netty.channel.FileRegion;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.stream.ChunkedInput;
import java.util.concurrent.atomic.AtomicBoolean;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;

/**
 * One request and its single response. Handlers may answer from any thread; the
 * response is written on the event loop, where it is decided whether the connection
 * can carry another request (only when the whole request body was read).
 */
final class Exchange {
    /** Told on the event loop when the response was written, or failed. */
    interface Completion {
        void finished(Exchange exchange, boolean keepOpen);
    }

    private final ChannelHandlerContext ctx;
    private final HttpRequest request;
    private final HttpServices services;
    private final Completion completion;
    private final String rawPath;
    private final AtomicBoolean responded = new AtomicBoolean();
    /** Event loop only. */
    private boolean bodyDone;
    /** Event loop only. */
    private BodyConsumer body;
    /** Event loop only: the response is an endless stream. */
    private boolean streaming;
    /** Event loop only: 100 Continue was sent. */
    private boolean continued;
    /** The form body of a {@link FormBody} route, once complete. */
    private volatile byte[] form;
    /** Set by the first blocking task; later tasks see it through their executor. */
    private volatile Caller caller;

    Exchange(ChannelHandlerContext ctx, HttpRequest request, HttpServices services, Completion completion) {
        this.ctx = ctx;
        this.request = request;
        this.services = services;
        this.completion = completion;
        this.rawPath = UserPaths.rawPath(request.uri());
    }

    HttpRequest request() {
        return request;
    }

    HttpServices services() {
        return services;
    }

    ChannelHandlerContext ctx() {
        return ctx;
    }

    String rawPath() {
        return rawPath;
    }

    /** The user path after {@code prefix}, decoded; "/" when nothing follows. */
    String userPath(String prefix) throws GatewayException {
        String rest = rawPath.length() > prefix.length() ? rawPath.substring(prefix.length()) : "/";
        return UserPaths.decode(rest);
    }

    BodyConsumer body() {
        return body;
    }

    void body(BodyConsumer body) {
        this.body = body;
    }

    boolean bodyDone() {
        return bodyDone;
    }

    /** Marks the end of the request body (event loop). */
    void markBodyDone() {
        bodyDone = true;
    }

    /** Authenticates once; blocking. */
    Caller caller() throws GatewayException {
        Caller c = caller;
        if (c == null) {
            c = services.authenticator().authenticate(request, clientAddress(),
                    WebDav.owns(rawPath) ? WebDav.PROTOCOL : HttpFrontEnd.PROTOCOL);
            ConnectionUsers.admit(ctx.channel(), services.accounts().sessions(), c.user().name());
            caller = c;
        }
        return c;
    }

    /** The client's address, as the login guard counts it; null when unknown. */
    java.net.InetAddress clientAddress() {
        java.net.SocketAddress remote = ProxyHeaderHandler.client(ctx.channel());
        return remote instanceof java.net.InetSocketAddress a ? a.getAddress() : null;
    }

    /** Whether the request came over TLS. */
    boolean secure() {
        return ctx.pipeline().get("tls") != null;
    }

    /** The whole body of a form route; empty before it ended. */
    byte[] form() {
        byte[] f = form;
        return f == null ? new byte[0] : f;
    }

    void form(byte[] body) {
        this.form = body;
    }

    boolean responded() {
        return responded.get();
    }

    /**
     * Tells a client that waits with its body ({@code Expect: 100-continue}) to send it:
     * called once the request was checked (credentials, permission, size, quota), so that a
     * refused request gets its final status before any body. Nothing is sent when the
     * client expects nothing, has already sent the body, or was answered meanwhile.
     */
    void sendContinue() {
        if (!HttpUtil.is100ContinueExpected(request)) {
            return;
        }
        onLoop(() -> {
            if (continued || bodyDone || responded.get()) {
                return;
            }
            continued = true;
            ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE,
                    Unpooled.EMPTY_BUFFER));
        });
    }

    void send(FullHttpResponse response) {
        if (!responded.compareAndSet(false, true)) {
            response.release();
            return;
        }
        if (Dashboard.owns(rawPath)) {
            Dashboard.secure(response.headers());
        }
        if (Tus.owns(rawPath)) {
            // tus: every answer but OPTIONS' says which version it speaks; OPTIONS may too.
            response.headers().set(Tus.TUS_RESUMABLE, Tus.VERSION);
        }
        if (response.status().code() == 401 && (Dashboard.owns(rawPath) || SessionCookie.token(request.headers()) != null)) {
            // The dashboard's pages handle a lost session themselves; a Basic challenge
            // would make the browser ask for a password in its own dialog instead.
            response.headers().remove(io.netty.handler.codec.http.HttpHeaderNames.WWW_AUTHENTICATE);
        }
        FullHttpResponse r = HttpMethod.HEAD.equals(request.method()) ? headersOnly(response) : response;
        onLoop(() -> {
            boolean keep = keepAlive(r);
            watch(ctx.writeAndFlush(r), keep);
        });
    }

    /** The answer to HEAD has the headers of the GET answer and never a body. */
    private static FullHttpResponse headersOnly(FullHttpResponse response) {
        if (!response.content().isReadable()) {
            return response;
        }
        FullHttpResponse empty = response.replace(Unpooled.EMPTY_BUFFER);
        response.release();
        return empty;
    }

    /** Sends a response head followed by a streamed body; the input is closed by the writer. */
    void send(HttpResponse head, ChunkedInput<HttpContent> content) throws Exception {
        send(head, content, ok -> { });
    }

    /** Like {@link #send(HttpResponse, ChunkedInput)}, telling {@code delivered} whether the body reached the client. */
    void send(HttpResponse head, ChunkedInput<HttpContent> content, java.util.function.Consumer<Boolean> delivered) throws Exception {
        if (!responded.compareAndSet(false, true)) {
            content.close();
            delivered.accept(false);
            return;
        }
        onLoop(() -> {
            boolean keep = keepAlive(head);
            ctx.write(head);
            ChannelFuture f = ctx.writeAndFlush(content);
            f.addListener(done -> {
                if (!done.isSuccess()) {
                    closeQuietly(content);
                }
                delivered.accept(done.isSuccess());
            });
            watch(f, keep);
        });
    }

    /**
     * Sends the head of a response whose body never ends (an event stream), then hands
     * the channel to {@code started} on the event loop, which writes the body from then
     * on. The connection carries no further request: it closes when the stream does.
     */
    void stream(HttpResponse head, java.util.function.Consumer<ChannelHandlerContext> started) {
        if (!responded.compareAndSet(false, true)) {
            return;
        }
        onLoop(() -> {
            streaming = true;
            ctx.writeAndFlush(head).addListener(done -> {
                if (done.isSuccess()) {
                    started.accept(ctx);
                } else {
                    ctx.close();
                }
            });
        });
    }

    /** True once the response is an endless stream (see {@link #stream}); event loop only. */
    boolean streaming() {
        return streaming;
    }

    /**
     * Sends a response head and a file region that the kernel copies to the socket
     * (zero-copy; plain HTTP only, TLS must see the bytes). {@code progress} hears of the
     * bytes sent so far as they go, {@code delivered} whether the whole region reached
     * the client; both on the event loop.
     */
    void send(HttpResponse head, FileRegion region, java.util.function.LongConsumer progress,
              java.util.function.Consumer<Boolean> delivered) {
        if (!responded.compareAndSet(false, true)) {
            region.release();
            delivered.accept(false);
            return;
        }
        onLoop(() -> {
            boolean keep = keepAlive(head);
            ctx.write(head);
            ChannelProgressivePromise sent = ctx.newProgressivePromise();
            sent.addListener(new ChannelProgressiveFutureListener() {
                @Override
                public void operationProgressed(ChannelProgressiveFuture f, long bytes, long total) {
                    progress.accept(bytes);
                }

                @Override
                public void operationComplete(ChannelProgressiveFuture f) {
                    progress.accept(region.transferred());
                }
            });
            ctx.write(region, sent);
            ChannelFuture f = ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
            f.addListener(done -> delivered.accept(done.isSuccess() && sent.isSuccess()));
            watch(f, keep);
        });
    }

    /** Sends {@code response} after {@code delay}, without holding a thread meanwhile. */
    void sendAfter(FullHttpResponse response, java.time.Duration delay) {
        ctx.executor().schedule(() -> send(response), delay.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    void sendError(Throwable failure) {
        if (failure instanceof DavStatus dav) {
            send(dav.response(services.responses()));
            return;
        }
        if (failure instanceof TusStatus tus) {
            send(tus.response(services.responses()));
            return;
        }
        if (GatewayException.codeOf(failure) == ErrorCode.LOGIN_FAILED) {
            // A wrong password is answered late, without holding a thread meanwhile.
            long delay = services.accounts().guard().failureDelay().toMillis();
            ctx.executor().schedule(() -> send(services.responses().error(failure)), delay, java.util.concurrent.TimeUnit.MILLISECONDS);
            return;
        }
        send(services.responses().error(failure, subject()));
    }

    /** The user path a request under /files or /dav is about, for error messages; null for other requests. */
    private String subject() {
        String prefix = WebDav.owns(rawPath) ? WebDav.PREFIX : HttpFrontEnd.FILES;
        if (!RouteTable.under(prefix).test(rawPath)) {
            return null;
        }
        try {
            return userPath(prefix);
        } catch (GatewayException e) {
            return null; // a path that cannot be decoded; its own error says why
        }
    }

    private boolean keepAlive(HttpResponse response) {
        boolean keep = bodyDone && HttpUtil.isKeepAlive(request);
        HttpUtil.setKeepAlive(response, keep);
        return keep;
    }

    private void watch(ChannelFuture f, boolean keep) {
        f.addListener(done -> completion.finished(this, keep && done.isSuccess()));
    }

    private void onLoop(Runnable r) {
        if (ctx.executor().inEventLoop()) {
            r.run();
        } else {
            ctx.executor().execute(r);
        }
    }

    private static void closeQuietly(ChunkedInput<?> in) {
        try {
            in.close();
        } catch (Exception e) {
            // closing a finished or failed download; nothing left to do
        }
    }
}
