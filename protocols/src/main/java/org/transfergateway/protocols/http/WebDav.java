package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.StoragePaths;
import org.transfergateway.storage.UserFiles;
import org.transfergateway.storage.meter.Protocol;

/**
 * The WebDAV front end (RFC 4918, classes 1 and 2) under {@value #PREFIX} on the HTTP
 * listener: the user's "/" is {@code /dav/}. Its routes, the locks and dead properties
 * it keeps in memory, and what its handlers share: the request's path, the lock checks
 * of the {@code If} header, and the checks on the parent folder and the destination.
 * Requests under {@code /dav} open the user's files as {@link #PROTOCOL}, so what they
 * move counts as {@code webdav}, never as {@code http}.
 */
public final class WebDav {
    /** The id WebDAV transfers are counted under. */
    public static final Protocol PROTOCOL = Protocol.of("webdav");
    static final String PREFIX = "/dav";
    static final String METHODS = "OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, COPY, MOVE, PROPFIND, PROPPATCH, LOCK, UNLOCK";

    static final HttpMethod PROPFIND = HttpMethod.valueOf("PROPFIND");
    static final HttpMethod PROPPATCH = HttpMethod.valueOf("PROPPATCH");
    static final HttpMethod MKCOL = HttpMethod.valueOf("MKCOL");
    static final HttpMethod COPY = HttpMethod.valueOf("COPY");
    static final HttpMethod MOVE = HttpMethod.valueOf("MOVE");
    static final HttpMethod LOCK = HttpMethod.valueOf("LOCK");
    static final HttpMethod UNLOCK = HttpMethod.valueOf("UNLOCK");

    final DavLocks locks;
    final DavProperties properties = new DavProperties(DavProperties.MAX_CHARS);

    WebDav(Clock clock) {
        this.locks = new DavLocks(clock);
    }

    /** True for the request paths WebDAV answers. */
    static boolean owns(String rawPath) {
        return RouteTable.under(PREFIX).test(rawPath);
    }

    /** Adds the WebDAV routes to {@code routes}. */
    RouteTable routes(RouteTable routes) {
        var under = RouteTable.under(PREFIX);
        DavChanges changes = new DavChanges(this);
        DavLocking locking = new DavLocking(this);
        return routes
                .simple(HttpMethod.OPTIONS, under, WebDav::options)
                .simple(HttpMethod.GET, under, WebDav::get)
                .simple(HttpMethod.HEAD, under, WebDav::get)
                .upload(HttpMethod.PUT, under, ex -> DavPut.open(this, ex))
                .simple(HttpMethod.DELETE, under, changes::delete)
                .simple(MKCOL, under, changes::mkcol)
                .simple(COPY, under, ex -> changes.copyOrMove(ex, false))
                .simple(MOVE, under, ex -> changes.copyOrMove(ex, true))
                .body(PROPFIND, under, new DavPropfind(this))
                .body(PROPPATCH, under, new DavProppatch(this))
                .body(LOCK, under, locking::lock)
                .simple(UNLOCK, under, locking::unlock);
    }

    private static void options(Exchange ex) {
        FullHttpResponse r = ex.services().responses().empty(HttpResponseStatus.OK);
        r.headers().set("DAV", "1, 2");
        r.headers().set(HttpHeaderNames.ALLOW, METHODS);
        r.headers().set("MS-Author-Via", "DAV");
        ex.send(r);
    }

    /** A file as the HTTP download sends it; a folder as a short HTML list of its entries. */
    private static void get(Exchange ex) throws Exception {
        String path = path(ex);
        ObjectInfo info = ex.caller().files().stat(path);
        if (info == null || !info.folder()) {
            new DownloadHandler(PREFIX).handle(ex);
            return;
        }
        StringBuilder b = new StringBuilder("<!DOCTYPE html><html><body><ul>\n");
        for (ObjectInfo e : sorted(ex.caller().files().list(path))) {
            String child = child(path, e.name());
            b.append("<li><a href=\"").append(DavXml.escape(DavXml.href(child, e.folder()))).append("\">")
                    .append(DavXml.escape(e.name())).append(e.folder() ? "/" : "").append("</a></li>\n");
        }
        ex.send(ex.services().responses().text(HttpResponseStatus.OK, "text/html; charset=utf-8", b.append("</ul></body></html>\n").toString()));
    }

    /** The normalised user path of the request ("/" for {@code /dav} itself); 400 for a fragment, as it is no part of a path. */
    static String path(Exchange ex) throws IOException {
        if (ex.request().uri().indexOf('#') >= 0) {
            throw new DavStatus(HttpResponseStatus.BAD_REQUEST, "a request URI has no fragment");
        }
        return StoragePaths.normalize("/", ex.userPath(PREFIX));
    }

    static String parent(String path) {
        int slash = path.lastIndexOf('/');
        return slash <= 0 ? "/" : path.substring(0, slash);
    }

    static String child(String folder, String name) {
        return folder.equals("/") ? "/" + name : folder + "/" + name;
    }

    static List<ObjectInfo> sorted(List<ObjectInfo> entries) {
        List<ObjectInfo> s = new ArrayList<>(entries);
        s.sort(Comparator.comparing(ObjectInfo::name));
        return s;
    }

    /** 409 unless the parent of {@code path} is a folder: WebDAV creates no missing folders. */
    static void requireParent(UserFiles files, String path) throws IOException {
        ObjectInfo p = files.stat(parent(path));
        if (p == null || !p.folder()) {
            throw new DavStatus(HttpResponseStatus.CONFLICT, "the parent folder of " + path + " does not exist");
        }
    }

