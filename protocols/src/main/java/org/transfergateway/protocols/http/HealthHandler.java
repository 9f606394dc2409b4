package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpResponseStatus;

/** {@code GET /healthz}: 200 "ok", without credentials, for load balancers and probes. */
final class HealthHandler implements SimpleHandler {

    @Override
    public void handle(Exchange ex) {
        ex.send(ex.services().responses().text(HttpResponseStatus.OK, "text/plain; charset=utf-8", "ok"));
    }
}
