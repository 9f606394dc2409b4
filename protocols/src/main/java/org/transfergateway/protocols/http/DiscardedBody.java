package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import org.transfergateway.storage.ErrorCode;

/**
 * The body of a request that needs none: read and dropped, then the handler runs on the
 * blocking pool. A response before the end of the request would force the connection closed.
 */
final class DiscardedBody implements BodyConsumer {
    private final Exchange exchange;
    private final SimpleHandler handler;

    DiscardedBody(Exchange exchange, SimpleHandler handler) {
        this.exchange = exchange;
        this.handler = handler;
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
        exchange.markBodyDone();
        exchange.services().blocking().execute(this::run);
    }

    private void run() {
        if (exchange.responded()) {
            return; // refused before the body arrived (see ConnectionHandler): the handler must not run
        }
        try {
            handler.handle(exchange);
        } catch (Exception | Error e) {
            exchange.sendError(e);
        }
    }

    @Override
    public boolean wantsRead() {
        return !exchange.bodyDone() && !exchange.responded();
    }

    @Override
    public boolean busy() {
        return exchange.bodyDone() && !exchange.responded();
    }

    @Override
    public void closed() {
        // nothing was started
    }
}
