package org.transfergateway.protocols.http;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerExpectContinueHandler;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.handler.timeout.IdleStateHandler;
import java.util.concurrent.TimeUnit;
import org.transfergateway.config.HttpConfig;

/**
 * The pipeline of one HTTP connection, in order. No aggregator: bodies stream through
 * the {@link ConnectionHandler} to storage.
 */
final class HttpInitializer extends ChannelInitializer<SocketChannel> {
    private final HttpConfig config;
    private final HttpServices services;
    private final RouteTable routes;

    HttpInitializer(HttpConfig config, HttpServices services, RouteTable routes) {
        this.config = config;
        this.services = services;
        this.routes = routes;
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        ChannelPipeline p = ch.pipeline();
        // Body chunks of up to 64 KiB: one storage write per socket read, not eight.
        p.addLast("codec", new HttpServerCodec(new HttpDecoderConfig()
                .setMaxInitialLineLength(config.maxHeaderBytes())
                .setMaxHeaderSize(config.maxHeaderBytes())
                .setMaxChunkSize(64 * 1024)));
        p.addLast("continue", new HttpServerExpectContinueHandler());
        p.addLast("idle", new IdleStateHandler(0, 0, config.idleTimeout().toMillis(), TimeUnit.MILLISECONDS));
        p.addLast("chunked", new ChunkedWriteHandler());
        p.addLast("connection", new ConnectionHandler(services, routes));
    }
}
