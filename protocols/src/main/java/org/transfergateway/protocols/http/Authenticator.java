package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import org.transfergateway.config.UserConfig;
import org.transfergateway.protocols.auth.Accounts;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.meter.Protocol;

/**
 * Checks HTTP Basic credentials. Runs on the blocking pool: verifying a password hash
 * the first time takes a noticeable while and must not stall an event loop.
 */
final class Authenticator {
    private final Accounts accounts;

    Authenticator(Accounts accounts) {
        this.accounts = accounts;
    }

    /** The caller named by the Basic credentials, checked against the login guard of {@code client}. */
    Caller authenticate(HttpHeaders headers, java.net.InetAddress client) throws GatewayException {
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
        return new Caller(user.get(), accounts.files(user.get(), HttpFrontEnd.PROTOCOL));
    }
}
