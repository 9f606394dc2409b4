package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UserFiles;

/**
 * The WebDAV methods that change the namespace: MKCOL, DELETE (of a file or a whole
 * folder), COPY and MOVE. Each checks the locks of what it changes first (see
 * {@link WebDav#permit}), then makes the change through the user's {@link UserFiles}.
 *
 * <p>A COPY reads each file and writes it anew through the user's chain, so it is counted
 * as what it is on the gateway: a download and an upload under {@code webdav}, and a new
 * stored file. A MOVE is a rename, as FTP's RNFR/RNTO.
 */
final class DavChanges {
    private final WebDav dav;

    DavChanges(WebDav dav) {
        this.dav = dav;
    }

    void mkcol(Exchange ex) throws IOException {
        String path = WebDav.path(ex);
        UserFiles files = ex.caller().files();
        if (WebDav.hasBody(ex)) {
            throw new DavStatus(HttpResponseStatus.UNSUPPORTED_MEDIA_TYPE, "MKCOL takes no body");
        }
        if (path.equals("/") || files.stat(path) != null) {
            throw new DavStatus(HttpResponseStatus.METHOD_NOT_ALLOWED, path + " already exists");
        }
        WebDav.requireParent(files, path);
        dav.permit(ex, List.of(new DavLocks.Target(path, false), new DavLocks.Target(WebDav.parent(path), false)));
        files.makeFolder(path);
        ex.send(ex.services().responses().empty(HttpResponseStatus.CREATED));
    }

    void delete(Exchange ex) throws IOException {
        String path = WebDav.path(ex);
        UserFiles files = ex.caller().files();
        ObjectInfo info = files.stat(path);
        if (info == null) {
            throw new DavStatus(HttpResponseStatus.NOT_FOUND, "no such file or folder: " + path);
        }
        WebDav.notHome(path);
        dav.permit(ex, List.of(new DavLocks.Target(path, true), new DavLocks.Target(WebDav.parent(path), false)));
        remove(files, path, info);
        dav.locks.dropAll(ex.caller().name(), path);
        dav.properties.delete(ex.caller().name(), path);
        ex.send(ex.services().responses().empty(HttpResponseStatus.NO_CONTENT));
    }

    /** Removes a file, or a folder with everything in it. */
    private static void remove(UserFiles files, String path, ObjectInfo info) throws IOException {
        if (!info.folder()) {
            files.delete(path);
            return;
        }
        for (ObjectInfo e : files.list(path)) {
            remove(files, WebDav.child(path, e.name()), e);
        }
        files.removeFolder(path);
    }

    void copyOrMove(Exchange ex, boolean move) throws IOException {
        String from = WebDav.path(ex);
        String to = WebDav.destination(ex);
        UserFiles files = ex.caller().files();
        int depth = WebDav.depth(ex);
        if (depth == 1 || move && depth == 0) {
            throw new DavStatus(HttpResponseStatus.BAD_REQUEST, (move ? "MOVE" : "COPY") + " does not take Depth " + depth);
        }
        String overwrite = ex.request().headers().get("Overwrite", "T").trim();
        if (!overwrite.equalsIgnoreCase("T") && !overwrite.equalsIgnoreCase("F")) {
            throw new DavStatus(HttpResponseStatus.BAD_REQUEST, "Overwrite must be T or F");
        }
        ObjectInfo source = files.stat(from);
        if (source == null) {
            throw new DavStatus(HttpResponseStatus.NOT_FOUND, "no such file or folder: " + from);
        }
        if (from.equals(to) || DavLocks.under(to, from)) {
            throw new DavStatus(HttpResponseStatus.FORBIDDEN, "the destination is the source or inside it");
        }
        if (move) {
            WebDav.notHome(from);
        }
        WebDav.notHome(to);
        ObjectInfo target = files.stat(to);
        if (target != null && overwrite.equalsIgnoreCase("F")) {
            throw new DavStatus(HttpResponseStatus.PRECONDITION_FAILED, to + " exists and Overwrite is F");
        }
        WebDav.requireParent(files, to);
        List<DavLocks.Target> changed = move
                ? List.of(new DavLocks.Target(from, true), new DavLocks.Target(WebDav.parent(from), false),
                        new DavLocks.Target(to, true), new DavLocks.Target(WebDav.parent(to), false))
                : List.of(new DavLocks.Target(to, true), new DavLocks.Target(WebDav.parent(to), false));
        dav.permit(ex, changed);
        String user = ex.caller().name();
        if (target != null) {
            remove(files, to, target);
            dav.properties.delete(user, to);
        }
        if (move) {
            files.move(from, to);
            dav.locks.dropAll(user, from);
        } else {
            copy(files, from, to, source, depth != 0);
        }
        dav.properties.copy(user, from, to, move);
        ex.send(ex.services().responses().empty(target != null ? HttpResponseStatus.NO_CONTENT : HttpResponseStatus.CREATED));
    }

    /** Copies a file, or a folder and (when {@code deep}) all it holds, through the user's chain. */
    private static void copy(UserFiles files, String from, String to, ObjectInfo info, boolean deep) throws IOException {
        if (info.folder()) {
            files.makeFolder(to);
            if (deep) {
                for (ObjectInfo e : files.list(from)) {
                    copy(files, WebDav.child(from, e.name()), WebDav.child(to, e.name()), e, true);
                }
            }
            return;
        }
        try (UserFiles.Outbound in = files.download(from, 0, -1)) {
            UserFiles.Inbound out = files.uploadOfSize(to, in.length());
            try {
                byte[] buf = new byte[64 * 1024];
                for (int n; (n = in.read(buf, 0, buf.length)) >= 0; ) {
                    out.write(ByteBuffer.wrap(buf, 0, n));
                }
                out.commit();
            } catch (IOException | RuntimeException e) {
                out.abort();
                throw e;
            }
        }
    }
}
