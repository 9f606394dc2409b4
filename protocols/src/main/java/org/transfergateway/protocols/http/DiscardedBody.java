package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import org.transfergateway.storage.ErrorCode;

/**
 * The body of a request that needs none: read and dropped, then the handler runs on the
 * blocking pool. A response before the end of the request would force the connection closed.
 */
final class DiscardedBody extends HandlerAfterBody {

    DiscardedBody(Exchange exchange, SimpleHandler handler) {
        super(exchange, handler);
    }

    @Override
    public void content(HttpContent content) {
        boolean last = content instanceof LastHttpContent;
        boolean failed = content.decoderResult().isFailure();
        content.release();
        if (failed) {
            exchange.sendError(ErrorCode.BAD_REQUEST.exception("the request body is malformed"));
            return;
        }
        if (!last) {
            return;
        }
        bodyEnded();
    }
}