    /** The quoted entity tag of a file, as GET sends it; null for a folder. */
    static String etag(ObjectInfo info) {
        if (info == null || info.folder()) {
            return null;
        }
        return "\"" + (info.etag() != null ? info.etag()
                : Long.toHexString(info.modified().toEpochMilli()) + "-" + Long.toHexString(info.size())) + "\"";
    }

    /** True when the request carries a body (MKCOL must not). */
    static boolean hasBody(Exchange ex) {
        return HttpUtil.isTransferEncodingChunked(ex.request()) || HttpUtil.getContentLength(ex.request(), 0L) > 0;
    }

    /**
     * Lets a change of {@code targets} through: 412 when the request's {@code If} header
     * does not hold, 423 when a lock protects a target and none of its tokens is submitted.
     */
    void permit(Exchange ex, Collection<DavLocks.Target> targets) throws IOException {
        Caller c = ex.caller();
        Set<String> submitted = Set.of();
        String header = ex.request().headers().get("If");
        if (header != null) {
            DavIf condition = DavIf.parse(header);
            String own = path(ex);
            boolean holds = condition.holds(new DavIf.State() {
                @Override
                public Set<String> tokens(String resource) throws IOException {
                    String p = resource == null ? own : tagged(resource);
                    Set<String> t = new HashSet<>();
                    if (p != null) {
                        locks.covering(c.name(), p).forEach(l -> t.add(l.token()));
                    }
                    return t;
                }

                @Override
                public String etag(String resource) throws IOException {
                    String p = resource == null ? own : tagged(resource);
                    return p == null ? null : WebDav.etag(c.files().stat(p));
                }
            });
            if (!holds) {
                throw new DavStatus(HttpResponseStatus.PRECONDITION_FAILED, "the If header does not hold");
            }
            submitted = condition.tokens();
        }
        locks.permit(c.name(), targets, submitted);
    }

    /** The user path of a resource tagged in an If header; null when it is not one of ours. */
    private static String tagged(String url) {
        try {
            String raw = new URI(url).getRawPath();
            if (raw == null || !owns(raw)) {
                return null;
            }
            return StoragePaths.normalize("/", UserPaths.decode(raw.length() > PREFIX.length() ? raw.substring(PREFIX.length()) : "/"));
        } catch (URISyntaxException | GatewayException e) {
            return null;
        }
    }

    /**
     * The user path of the {@code Destination} of a COPY or MOVE: 400 when it is missing or
     * not a URI, 502 when it names another server, 403 when it lies outside {@value #PREFIX}
     * or would climb out of the user's home.
     */
    static String destination(Exchange ex) throws IOException {
        String d = ex.request().headers().get("Destination");
        if (d == null || d.isBlank()) {
            throw new DavStatus(HttpResponseStatus.BAD_REQUEST, "a Destination header is required");
        }
        URI uri;
        try {
            uri = new URI(d.trim());
        } catch (URISyntaxException e) {
            throw new DavStatus(HttpResponseStatus.BAD_REQUEST, "the Destination is not a URI: " + d);
        }
        String host = ex.request().headers().get(HttpHeaderNames.HOST);
        if (uri.getRawAuthority() != null && host != null && !uri.getRawAuthority().equalsIgnoreCase(host)) {
            throw new DavStatus(HttpResponseStatus.BAD_GATEWAY, "the Destination is on another server: " + d);
        }
        String raw = uri.getRawPath();
        if (raw == null || raw.isEmpty()) {
            throw new DavStatus(HttpResponseStatus.BAD_REQUEST, "the Destination has no path: " + d);
        }
        if (!owns(raw)) {
            throw new DavStatus(HttpResponseStatus.FORBIDDEN, "the Destination is outside " + PREFIX + "/: " + d);
        }
        String decoded = UserPaths.decode(raw.length() > PREFIX.length() ? raw.substring(PREFIX.length()) : "/");
        try {
            return StoragePaths.normalize("/", decoded);
        } catch (GatewayException e) {
            throw new DavStatus(HttpResponseStatus.FORBIDDEN, "the Destination is outside the user's home: " + d);
        }
    }

    /** The Depth header: 0, 1, or -1 for infinity (also when absent); 400 for anything else. */
    static int depth(Exchange ex) throws DavStatus {
        String d = ex.request().headers().get("Depth");
        if (d == null || d.trim().equalsIgnoreCase("infinity")) {
            return -1;
        }
        return switch (d.trim()) {
            case "0" -> 0;
            case "1" -> 1;
            default -> throw new DavStatus(HttpResponseStatus.BAD_REQUEST, "Depth must be 0, 1 or infinity: " + d);
        };
    }

    /** A 207 Multi-Status response of {@code responses}, each a {@code DAV:response} element. */
    static FullHttpResponse multistatus(Exchange ex, CharSequence responses) {
        return ex.services().responses().text(HttpResponseStatus.MULTI_STATUS, DavXml.TYPE,
                DavXml.HEAD + "<D:multistatus xmlns:D=\"DAV:\">" + responses + "</D:multistatus>\n");
    }

    static String status(HttpResponseStatus s) {
        return "<D:status>HTTP/1.1 " + s.code() + " " + s.reasonPhrase() + "</D:status>";
    }

    /** Refuses changing the home itself, which WebDAV cannot delete, move or overwrite. */
    static void notHome(String path) throws DavStatus {
        if (path.equals("/")) {
            throw new DavStatus(HttpResponseStatus.FORBIDDEN, "the home folder cannot be changed this way");
        }
    }
}
