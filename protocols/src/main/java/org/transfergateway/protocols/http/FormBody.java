package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.LastHttpContent;
import java.io.ByteArrayOutputStream;
import org.transfergateway.storage.ErrorCode;

/**
 * The small body of a form post (the dashboard's login), kept in memory up to
 * {@link #MAX_BYTES} and handed to the handler through {@link Exchange#form()} once
 * complete; a longer body is refused with 413.
 */
final class FormBody extends HandlerAfterBody {
    static final int MAX_BYTES = 16 * 1024;

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    FormBody(Exchange exchange, SimpleHandler handler) {
        super(exchange, handler);
    }

    @Override
    public void content(HttpContent content) {
        try {
            if (exchange.responded()) {
                return;
            }
            if (content.decoderResult().isFailure()) {
                exchange.sendError(ErrorCode.BAD_REQUEST.exception("the request body is malformed"));
                return;
            }
            int n = content.content().readableBytes();
            if (bytes.size() + n > MAX_BYTES) {
                exchange.sendError(ErrorCode.TOO_LARGE.exception("a form is at most " + MAX_BYTES + " bytes"));
                return;
            }
            content.content().readBytes(bytes, n);
        } catch (java.io.IOException e) {
            exchange.sendError(e);
            return;
        } finally {
            content.release();
        }
        if (!(content instanceof LastHttpContent)) {
            return;
        }
        exchange.form(bytes.toByteArray());
        bodyEnded();
    }
}
