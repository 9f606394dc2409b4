package org.transfergateway.protocols.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;

/**
 * Builds every complete response: JSON, plain text and, in one place, the JSON error
 * body {@code {"error": id, "message": ...}} with the status its {@link ErrorCode} carries.
 */
final class Responses {
    private static final Logger log = LoggerFactory.getLogger(Responses.class);
    static final String REALM = "Basic realm=\"transfer-gateway\"";
    static final String JSON_TYPE = "application/json; charset=utf-8";

    private final ObjectMapper json;

    Responses(ObjectMapper json) {
        this.json = json;
    }

    FullHttpResponse json(HttpResponseStatus status, Object body) {
        byte[] bytes;
        try {
            bytes = json.writeValueAsBytes(body);
        } catch (JsonProcessingException e) {
            log.error("cannot render a response as JSON", e);
            return error(ErrorCode.INTERNAL, "the response could not be rendered");
        }
        return bytes(status, JSON_TYPE, bytes);
    }

    FullHttpResponse text(HttpResponseStatus status, String contentType, String body) {
        return bytes(status, contentType, body.getBytes(StandardCharsets.UTF_8));
    }

    /** 303 See Other to {@code location}, so that the browser follows with a GET. */
    FullHttpResponse redirect(String location) {
        FullHttpResponse r = empty(HttpResponseStatus.SEE_OTHER);
        r.headers().set(HttpHeaderNames.LOCATION, location);
        return r;
    }

    /** A response without a body. */
    FullHttpResponse empty(HttpResponseStatus status) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.EMPTY_BUFFER);
        if (status.code() != 204) {
            r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, 0);
        }
        return r;
    }

    /** The error response for any failure, where no user path applies. */
    FullHttpResponse error(Throwable t) {
        return error(t, null);
    }

    /**
     * The error response for any failure about the user path {@code path} (null when none
     * applies): the code's status, and a message that names the user's own path and a
     * reason. What a storage failure says of the server goes to the log only.
     */
    FullHttpResponse error(Throwable t, String path) {
        if (!(t instanceof java.io.IOException)) {
            log.error("unexpected failure of the request for {}", path, t);
            return error(ErrorCode.INTERNAL, path == null ? ErrorCode.INTERNAL.reason() : path + ": " + ErrorCode.INTERNAL.reason());
        }
        ErrorCode code = GatewayException.codeOf(t);
        if (GatewayException.serverSide(t)) {
            log.warn("request for {} failed: {}", path, detail(t));
        }
        return error(code, GatewayException.describe(t, path));
    }

    /** The failure and its causes, for the log. */
    private static String detail(Throwable failure) {
        StringBuilder b = new StringBuilder(failure.toString());
        for (Throwable c = failure.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            b.append("; caused by ").append(c);
        }
        return b.toString();
    }

    FullHttpResponse error(ErrorCode code, String message) {
        return error(HttpResponseStatus.valueOf(code.httpStatus()), code.id(), message);
    }

    /** Also for the two HTTP-only errors that have no {@link ErrorCode}: 405 and 416. */
    FullHttpResponse error(HttpResponseStatus status, String id, String message) {
        Map<String, String> body = new LinkedHashMap<>();
        body.put("error", id);
        body.put("message", message);
        FullHttpResponse r = json(status, body);
        if (status.code() == 401) {
            r.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, REALM);
        }
        return r;
    }

    private static FullHttpResponse bytes(HttpResponseStatus status, String contentType, byte[] body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        return r;
    }
}
