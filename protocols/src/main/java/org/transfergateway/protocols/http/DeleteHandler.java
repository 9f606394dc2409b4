package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

/** {@code DELETE /files/{path}}: 204, or 404 when there is no such file. */
final class DeleteHandler implements SimpleHandler {
    private final String prefix;

    DeleteHandler(String prefix) {
        this.prefix = prefix;
    }

    @Override
    public void handle(Exchange ex) throws Exception {
        ex.caller().files().delete(ex.userPath(prefix));
        DefaultFullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NO_CONTENT);
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
        ex.send(r);
    }
}
