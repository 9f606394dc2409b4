package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * The connection handler alone on an {@link EmbeddedChannel}, with blocking tasks run
 * in place: what it answers, that it releases every buffer and when it closes.
 */
class ConnectionHandlerTest {
    @TempDir
    Path dir;
    private EmbeddedChannel channel;

    @BeforeEach
    void open() throws Exception {
        HttpServices services = HttpServices.of(
                HttpFixture.accounts(HttpFixture.config(dir), dir.resolve("files"), TransferMeter.inMemory()),
                Runnable::run, () -> "", () -> BackendsView.NONE);
        channel = new EmbeddedChannel(new ConnectionHandler(services, HttpFrontEnd.routes(false)));
    }

    @AfterEach
    void close() {
        channel.finishAndReleaseAll();
    }

    private FullHttpResponse response() {
        channel.runPendingTasks();
        return channel.readOutbound();
    }

    private static HttpRequest request(HttpMethod method, String uri) {
        HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, method, uri);
        r.headers().set(HttpHeaderNames.AUTHORIZATION, HttpFixture.basic("alice", "secret"));
        return r;
    }

    @Test
    void healthAnswersOkWithoutCredentialsAndKeepsTheConnection() {
        channel.writeInbound(new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/healthz"),
                LastHttpContent.EMPTY_LAST_CONTENT);
        FullHttpResponse r = response();
        try {
            assertEquals(200, r.status().code());
            assertEquals("ok", r.content().toString(StandardCharsets.UTF_8));
            assertTrue(HttpUtil.isKeepAlive(r));
        } finally {
            r.release();
        }
        assertTrue(channel.isOpen());
    }

    @Test
    void aPutStreamsEveryChunkToStorageAndReleasesIt() throws Exception {
        HttpRequest put = request(HttpMethod.PUT, "/files/e.bin");
        HttpUtil.setContentLength(put, 6);
        List<HttpContent> chunks = List.of(
                new DefaultHttpContent(Unpooled.copiedBuffer("ab", StandardCharsets.UTF_8)),
                new DefaultHttpContent(Unpooled.copiedBuffer("cd", StandardCharsets.UTF_8)),
                new DefaultLastHttpContent(Unpooled.copiedBuffer("ef", StandardCharsets.UTF_8)));
        channel.writeInbound(put);
        for (HttpContent c : chunks) {
            channel.writeInbound(c);
        }
        FullHttpResponse r = response();
        try {
            assertEquals(201, r.status().code());
            assertEquals("{\"path\":\"/e.bin\",\"size\":6}", r.content().toString(StandardCharsets.UTF_8));
            assertTrue(HttpUtil.isKeepAlive(r));
        } finally {
            r.release();
        }
        for (HttpContent c : chunks) {
            assertEquals(0, c.refCnt());
        }
        assertEquals("abcdef", Files.readString(dir.resolve("files/alice/e.bin")));
    }

    @Test
    void anUploadRefusedBeforeItsBodyClosesTheConnection() {
        HttpRequest put = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.PUT, "/files/x");
        HttpUtil.setContentLength(put, 1000);
        HttpContent early = new DefaultHttpContent(Unpooled.copiedBuffer("early", StandardCharsets.UTF_8));
        channel.writeInbound(put, early);
        FullHttpResponse r = response();
        assertEquals(0, early.refCnt());
        try {
            assertEquals(401, r.status().code());
            assertFalse(HttpUtil.isKeepAlive(r));
        } finally {
            r.release();
        }
        channel.runPendingTasks();
        assertFalse(channel.isOpen());
    }

    @Test
    void aMalformedRequestGets400AndTheConnectionCloses() {
        HttpRequest bad = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/bad");
        bad.setDecoderResult(DecoderResult.failure(new IllegalArgumentException("header too long")));
        channel.writeInbound(bad);
        FullHttpResponse r = response();
        try {
            assertEquals(400, r.status().code());
            assertTrue(r.content().toString(StandardCharsets.UTF_8).startsWith("{\"error\":\"bad_request\""));
        } finally {
            r.release();
        }
        channel.runPendingTasks();
        assertFalse(channel.isOpen());
        assertNull(channel.readOutbound());
    }
}
