package org.transfergateway.protocols.http;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.util.ReferenceCountUtil;
import java.util.List;
import org.transfergateway.storage.ErrorCode;

/**
 * Refuses request heads that the decoder lets through but this gateway will not read:
 * a transfer coding other than a single {@code chunked}, and a PUT whose Content-Length
 * exceeds the largest allowed upload. A refused request goes on marked as failed (the
 * connection handler answers it and closes); everything after it on the connection is
 * dropped, so a request hidden behind it is never seen.
 */
final class RequestValidator extends ChannelInboundHandlerAdapter {
    private final long maxUploadBytes;
    private boolean refused;

    /** @param maxUploadBytes the largest PUT body announced up front; 0 for no limit */
    RequestValidator(long maxUploadBytes) {
        this.maxUploadBytes = maxUploadBytes;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refused) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (msg instanceof HttpRequest request && request.decoderResult().isSuccess()) {
            Exception problem = problem(request);
            if (problem != null) {
                refused = true;
                // No "100 Continue" for a request that is refused anyway.
                request.headers().remove(HttpHeaderNames.EXPECT);
                request.setDecoderResult(DecoderResult.failure(problem));
            }
        }
        ctx.fireChannelRead(msg);
    }

    private Exception problem(HttpRequest request) {
        List<String> codings = request.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING);
        if (!codings.isEmpty()
                && (codings.size() > 1 || !HttpHeaderValues.CHUNKED.contentEqualsIgnoreCase(codings.get(0).trim()))) {
            // Netty accepts any codings before a final "chunked"; none of them is supported here.
            return ErrorCode.BAD_REQUEST.exception("unsupported Transfer-Encoding " + String.join(", ", codings)
                    + ": only chunked is accepted");
        }
        if (maxUploadBytes > 0 && request.method().equals(HttpMethod.PUT)
                && HttpUtil.getContentLength(request, -1L) > maxUploadBytes) {
            return ErrorCode.TOO_LARGE.exception("the upload of " + HttpUtil.getContentLength(request, -1L)
                    + " bytes exceeds the maximum upload size of " + maxUploadBytes + " bytes");
        }
        return null;
    }
}
