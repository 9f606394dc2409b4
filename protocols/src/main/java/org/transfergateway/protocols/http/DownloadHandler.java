package org.transfergateway.protocols.http;

import io.netty.channel.DefaultFileRegion;
import io.netty.handler.codec.DateFormatter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpChunkedInput;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.stream.ChunkedWriteHandler;
import java.io.IOException;
import java.util.Date;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.FileBacked;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.UserFiles;

/**
 * {@code GET} and {@code HEAD /files/{path}}: the file with its validators, or one byte
 * range of it (206, or 416 when the range lies beyond the end). HEAD sends the same
 * headers and transfers nothing.
 */
final class DownloadHandler implements SimpleHandler {
    private final String prefix;

    DownloadHandler(String prefix) {
        this.prefix = prefix;
    }

    @Override
    public void handle(Exchange ex) throws Exception {
        String path = ex.userPath(prefix);
        UserFiles files = ex.caller().files();
        ObjectInfo info = files.stat(path);
        if (info == null) {
            throw ErrorCode.NOT_FOUND.exception("no such file: " + path);
        }
        if (info.folder()) {
            throw ErrorCode.CONFLICT.exception(path + " is a folder; list it with a trailing /");
        }
        ByteRange range;
        try {
            range = ByteRange.parse(ex.request().headers().get(HttpHeaderNames.RANGE), info.size());
        } catch (ByteRange.Unsatisfiable e) {
            FullHttpResponse r = ex.services().responses().error(HttpResponseStatus.REQUESTED_RANGE_NOT_SATISFIABLE,
                    "range_not_satisfiable", e.getMessage() + " lies beyond the end of " + path + " (" + info.size() + " bytes)");
            r.headers().set(HttpHeaderNames.CONTENT_RANGE, "bytes */" + info.size());
            ex.send(r);
            return;
        }
        HttpResponseStatus status = range == null ? HttpResponseStatus.OK : HttpResponseStatus.PARTIAL_CONTENT;
        long offset = range == null ? 0 : range.offset();
        long length = range == null ? info.size() : range.length();
        if (ex.request().method().equals(HttpMethod.HEAD)) {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status);
            headers(r.headers(), info, range, length);
            DigestHeaders.describe(r.headers(), ex.request().headers(), files.recordedSha256(info));
            ex.send(r);
            return;
        }
        UserFiles.Outbound out = files.download(path, offset, length);
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, status);
        headers(head.headers(), out.info(), range, out.length());
        try {
            // Of the whole file, also in a 206: Repr-Digest is the representation's (RFC 9530 section 3).
            DigestHeaders.describe(head.headers(), ex.request().headers(), files.recordedSha256(out.info()));
        } catch (IOException | RuntimeException e) {
            out.abandon();
            out.close();
            throw e;
        }
        FileBacked file = out.file();
        if (file != null && ex.ctx().pipeline().get(SslHandler.class) == null) {
            sendRegion(ex, head, out, file);
            return;
        }
        OutboundChunks chunks = new OutboundChunks(out, ex.services().blocking(),
                ex.ctx().pipeline().context(ChunkedWriteHandler.class));
        ex.send(head, new HttpChunkedInput(chunks), chunks::delivered);
    }

    /**
     * A local file without TLS goes out as a file region: the kernel copies it from the
     * page cache to the socket (sendfile), nothing passes through the JVM's buffers.
     */
    private static void sendRegion(Exchange ex, HttpResponse head, UserFiles.Outbound out, FileBacked file) {
        DefaultFileRegion region = new DefaultFileRegion(file.channel(), file.position(), out.length());
        long[] counted = {0};
        ex.send(head, region, sent -> {
            out.sentDirectly(sent - counted[0]);
            counted[0] = sent;
        }, ok -> {
            if (!ok) {
                out.abandon();
            }
            try {
                out.close(); // counts the download; the file itself is closed with the region
            } catch (IOException e) {
                // a local file's close; the count is already taken
            }
        });
    }

    private static void headers(HttpHeaders h, ObjectInfo info, ByteRange range, long length) {
        h.set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
        h.set(HttpHeaderNames.CONTENT_LENGTH, length);
        h.set(HttpHeaderNames.ACCEPT_RANGES, HttpHeaderValues.BYTES);
        h.set(HttpHeaderNames.LAST_MODIFIED, DateFormatter.format(Date.from(info.modified())));
        if (info.etag() != null) {
            h.set(HttpHeaderNames.ETAG, "\"" + info.etag() + "\"");
        }
        if (range != null) {
            h.set(HttpHeaderNames.CONTENT_RANGE, "bytes " + range.offset() + "-" + range.last() + "/" + info.size());
        }
    }
}
