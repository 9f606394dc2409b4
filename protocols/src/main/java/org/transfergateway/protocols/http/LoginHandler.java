package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.transfergateway.config.UserConfig;
import org.transfergateway.storage.ErrorCode;

/**
 * {@code POST /ui/login} with the form fields {@code user} and {@code password}: checked
 * like every other login (the same accounts, the same ban per client address, shared
 * with FTP and HTTP Basic), then a new session and its cookie, and 303 to the overview.
 * A refusal is 303 back to the login page, after the guard's failure delay. A post
 * whose {@code Origin} is another site is refused (the cookie's {@code SameSite=Strict}
 * does not cover the login, which has no cookie yet).
 */
final class LoginHandler implements SimpleHandler {

    @Override
    public void handle(Exchange ex) throws Exception {
        String origin = ex.request().headers().get(HttpHeaderNames.ORIGIN);
        if (origin != null && !origin.equalsIgnoreCase(ownOrigin(ex))) {
            throw ErrorCode.FORBIDDEN.exception("a login from another site (" + origin + ") is refused");
        }
        Map<String, List<String>> form = new QueryStringDecoder(new String(ex.form(), StandardCharsets.UTF_8),
                StandardCharsets.UTF_8, false).parameters();
        String name = field(form, "user");
        String password = field(form, "password");
        InetAddress client = ex.clientAddress();
        var services = ex.services();
        if (!services.accounts().guard().banRemaining(client).isZero()) {
            ex.send(services.responses().redirect(Dashboard.PREFIX + "/login?banned"));
            return;
        }
        Optional<UserConfig> user = services.accounts().authenticate(name, password, client);
        if (user.isEmpty()) {
            boolean banned = !services.accounts().guard().banRemaining(client).isZero();
            ex.sendAfter(services.responses().redirect(Dashboard.PREFIX + (banned ? "/login?banned" : "/login?failed")),
                    services.accounts().guard().failureDelay());
            return;
        }
        Sessions.Session session = services.sessions().create(user.get().name());
        FullHttpResponse r = services.responses().redirect(Dashboard.PREFIX + "/");
        r.headers().set(HttpHeaderNames.SET_COOKIE, SessionCookie.set(session.token(), ex.secure()));
        ex.send(r);
    }

    private static String field(Map<String, List<String>> form, String name) {
        List<String> v = form.get(name);
        return v == null || v.isEmpty() ? null : v.get(0);
    }

    /** This listener's origin as the browser names it: the scheme and the Host it asked for. */
    private static String ownOrigin(Exchange ex) {
        return (ex.secure() ? "https://" : "http://") + ex.request().headers().get(HttpHeaderNames.HOST);
    }
}
