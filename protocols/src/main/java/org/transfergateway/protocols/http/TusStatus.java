package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;

/**
 * A tus answer that no {@link org.transfergateway.storage.ErrorCode} carries (410, 412,
 * 415, 423, 460), rendered by {@link Exchange#sendError} as the usual JSON error. An
 * IOException so that an upload's open may throw it.
 */
final class TusStatus extends IOException {
    private final HttpResponseStatus status;
    private final String id;

    TusStatus(int status, String reason, String id, String message) {
        super(message);
        this.status = new HttpResponseStatus(status, reason);
        this.id = id;
    }

    FullHttpResponse response(Responses responses) {
        FullHttpResponse r = responses.error(status, id, getMessage());
        if (status.code() == 412) {
            r.headers().set(Tus.TUS_VERSION, Tus.VERSION);
        }
        return r;
    }
}
