package org.transfergateway.protocols.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpResponseStatus;
import org.transfergateway.storage.ErrorCode;

/**
 * {@code GET /api/backends}, for admins only: each backend's health, stored totals, bytes
 * in flight, latency and errors, and each pool's policy, members and replication lag, as
 * {@code {"backends": [...], "pools": [...]}} (SPEC section 6).
 */
final class BackendsHandler implements SimpleHandler {

    @Override
    public void handle(Exchange ex) throws Exception {
        if (!ex.caller().user().admin()) {
            throw ErrorCode.FORBIDDEN.exception("backends are for admins only");
        }
        ex.send(ex.services().responses().json(HttpResponseStatus.OK,
                render(ex.services().json().createObjectNode(), ex.services().backends().get())));
    }

    static ObjectNode render(ObjectNode root, BackendsView view) {
        ArrayNode backends = root.putArray("backends");
        for (BackendsView.Backend b : view.backends()) {
            ObjectNode o = backends.addObject();
            o.put("name", b.name());
            o.put("type", b.type());
            o.put("healthy", b.healthy());
            o.put("storedBytes", b.storedBytes());
            o.put("objects", b.objects());
            o.put("outstandingBytes", b.outstandingBytes());
            ObjectNode latency = o.putObject("latencyMs");
            latency.put("p50", b.latencyP50Millis());
            latency.put("p99", b.latencyP99Millis());
            o.put("errors", b.errors());
        }
        ArrayNode pools = root.putArray("pools");
        for (BackendsView.Pool p : view.pools()) {
            ObjectNode o = pools.addObject();
            o.put("name", p.name());
            o.put("policy", p.policy());
            ArrayNode members = o.putArray("backends");
            p.backends().forEach(members::add);
            o.put("replicas", p.replicas());
            o.put("storedBytes", p.storedBytes());
            o.put("objects", p.objects());
            ObjectNode replication = o.putObject("replication");
            replication.put("mode", p.replication());
            replication.put("pending", p.pendingCopies());
            replication.put("pendingBytes", p.pendingBytes());
            replication.put("oldestSeconds", p.oldestPendingSeconds());
        }
        return root;
    }
}
