package org.transfergateway.protocols.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.time.Instant;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.meter.NodeRecord;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * {@code GET /api/nodes}, for admins only: the gateways that share this ledger (SPEC
 * section 11), each with its last heartbeat, its age and whether it counts as alive, as
 * {@code {"self": "gw-1", "nodes": [...]}}. On an embedded ledger the list is this node.
 */
final class NodesHandler implements SimpleHandler {

    @Override
    public void handle(Exchange ex) throws Exception {
        if (!ex.caller().user().admin()) {
            throw ErrorCode.FORBIDDEN.exception("nodes are for admins only");
        }
        TransferMeter meter = ex.services().accounts().meter();
        Instant now = meter.now();
        ObjectNode root = ex.services().json().createObjectNode();
        root.put("self", meter.node());
        ArrayNode list = root.putArray("nodes");
        for (NodeRecord n : meter.nodes()) {
            ObjectNode o = list.addObject();
            o.put("id", n.id());
            o.put("startedAt", n.startedAt().toString());
            o.put("lastHeartbeat", n.heartbeat().toString());
            o.put("ageSeconds", n.age(now).toMillis() / 1000.0);
            o.put("alive", n.alive(now));
            o.put("leaseSeconds", n.lease().toMillis() / 1000.0);
            o.put("serves", n.serves());
            o.put("version", n.version());
            if (n.deadAt() == null) {
                o.putNull("deadAt");
            } else {
                o.put("deadAt", n.deadAt().toString());
            }
        }
        ex.send(ex.services().responses().json(HttpResponseStatus.OK, root));
    }
}
