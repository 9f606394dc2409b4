package org.transfergateway.protocols.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.function.Predicate;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.meter.Statistics;
import org.transfergateway.storage.meter.StoredTotals;

/**
 * {@code GET /api/stats}: the statistics JSON of the SPEC, section 5. An admin sees every
 * user; anyone else only itself. {@code ?since=} and {@code ?until=} (ISO-8601) limit the
 * transfer totals to the transfers that ended in that window; {@code ?user=} narrows an
 * admin's view to one user.
 */
final class StatsHandler implements SimpleHandler {

    @Override
    public void handle(Exchange ex) throws Exception {
        Query q = Query.of(ex);
        Predicate<String> visible = q.visibleUsers(ex.caller());
        Statistics s = ex.services().accounts().meter().statistics(visible, q.instant("since"), q.instant("until"));
        ex.send(ex.services().responses().json(HttpResponseStatus.OK, render(ex.services().json()
                .createObjectNode(), s)));
    }

    static ObjectNode render(ObjectNode root, Statistics s) {
        root.put("since", s.since().toString());
        transferred(root.putObject("transferred"), s);
        ObjectNode stored = stored(root.putObject("stored"), s.stored());
        ObjectNode byBackend = stored.putObject("byBackend");
        s.storedByBackend().forEach((b, t) -> stored(byBackend.putObject(b), t));
        ObjectNode storedByUser = stored.putObject("byUser");
        s.storedByUser().forEach((u, t) -> stored(storedByUser.putObject(u), t));
        ArrayNode active = root.putArray("active");
        for (Statistics.Active a : s.active()) {
            active(active.addObject(), a).put("startedAt", a.startedAt().toString());
        }
        return root;
    }

    /** What every view of a transfer in progress shows first: who, how, what, and its bytes so far. */
    static ObjectNode active(ObjectNode o, Statistics.Active a) {
        o.put("id", a.id());
        o.put("user", a.user());
        o.put("protocol", a.protocol());
        o.put("direction", a.direction());
        o.put("path", a.path());
        o.put("bytes", a.bytes());
        o.put("node", a.node());
        return o;
    }

    /** The {@code transferred} object: the totals, {@code byProtocol} and {@code byUser}. */
    static ObjectNode transferred(ObjectNode transferred, Statistics s) {
        counters(transferred, s.transferred());
        ObjectNode byProtocol = transferred.putObject("byProtocol");
        s.byProtocol().forEach((p, c) -> counters(byProtocol.putObject(p), c));
        ObjectNode byUser = transferred.putObject("byUser");
        s.transferredByUser().forEach((u, c) -> counters(byUser.putObject(u), c));
        return transferred;
    }

    private static ObjectNode counters(ObjectNode o, Counters c) {
        o.put("bytesIn", c.bytesIn());
        o.put("bytesOut", c.bytesOut());
        o.put("filesIn", c.filesIn());
        o.put("filesOut", c.filesOut());
        o.put("failedIn", c.failedIn());
        o.put("failedOut", c.failedOut());
        return o;
    }

    private static ObjectNode stored(ObjectNode o, StoredTotals t) {
        o.put("bytes", t.bytes());
        o.put("objects", t.objects());
        return o;
    }
}
