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

    /** The error response for any failure; a plain IOException is a backend failure. */
    FullHttpResponse error(Throwable t) {
        ErrorCode code = GatewayException.codeOf(t);
        if (code == ErrorCode.BACKEND_FAILED || code == ErrorCode.BACKEND_UNAVAILABLE || code == ErrorCode.INTERNAL) {
            log.warn("request failed: {}", t.toString());
        }
        String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        if (!(t instanceof GatewayException) && !(t instanceof java.io.IOException)) {
            log.error("unexpected failure", t);
            return error(ErrorCode.INTERNAL, "internal error");
        }
        return error(code, message);
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
