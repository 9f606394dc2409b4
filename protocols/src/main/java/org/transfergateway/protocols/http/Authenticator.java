package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import org.transfergateway.config.UserConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.meter.Protocol;

/**
 * Finds the caller of a request: from HTTP Basic credentials when the request has an
 * {@code Authorization} header, else from the dashboard's session cookie. A request
 * that changes anything (any method but GET, HEAD and OPTIONS) on the strength of the
 * cookie must carry the session's token in {@value #CSRF_HEADER}: a browser adds the
 * cookie to requests other sites make it send, but no other site can read the token.
 * Runs on the blocking pool: verifying a password hash the first time takes a
 * noticeable while and must not stall an event loop.
 */
final class Authenticator {
    static final String CSRF_HEADER = "X-CSRF-Token";

    private final Accounts accounts;
    private final Sessions sessions;

    Authenticator(Accounts accounts, Sessions sessions) {
        this.accounts = accounts;
        this.sessions = sessions;
    }

    /**
     * The caller of {@code request}, Basic credentials checked against the login guard of
     * {@code client}, with its files counted under {@code protocol}.
     */
    Caller authenticate(HttpRequest request, InetAddress client, Protocol protocol) throws GatewayException {
        HttpHeaders headers = request.headers();
        if (!headers.contains(HttpHeaderNames.AUTHORIZATION)) {
            Optional<Sessions.Session> session = sessions.find(SessionCookie.token(headers));
            if (session.isPresent()) {
                return bySession(request, session.get(), protocol);
            }
        }
        return byBasic(headers, client, protocol);
    }

    private Caller bySession(HttpRequest request, Sessions.Session session, Protocol protocol) throws GatewayException {
        if (changes(request.method()) && !session.csrfMatches(request.headers().get(CSRF_HEADER))) {
            throw ErrorCode.FORBIDDEN.exception("a change made with the session cookie needs the session's "
                    + CSRF_HEADER + " header");
        }
        Optional<UserConfig> user = accounts.user(session.user());
        if (user.isEmpty()) {
            sessions.end(session.token());
            throw ErrorCode.UNAUTHORIZED.exception("the session's user no longer exists");
        }
        return new Caller(user.get(), accounts.files(user.get(), protocol), session);
    }

    private static boolean changes(HttpMethod method) {
        return !HttpMethod.GET.equals(method) && !HttpMethod.HEAD.equals(method) && !HttpMethod.OPTIONS.equals(method);
    }

    private Caller byBasic(HttpHeaders headers, InetAddress client, Protocol protocol) throws GatewayException {
        java.time.Duration ban = accounts.guard().banRemaining(client);
        if (!ban.isZero()) {
            throw ErrorCode.BANNED.exception("too many failed logins from this address; try again in " + (ban.toSeconds() + 1) + " s");
        }
        String header = headers.get(HttpHeaderNames.AUTHORIZATION);
        if (header == null || !header.regionMatches(true, 0, "Basic ", 0, 6)) {
            throw ErrorCode.UNAUTHORIZED.exception("credentials are required");
        }
        String decoded;
        try {
            decoded = new String(Base64.getDecoder().decode(header.substring(6).trim()), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw ErrorCode.UNAUTHORIZED.exception("the credentials are not valid Base64");
        }
        int colon = decoded.indexOf(':');
        if (colon < 0) {
            throw ErrorCode.UNAUTHORIZED.exception("the credentials have no password");
        }
        Optional<UserConfig> user = accounts.authenticate(decoded.substring(0, colon), decoded.substring(colon + 1), client);
        if (user.isEmpty()) {
            throw ErrorCode.LOGIN_FAILED.exception("unknown user or wrong password");
        }
        return new Caller(user.get(), accounts.files(user.get(), protocol), null);
    }
}
