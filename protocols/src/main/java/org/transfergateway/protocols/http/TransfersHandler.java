package org.transfergateway.protocols.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;
import org.transfergateway.storage.meter.Protocol;
import org.transfergateway.storage.meter.TransferQuery;
import org.transfergateway.storage.meter.TransferRecord;

/**
 * {@code GET /api/transfers?limit=&user=&protocol=&outcome=&since=&until=&before=}: the
 * most recent finished transfers from the ledger, newest first (by start, then id), as
 * {@code {"transfers": [...]}}. Users see their own only. {@code protocol} is an id
 * ({@code ftp}, {@code http}...), {@code outcome} {@code completed} or {@code failed};
 * {@code since} and {@code until} bound the start, {@code [since, until)}. A page that
 * holds {@code limit} transfers ends with {@code "next"}: the id of its last, which
 * {@code before=} takes for the page after it (an unknown id gives an empty page).
 */
final class TransfersHandler implements SimpleHandler {
    private static final int DEFAULT_LIMIT = 100;
    private static final int MAX_LIMIT = 10_000;

    @Override
    public void handle(Exchange ex) throws Exception {
        Query q = Query.of(ex);
        int limit = q.integer("limit", DEFAULT_LIMIT, 0, MAX_LIMIT);
        var records = ex.services().accounts().meter().recent(new TransferQuery(limit, q.user(ex.caller()),
                protocol(q.string("protocol")), outcome(q.string("outcome")), q.instant("since"), q.instant("until"),
                q.string("before")));
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
        if (limit > 0 && records.size() == limit) {
            root.put("next", records.get(records.size() - 1).id());
        }
        ex.send(ex.services().responses().json(HttpResponseStatus.OK, root));
    }

    private static Protocol protocol(String id) throws GatewayException {
        if (id == null) {
            return null;
        }
        try {
            return new Protocol(id);
        } catch (IllegalArgumentException e) {
            throw ErrorCode.BAD_REQUEST.exception("protocol=" + id + " is not a protocol id such as ftp or http");
        }
    }

    private static Boolean outcome(String outcome) throws GatewayException {
        if (outcome == null) {
            return null;
        }
        return switch (outcome) {
            case "completed" -> true;
            case "failed" -> false;
            default -> throw ErrorCode.BAD_REQUEST.exception("outcome=" + outcome + " is neither completed nor failed");
        };
    }
}
