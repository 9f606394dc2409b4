package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpResponseStatus;
import org.transfergateway.storage.ErrorCode;

/** {@code GET /metrics}: the Prometheus text, for admins only. */
final class MetricsHandler implements SimpleHandler {
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    @Override
    public void handle(Exchange ex) throws Exception {
        if (!ex.caller().user().admin()) {
            throw ErrorCode.FORBIDDEN.exception("metrics are for admins only");
        }
        ex.send(ex.services().responses().text(HttpResponseStatus.OK, CONTENT_TYPE, ex.services().prometheusText().get()));
    }
}
