package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UserFiles;

/**
 * {@code PUT /dav/{path}}: the body streams to storage as an HTTP PUT's does (never held
 * in memory); 201 when created, 204 when replaced. 409 when the parent folder is missing,
 * 405 on a folder, 423 when locked without the lock's token. A time in {@code X-OC-Mtime}
 * is set on the file as it is committed ({@link OcMtime}).
 */
final class DavPut implements UploadTarget {
    private final Exchange exchange;
    private final UserFiles.Inbound inbound;
    /** The time the upload brings ({@link OcMtime}), or null. */
    private final Instant modified;
    /** Whether the upload commits the file with that time. */
    private final boolean atCommit;

    private DavPut(Exchange exchange, UserFiles.Inbound inbound, Instant modified, boolean atCommit) {
        this.exchange = exchange;
        this.inbound = inbound;
        this.modified = modified;
        this.atCommit = atCommit;
    }

    static UploadTarget open(WebDav dav, Exchange ex) throws IOException {
        UserFiles files = ex.caller().files();
        String path = WebDav.path(ex);
        if (ex.request().headers().contains("Content-Range")) {
            // A partial PUT taken for a whole body would store a fragment as the file (RFC 9110 section 14.5).
            throw new DavStatus(HttpResponseStatus.BAD_REQUEST, "a PUT with Content-Range is not supported");
        }
        ObjectInfo existing = files.stat(path);
        if (existing != null && existing.folder()) {
            throw new DavStatus(HttpResponseStatus.METHOD_NOT_ALLOWED, path + " is a folder");
        }
        if (existing == null) {
            WebDav.requireParent(files, path);
        }
        dav.permit(ex, existing == null
                ? List.of(new DavLocks.Target(path, false), new DavLocks.Target(WebDav.parent(path), false))
                : List.of(new DavLocks.Target(path, false)));
        long size = HttpUtil.isTransferEncodingChunked(ex.request()) ? -1 : HttpUtil.getContentLength(ex.request(), -1L);
        DigestHeaders.announced(ex.request().headers()); // a malformed one is refused before the upload starts
        Instant modified = OcMtime.of(ex.request().headers());
        UserFiles.Inbound upload = PutUpload.expecting(ex, size >= 0 ? files.uploadOfSize(path, size) : files.upload(path));
        return new DavPut(ex, upload, modified, OcMtime.atCommit(files, upload, modified));
    }

    @Override
    public void write(ByteBuffer chunk) throws IOException {
        inbound.write(chunk);
    }

    @Override
    public boolean takesWithoutWaiting(int bytes) {
        return inbound.takesWithoutWaiting(bytes);
    }

    @Override
    public FullHttpResponse finish() throws IOException {
        ObjectInfo info = inbound.commit();
        FullHttpResponse r = exchange.services().responses()
                .empty(inbound.replaced() ? HttpResponseStatus.NO_CONTENT : HttpResponseStatus.CREATED);
        info = OcMtime.apply(exchange.caller().files(), inbound.path(), modified, atCommit, info, r.headers());
        String etag = WebDav.etag(info);
        if (etag != null) {
            r.headers().set("ETag", etag);
        }
        return r;
    }

    @Override
    public void abort() {
        inbound.abort();
    }
}
