package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
import org.transfergateway.storage.ErrorCode;

/**
 * Which handler answers a method and path. The first matching route wins; a path that
 * some route knows under another method is a 405, any other path a 404. Both are
 * answered only to authenticated callers, like everything but the open routes.
 */
final class RouteTable {

    /**
     * One row: either a simple handler or an upload handler. A simple handler's body is
     * dropped, unless {@code form}: then it is kept (a small form, see {@link FormBody}).
     */
    record Route(HttpMethod method, Predicate<String> path, boolean open, SimpleHandler simple, UploadHandler upload,
                 boolean form) {
        Route(HttpMethod method, Predicate<String> path, boolean open, SimpleHandler simple, UploadHandler upload) {
            this(method, path, open, simple, upload, false);
        }
    }

    private final List<Route> routes = new ArrayList<>();

    RouteTable simple(HttpMethod method, Predicate<String> path, SimpleHandler handler) {
        routes.add(new Route(method, path, false, handler, null));
        return this;
    }

    RouteTable open(HttpMethod method, Predicate<String> path, SimpleHandler handler) {
        routes.add(new Route(method, path, true, handler, null));
        return this;
    }

    /** An open route whose handler reads a small form body ({@link Exchange#form()}). */
    RouteTable form(HttpMethod method, Predicate<String> path, SimpleHandler handler) {
        routes.add(new Route(method, path, true, handler, null, true));
        return this;
    }

    /** An authenticated route whose handler reads a small body ({@link Exchange#form()}): WebDAV's XML. */
    RouteTable body(HttpMethod method, Predicate<String> path, SimpleHandler handler) {
        routes.add(new Route(method, path, false, handler, null, true));
        return this;
    }

    RouteTable upload(HttpMethod method, Predicate<String> path, UploadHandler handler) {
        routes.add(new Route(method, path, false, null, handler));
        return this;
    }

    static Predicate<String> exactly(String path) {
        return path::equals;
    }

    static Predicate<String> under(String prefix) {
        return p -> p.equals(prefix) || p.startsWith(prefix + "/");
    }

    static Predicate<String> folderUnder(String prefix) {
        return under(prefix).and(p -> p.endsWith("/") || p.equals(prefix));
    }

    /** The route for a request; never null. */
    Route resolve(HttpMethod method, String rawPath) {
        Set<String> allowed = new TreeSet<>();
        for (Route r : routes) {
            if (!r.path().test(rawPath)) {
                continue;
            }
            if (r.method().equals(method)) {
                return r;
            }
            allowed.add(r.method().name());
        }
        if (allowed.isEmpty()) {
            return new Route(method, p -> true, false,
                    ex -> {
                        throw ErrorCode.NOT_FOUND.exception("no such resource: " + rawPath);
                    }, null);
        }
        String allow = String.join(", ", allowed);
        return new Route(method, p -> true, false, ex -> {
            var r = ex.services().responses().error(HttpResponseStatus.METHOD_NOT_ALLOWED, "method_not_allowed",
                    method + " is not allowed on " + rawPath + "; allowed: " + allow);
            r.headers().set("Allow", allow);
            ex.send(r);
        }, null);
    }
}
