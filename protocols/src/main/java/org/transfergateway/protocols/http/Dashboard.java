package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;

/**
 * The dashboard under {@code /ui/} (SPEC section 10): its routes and the headers every
 * one of its responses carries. The pages are static; they read the JSON API with the
 * session cookie. The policy allows no inline script or style and no other origin.
 */
final class Dashboard {
    static final String PREFIX = "/ui";
    static final String CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; "
            + "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

    private Dashboard() {
    }

    /** Adds the dashboard's routes; the pages and the login are open, the session needs a caller. */
    static RouteTable routes(RouteTable table) {
        return table
                .open(HttpMethod.GET, RouteTable.exactly(PREFIX), ex -> ex.send(ex.services().responses().redirect(PREFIX + "/")))
                .open(HttpMethod.GET, RouteTable.exactly(PREFIX + "/"), new IndexPage())
                .open(HttpMethod.GET, RouteTable.exactly(PREFIX + "/login"), ex -> ex.services().files().send(ex, "login.html"))
                .form(HttpMethod.POST, RouteTable.exactly(PREFIX + "/login"), new LoginHandler())
                .simple(HttpMethod.POST, RouteTable.exactly(PREFIX + "/logout"), new LogoutHandler())
                .simple(HttpMethod.GET, RouteTable.exactly(PREFIX + "/session"), new SessionHandler())
                .open(HttpMethod.GET, RouteTable.under(PREFIX), ex -> ex.services().files().send(ex,
                        ex.rawPath().substring(PREFIX.length() + 1)));
    }

    /** Whether {@code rawPath} is the dashboard's. */
    static boolean owns(String rawPath) {
        return RouteTable.under(PREFIX).test(rawPath);
    }

    /** The headers of every dashboard response. */
    static void secure(HttpHeaders headers) {
        headers.set("Content-Security-Policy", CONTENT_SECURITY_POLICY);
        headers.set("X-Content-Type-Options", "nosniff");
        // same-origin, not no-referrer: under no-referrer browsers send "Origin: null" with the
        // login form's POST, which the login refuses as another site's. No referrer leaves for another site.
        headers.set("Referrer-Policy", "same-origin");
    }

    /** {@code GET /ui/}: the overview for a live session, else the way to the login page. */
    static final class IndexPage implements SimpleHandler {
        @Override
        public void handle(Exchange ex) throws Exception {
            if (ex.services().sessions().find(SessionCookie.token(ex.request().headers())).isEmpty()) {
                ex.send(ex.services().responses().redirect(PREFIX + "/login"));
                return;
            }
            ex.services().files().send(ex, "index.html");
        }
    }

    /** {@code GET /ui/session}: who is logged in, and the token its changes must carry. */
    static final class SessionHandler implements SimpleHandler {
        @Override
        public void handle(Exchange ex) throws Exception {
            Caller c = ex.caller();
            var body = ex.services().json().createObjectNode();
            body.put("user", c.name());
            body.put("admin", c.user().admin());
            body.put("csrf", c.session() == null ? null : c.session().csrf());
            var r = ex.services().responses().json(io.netty.handler.codec.http.HttpResponseStatus.OK, body);
            r.headers().set(io.netty.handler.codec.http.HttpHeaderNames.CACHE_CONTROL, "no-store");
            ex.send(r);
        }
    }

    /** {@code POST /ui/logout}: ends the session (the CSRF token was checked with it) and clears the cookie. */
    static final class LogoutHandler implements SimpleHandler {
        @Override
        public void handle(Exchange ex) throws Exception {
            Caller c = ex.caller();
            if (c.session() != null) {
                ex.services().sessions().end(c.session().token());
            }
            var r = ex.services().responses().empty(io.netty.handler.codec.http.HttpResponseStatus.NO_CONTENT);
            r.headers().set(io.netty.handler.codec.http.HttpHeaderNames.SET_COOKIE, SessionCookie.clear(ex.secure()));
            ex.send(r);
        }
    }
}
