package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UserFiles;

/**
 * {@code PUT /files/{path}}: the body becomes the file; 201 when created, 200 when replaced.
 * A time in {@code X-OC-Mtime} is set on the file as it is committed ({@link OcMtime}).
 */
final class PutUpload implements UploadTarget {
    private final Exchange exchange;
    private final UserFiles.Inbound inbound;
    /** The time the upload brings ({@link OcMtime}), or null. */
    private final Instant modified;
    /** Whether the upload commits the file with that time. */
    private final boolean atCommit;

    private PutUpload(Exchange exchange, UserFiles.Inbound inbound, Instant modified, boolean atCommit) {
        this.exchange = exchange;
        this.inbound = inbound;
        this.modified = modified;
        this.atCommit = atCommit;
    }

    /** The handler for the route table. */
    static UploadHandler handler(String prefix) {
        return ex -> {
            UserFiles files = ex.caller().files();
            String path = ex.userPath(prefix);
            // A Content-Length lets the backend stream the body in one request (S3 PutObject).
            long size = HttpUtil.isTransferEncodingChunked(ex.request()) ? -1 : HttpUtil.getContentLength(ex.request(), -1L);
            DigestHeaders.announced(ex.request().headers()); // a malformed one is refused before the upload starts
            Instant modified = OcMtime.of(ex.request().headers());
            UserFiles.Inbound upload = expecting(ex, size >= 0 ? files.uploadOfSize(path, size) : files.upload(path));
            return new PutUpload(ex, upload, modified, OcMtime.atCommit(files, upload, modified));
        };
    }

    /** {@code upload}, checking the digests the request announces (Content-MD5, Repr-Digest) before its commit. */
    static UserFiles.Inbound expecting(Exchange ex, UserFiles.Inbound upload) throws IOException {
        try {
            DigestHeaders.expect(ex.request().headers(), upload);
            return upload;
        } catch (IOException | RuntimeException e) {
            upload.abort();
            throw e;
        }
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
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("path", inbound.path());
        body.put("size", info.size());
        HttpResponseStatus status = inbound.replaced() ? HttpResponseStatus.OK : HttpResponseStatus.CREATED;
        DefaultHttpHeaders extra = new DefaultHttpHeaders();
        OcMtime.apply(exchange.caller().files(), inbound.path(), modified, atCommit, info, extra);
        FullHttpResponse r = exchange.services().responses().json(status, body);
        r.headers().add(extra);
        return r;
    }

    @Override
    public void abort() {
        inbound.abort();
    }
}
