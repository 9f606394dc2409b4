package org.transfergateway.protocols.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.transfergateway.storage.meter.TransferRecord;

/**
 * {@code GET /api/transfers?limit=&user=&since=}: the most recent finished transfers from
 * the ledger, newest first, as {@code {"transfers": [...]}}. Users see their own only.
 */
final class TransfersHandler implements SimpleHandler {
    private static final int DEFAULT_LIMIT = 100;
    private static final int MAX_LIMIT = 10_000;

    @Override
    public void handle(Exchange ex) throws Exception {
        Query q = Query.of(ex);
        var records = ex.services().accounts().meter().recent(q.integer("limit", DEFAULT_LIMIT, 0, MAX_LIMIT),
                q.user(ex.caller()), q.instant("since"));
        ObjectNode root = ex.services().json().createObjectNode();
        ArrayNode list = root.putArray("transfers");
        for (TransferRecord r : records) {
            ObjectNode o = list.addObject();
            o.put("id", r.id());
            o.put("user", r.user());
            o.put("protocol", r.protocol().id());
            o.put("direction", r.direction().id());
            o.put("path", r.path());
            o.put("backend", r.backend());
            o.put("bytes", r.bytes());
            o.put("outcome", r.succeeded() ? "completed" : "failed");
            o.put("startedAt", r.startedAt().toString());
            o.put("endedAt", r.endedAt().toString());
        }
        ex.send(ex.services().responses().json(HttpResponseStatus.OK, root));
    }
}
