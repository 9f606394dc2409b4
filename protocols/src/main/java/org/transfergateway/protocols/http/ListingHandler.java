package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.transfergateway.storage.ObjectInfo;
import org.transfergateway.storage.StoragePaths;

/** {@code GET /files/{dir}/}: the folder's entries as JSON, sorted by name. */
final class ListingHandler implements SimpleHandler {
    private final String prefix;

    ListingHandler(String prefix) {
        this.prefix = prefix;
    }

    @Override
    public void handle(Exchange ex) throws Exception {
        String path = StoragePaths.normalize("/", ex.userPath(prefix));
        List<ObjectInfo> found = new ArrayList<>(ex.caller().files().list(path));
        found.sort((a, b) -> a.name().compareTo(b.name()));
        List<Map<String, Object>> entries = new ArrayList<>();
        for (ObjectInfo o : found) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("name", o.name());
            e.put("type", o.folder() ? "dir" : "file");
            e.put("size", o.size());
            e.put("modified", o.modified().toString());
            entries.add(e);
        }
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("path", path.equals("/") ? "/" : path + "/");
        body.put("entries", entries);
        ex.send(ex.services().responses().json(HttpResponseStatus.OK, body));
    }
}
