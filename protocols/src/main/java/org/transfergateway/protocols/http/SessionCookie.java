package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.cookie.Cookie;
import io.netty.handler.codec.http.cookie.ServerCookieDecoder;

/**
 * The dashboard's session cookie {@code tg_session}: sent to the whole site, never to
 * scripts ({@code HttpOnly}), never with a request started by another site
 * ({@code SameSite=Strict}), and only over TLS when the listener speaks HTTPS.
 */
final class SessionCookie {
    static final String NAME = "tg_session";

    private SessionCookie() {
    }

    /** The {@code Set-Cookie} value that starts a session. */
    static String set(String token, boolean secure) {
        return NAME + "=" + token + "; Path=/; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "");
    }

    /** The {@code Set-Cookie} value that makes the browser forget the session. */
    static String clear(boolean secure) {
        return NAME + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "");
    }

    /** The session cookie's value in the request, or null. */
    static String token(HttpHeaders headers) {
        for (String header : headers.getAll(HttpHeaderNames.COOKIE)) {
            for (Cookie c : ServerCookieDecoder.STRICT.decode(header)) {
                if (NAME.equals(c.name()) && !c.value().isEmpty()) {
                    return c.value();
                }
            }
        }
        return null;
    }
}
