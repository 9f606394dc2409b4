package org.transfergateway.protocols.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The obs-fold check of {@link StrictRequestDecoder}, however the bytes are split into reads. */
class StrictRequestDecoderTest {
    private static final String PIPELINE = "PUT /a HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n\r\n b\r\n\tc"
            + "PUT /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n\r\n d\r\n0\r\nX-Trailer: 1\r\n\r\n"
            + "GET /c HTTP/1.1\r\nHost: x\r\nX-Spaced: a  b\r\n\r\n";

    @Test
    void bodiesThatLookLikeFoldedLinesPassWhenReadAtOnce() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(Unpooled.copiedBuffer(PIPELINE, StandardCharsets.US_ASCII));
        assertEquals(List.of("PUT /a", "body 8", "PUT /b", "body 4", "GET /c", "body 0"), messages(ch));
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void bodiesThatLookLikeFoldedLinesPassWhenReadOneByteAtATime() {
        EmbeddedChannel ch = channel();
        for (byte b : PIPELINE.getBytes(StandardCharsets.US_ASCII)) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        assertEquals(List.of("PUT /a", "body 8", "PUT /b", "body 4", "GET /c", "body 0"), messages(ch));
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void aFoldedLineInALaterReadIsRefusedAndNothingAfterItIsDecoded() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(Unpooled.copiedBuffer("PUT /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n", StandardCharsets.US_ASCII));
        ch.writeInbound(Unpooled.copiedBuffer(" 2\r\nContent-Length: 0\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
                StandardCharsets.US_ASCII));
        HttpRequest refused = ch.readInbound();
        assertTrue(refused.decoderResult().isFailure());
        assertEquals("a header line starts with whitespace (obs-fold)", refused.decoderResult().cause().getMessage());
        ReferenceCountUtil.release(refused);
        assertNull(ch.readInbound());
        ch.writeInbound(Unpooled.copiedBuffer("GET /c HTTP/1.1\r\n\r\n", StandardCharsets.US_ASCII));
        assertNull(ch.readInbound());
        assertFalse(ch.finishAndReleaseAll());
    }

    @Test
    void aFoldedLineReadAtOnceFailsTheRequestItBelongsTo() {
        EmbeddedChannel ch = channel();
        ch.writeInbound(Unpooled.copiedBuffer("PUT /a HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n\t2\r\nContent-Length: 1\r\n\r\nz"
                + "GET /b HTTP/1.1\r\n\r\n", StandardCharsets.US_ASCII));
        HttpRequest refused = ch.readInbound();
        assertEquals("/a", refused.uri());
        assertTrue(refused.decoderResult().isFailure());
        assertNull(ch.readInbound());
        assertFalse(ch.finishAndReleaseAll());
    }

    private static EmbeddedChannel channel() {
        return new EmbeddedChannel(new StrictRequestDecoder(new HttpDecoderConfig().setStrictLineParsing(true)));
    }

    /** What the decoder produced: each request, then its body's size once it ends; releases all. */
    private static List<String> messages(EmbeddedChannel ch) {
        List<String> seen = new ArrayList<>();
        int body = 0;
        for (Object msg = ch.readInbound(); msg != null; msg = ch.readInbound()) {
            if (msg instanceof HttpRequest r) {
                assertTrue(r.decoderResult().isSuccess(), r.decoderResult().toString());
                seen.add(r.method() + " " + r.uri());
            }
            if (msg instanceof HttpContent c) {
                assertTrue(c.decoderResult().isSuccess(), c.decoderResult().toString());
                body += c.content().readableBytes();
                c.release();
                if (msg instanceof LastHttpContent) {
                    seen.add("body " + body);
                    body = 0;
                }
            }
        }
        return seen;
    }
}
