package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.StoragePaths;
import org.transfergateway.storage.UserFiles;

/**
 * {@code POST /files/{dir}/} as {@code multipart/form-data}: each file part streams into
 * its own upload of {@code {dir}/{filename}} while it arrives; other fields are ignored.
 * Files committed before a failure stay; the one in progress is aborted.
 */
final class MultipartUpload implements UploadTarget, MultipartParser.Listener {
    private final Exchange exchange;
    private final UserFiles files;
    private final String dir;
    private final MultipartParser parser;
    private final List<Map<String, Object>> stored = new ArrayList<>();
    private UserFiles.Inbound current;

    private MultipartUpload(Exchange exchange, UserFiles files, String dir, String boundary) {
        this.exchange = exchange;
        this.files = files;
        this.dir = dir;
        this.parser = new MultipartParser(boundary, this);
    }

    /** The handler for the route table. */
    static UploadHandler handler(String prefix) {
        return ex -> {
            String boundary = MultipartParser.boundary(ex.request().headers().get(HttpHeaderNames.CONTENT_TYPE));
            String dir = StoragePaths.normalize("/", ex.userPath(prefix));
            return new MultipartUpload(ex, ex.caller().files(), dir, boundary);
        };
    }

    /** The last segment of a client's file name ("C:\x\y.bin" gives "y.bin"); never a path. */
    static String baseName(String filename) throws GatewayException {
        int cut = Math.max(filename.lastIndexOf('/'), filename.lastIndexOf('\\'));
        String name = filename.substring(cut + 1);
        if (name.isEmpty() || name.equals(".") || name.equals("..")) {
            throw ErrorCode.BAD_PATH.exception("not a file name: " + filename);
        }
        return name;
    }

    @Override
    public void partStarted(MultipartParser.Part part) throws IOException {
        if (part.filename() == null || part.filename().isEmpty()) {
            return; // a plain field, or a file input left empty
        }
        String name = baseName(part.filename());
        current = files.upload(dir.equals("/") ? "/" + name : dir + "/" + name);
    }

    @Override
    public void partData(ByteBuffer data) throws IOException {
        if (current != null) {
            current.write(data);
        }
    }

    @Override
    public void partEnded() throws IOException {
        if (current == null) {
            return;
        }
        UserFiles.Inbound done = current;
        current = null;
        ObjectInfo info = done.commit();
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("path", done.path());
        entry.put("size", info.size());
        stored.add(entry);
    }

    @Override
    public void write(ByteBuffer chunk) throws IOException {
        parser.feed(chunk);
    }

    @Override
    public FullHttpResponse finish() throws IOException {
        parser.finish();
        return exchange.services().responses().json(HttpResponseStatus.CREATED, stored);
    }

    @Override
    public void abort() {
        if (current != null) {
            current.abort();
            current = null;
        }
    }
}
