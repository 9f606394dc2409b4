package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;

/**
 * A WebDAV answer that no {@link org.transfergateway.storage.ErrorCode} carries (405, 412,
 * 415, 423, 502, 507...), thrown by the WebDAV handlers and rendered by
 * {@link Exchange#sendError}: the status and, when RFC 4918 names one, the precondition
 * element of a {@code DAV:error} body. An IOException so that an upload's open may throw it.
 */
final class DavStatus extends IOException {
    private final HttpResponseStatus status;
    private final String condition;

    DavStatus(HttpResponseStatus status, String message) {
        this(status, null, message);
    }

    /** @param condition the local name of a {@code DAV:} precondition element, or null */
    DavStatus(HttpResponseStatus status, String condition, String message) {
        super(message);
        this.status = status;
        this.condition = condition;
    }

    HttpResponseStatus status() {
        return status;
    }

    FullHttpResponse response(Responses responses) {
        if (condition == null) {
            return responses.text(status, "text/plain; charset=utf-8", getMessage() + "\n");
        }
        return responses.text(status, DavXml.TYPE, DavXml.HEAD
                + "<D:error xmlns:D=\"DAV:\"><D:" + condition + "/></D:error>\n");
    }
}
