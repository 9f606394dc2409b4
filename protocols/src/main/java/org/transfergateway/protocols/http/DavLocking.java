package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.util.List;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UserFiles;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * {@code LOCK} and {@code UNLOCK} (RFC 4918 sections 9.10 and 9.11): exclusive and shared
 * write locks of Depth 0 or infinity, refreshed by a LOCK without a body that submits
 * the token in its {@code If} header. A LOCK of an unmapped URL creates an empty file
 * there (201), as section 7.3 says.
 */
final class DavLocking {
    private final WebDav dav;

    DavLocking(WebDav dav) {
        this.dav = dav;
    }

    void lock(Exchange ex) throws IOException {
        String path = WebDav.path(ex);
        String user = ex.caller().name();
        UserFiles files = ex.caller().files();
        long seconds = timeout(ex.request().headers().get("Timeout"));
        Document doc = DavXml.parse(ex.form());
        if (doc == null) {
            refresh(ex, path, user, seconds);
            return;
        }
        Element info = doc.getDocumentElement();
        Element scope = DavXml.child(info, "lockscope");
        if (!DavXml.is(info, "lockinfo") || scope == null) {
            throw new DavStatus(HttpResponseStatus.BAD_REQUEST, "the body must be a DAV:lockinfo with a lockscope");
        }
        boolean exclusive = DavXml.child(scope, "exclusive") != null;
        if (!exclusive && DavXml.child(scope, "shared") == null) {
            throw new DavStatus(HttpResponseStatus.BAD_REQUEST, "the lockscope must be exclusive or shared");
        }
        Element owner = DavXml.child(info, "owner");
        int depth = WebDav.depth(ex);
        if (depth == 1) {
            throw new DavStatus(HttpResponseStatus.BAD_REQUEST, "LOCK takes Depth 0 or infinity");
        }
        ObjectInfo existing = files.stat(path);
        if (existing == null) {
            WebDav.requireParent(files, path);
            dav.permit(ex, List.of(new DavLocks.Target(path, false), new DavLocks.Target(WebDav.parent(path), false)));
        }
        DavLocks.Lock lock = dav.locks.lock(user, path, depth != 0, exclusive,
                owner == null ? "" : DavXml.write(owner), seconds);
        if (existing == null) {
            try {
                UserFiles.Inbound empty = files.uploadOfSize(path, 0);
                empty.commit();
            } catch (IOException | RuntimeException e) {
                dav.locks.unlock(user, path, lock.token());
                throw e;
            }
        }
        FullHttpResponse r = discovery(ex, lock, existing == null ? HttpResponseStatus.CREATED : HttpResponseStatus.OK);
        r.headers().set("Lock-Token", "<" + lock.token() + ">");
        ex.send(r);
    }

    private void refresh(Exchange ex, String path, String user, long seconds) throws IOException {
        String header = ex.request().headers().get("If");
        if (header != null) {
            for (String token : DavIf.parse(header).tokens()) {
                DavLocks.Lock l = dav.locks.refresh(user, path, token, seconds);
                if (l != null) {
                    ex.send(discovery(ex, l, HttpResponseStatus.OK));
                    return;
                }
            }
        }
        throw new DavStatus(HttpResponseStatus.PRECONDITION_FAILED, "lock-token-submitted",
                "a refresh must submit the token of a lock on " + path + " in its If header");
    }

    void unlock(Exchange ex) throws IOException {
        String path = WebDav.path(ex);
        String token = ex.request().headers().get("Lock-Token");
        if (token == null || !token.trim().startsWith("<") || !token.trim().endsWith(">")) {
            throw new DavStatus(HttpResponseStatus.BAD_REQUEST, "UNLOCK needs a Lock-Token header: <token>");
        }
        token = token.trim();
        if (!dav.locks.unlock(ex.caller().name(), path, token.substring(1, token.length() - 1))) {
            throw new DavStatus(HttpResponseStatus.CONFLICT, "lock-token-matches-request-uri",
                    "no such lock on " + path);
        }
        ex.send(ex.services().responses().empty(HttpResponseStatus.NO_CONTENT));
    }

    private static FullHttpResponse discovery(Exchange ex, DavLocks.Lock lock, HttpResponseStatus status) {
        return ex.services().responses().text(status, DavXml.TYPE, DavXml.HEAD
                + "<D:prop xmlns:D=\"DAV:\"><D:lockdiscovery>" + DavLocks.activeLock(lock) + "</D:lockdiscovery></D:prop>\n");
    }

    /** The first timeout the client asks for ("Second-n" or "Infinite"), at most {@link DavLocks#MAX_SECONDS}. */
    static long timeout(String header) {
        if (header != null) {
            for (String t : header.split(",")) {
                t = t.trim();
                if (t.equalsIgnoreCase("Infinite")) {
                    return DavLocks.MAX_SECONDS;
                }
                if (t.regionMatches(true, 0, "Second-", 0, 7)) {
                    try {
                        long s = Long.parseLong(t.substring(7));
                        if (s > 0) {
                            return Math.min(s, DavLocks.MAX_SECONDS);
                        }
                    } catch (NumberFormatException e) {
                        // try the next one
                    }
                }
            }
        }
        return DavLocks.MAX_SECONDS;
    }
}
