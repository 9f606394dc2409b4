package org.transfergateway.protocols.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import java.util.List;

/**
 * Netty's request decoder, refusing one more thing it accepts: a header line that begins
 * with a space or tab (obs-fold, RFC 9112 section 5.2). Netty joins such a line to the
 * header before it, which another parser on the path may not do, so a request could mean
 * two things; a server may reject it, and this one does.
 *
 * <p>The decoder consumes a request head only in whole lines and returns once the head is
 * complete, so the bytes each call consumed while a head was being read are exactly
 * head lines: they are scanned after the call. Once a request is refused, the rest of
 * the connection's input is dropped unread.
 */
final class StrictRequestDecoder extends HttpRequestDecoder {
    /** True while the bytes being consumed belong to a request head. */
    private boolean inHead = true;
    /** True when the next consumed byte starts a line. */
    private boolean lineStart = true;
    /** Non-empty lines of the current head so far: the request line, then headers. */
    private int lines;
    private boolean refused;

    StrictRequestDecoder(HttpDecoderConfig config) {
        super(config);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf buffer, List<Object> out) throws Exception {
        if (refused) {
            buffer.skipBytes(buffer.readableBytes());
            return;
        }
        int from = buffer.readerIndex();
        int produced = out.size();
        boolean scanning = inHead;
        super.decode(ctx, buffer, out);
        if (scanning && folded(buffer, from, buffer.readerIndex())) {
            refuse(out, produced);
            return;
        }
        for (int i = produced; i < out.size(); i++) {
            Object msg = out.get(i);
            if (msg instanceof HttpRequest) {
                inHead = false;
            }
            if (msg instanceof LastHttpContent) {
                inHead = true;
                lineStart = true;
                lines = 0;
            }
        }
    }

    @Override
    protected void decodeLast(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) throws Exception {
        if (refused) {
            in.skipBytes(in.readableBytes());
            return;
        }
        super.decodeLast(ctx, in, out);
    }

    /** Scans consumed head bytes for a line that starts with whitespace after the request line. */
    private boolean folded(ByteBuf buffer, int from, int to) {
        for (int i = from; i < to; i++) {
            byte b = buffer.getByte(i);
            if (lineStart) {
                lineStart = false;
                if ((b == ' ' || b == '\t') && lines > 0) {
                    return true;
                }
                if (b != '\r' && b != '\n') {
                    lines++;
                }
            }
            if (b == '\n') {
                lineStart = true;
            }
        }
        return false;
    }

    /** Replaces what this call produced by one failed request, and stops decoding. */
    private void refuse(List<Object> out, int produced) {
        refused = true;
        HttpMessage request = null;
        while (out.size() > produced) {
            Object msg = out.remove(out.size() - 1);
            if (msg instanceof HttpRequest r && request == null) {
                request = r;
            } else {
                ReferenceCountUtil.release(msg);
            }
        }
        if (request == null) {
            request = createInvalidMessage();
        }
        request.setDecoderResult(DecoderResult.failure(
                new IllegalArgumentException("a header line starts with whitespace (obs-fold)")));
        out.add(request);
    }
}
