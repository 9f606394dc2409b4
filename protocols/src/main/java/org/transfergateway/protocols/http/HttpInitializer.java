package org.transfergateway.protocols.http;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;
import org.transfergateway.config.HttpConfig;
import org.transfergateway.config.LimitsConfig;

/**
 * The pipeline of one HTTP connection, in order. No aggregator: bodies stream through
 * the {@link ConnectionHandler} to storage. No {@code HttpServerExpectContinueHandler}
 * either: it would answer 100 Continue before the credentials are checked; the body
 * consumers send it themselves ({@link Exchange#sendContinue()}).
 */
final class HttpInitializer extends ChannelInitializer<SocketChannel> {
    private final HttpConfig config;
    private final LimitsConfig limits;
    private final ConnectionLimiter limiter;
    private final HttpServices services;
    private final RouteTable routes;
    private SslContext tls;
    private boolean proxyProtocol;

    HttpInitializer(HttpConfig config, LimitsConfig limits, ConnectionLimiter limiter, HttpServices services,
            RouteTable routes) {
        this.config = config;
        this.limits = limits;
        this.limiter = limiter;
        this.services = services;
        this.routes = routes;
    }

    /** Speaks HTTPS with {@code tls}: TLS wraps everything else in the pipeline. */
    HttpInitializer withTls(SslContext tls) {
        this.tls = tls;
        return this;
    }

    /** Expects a PROXY header first on each connection and takes the client from it. */
    HttpInitializer withProxyProtocol(boolean proxyProtocol) {
        this.proxyProtocol = proxyProtocol;
        return this;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        ChannelPipeline p = ch.pipeline();
        if (proxyProtocol) {
            // The balancer's header comes before anything else, TLS included; fail fast on garbage.
            p.addLast("proxy-decoder", new HAProxyMessageDecoder(true));
            p.addLast("proxy", new ProxyHeaderHandler(config.idleTimeout()));
        }
        // Connections over the limits are refused before any TLS handshake is spent on them.
        p.addLast("limits", limiter);
        if (tls != null) {
            p.addLast("tls", tls.newHandler(ch.alloc()));
        }
        // Body chunks of up to 64 KiB: one storage write per socket read, not eight.
        // Strict framing: CR LF line ends only, one Content-Length (see RequestValidator).
        p.addLast("decoder", new StrictRequestDecoder(new HttpDecoderConfig()
                .setMaxInitialLineLength(config.maxHeaderBytes())
                .setMaxHeaderSize(config.maxHeaderBytes())
                .setMaxChunkSize(64 * 1024)
                .setStrictLineParsing(true)
                .setAllowDuplicateContentLengths(false)));
        p.addLast("encoder", new HttpResponseEncoder());
        p.addLast("validator", new RequestValidator(limits.maxUploadBytes()));
        if (limits.minTransferRate() > 0) {
            p.addLast("rate", new RateGuard(limits.minTransferRate(), limits.rateGrace()));
        }
        p.addLast("idle", new IdleStateHandler(0, 0, config.idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
        p.addLast("chunked", new ChunkedWriteHandler());
        p.addLast("connection", new ConnectionHandler(services, routes));
    }
}
