package org.transfergateway.protocols.http;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.meter.ThroughputMinute;
import org.transfergateway.storage.meter.TransferMeter;

/**
 * {@code GET /api/throughput?since=&until=&user=}: bytes, completed and failed transfers
 * per minute, protocol and direction, as {@code {"minutes": [...]}} ordered so; a minute
 * without transfers has no entry. A transfer counts whole in the minute it ended. The
 * minutes are those that hold any instant of {@code [since, until)}: {@code since} is
 * taken back to the start of its minute. By default the last hour: the 60 minutes up to
 * now, the current one included. An admin gets the sums over every user (or one user's
 * with {@code ?user=}), anyone else its own. The ledger keeps minutes 7 days.
 */
final class ThroughputHandler implements SimpleHandler {
    private static final Duration DEFAULT_WINDOW = Duration.ofMinutes(59);

    @Override
    public void handle(Exchange ex) throws Exception {
        Query q = Query.of(ex);
        TransferMeter meter = ex.services().accounts().meter();
        String user = q.user(ex.caller());
        Instant since = q.instant("since");
        Instant until = q.instant("until");
        since = since != null ? ThroughputMinute.minuteOf(since)
                : ThroughputMinute.minuteOf(until != null ? until : meter.now()).minus(DEFAULT_WINDOW);
        if (until != null && !since.isBefore(until)) {
            throw ErrorCode.BAD_REQUEST.exception("since=" + since + " is not before until=" + until);
        }
        List<ThroughputMinute> rows = new ArrayList<>();
        for (ThroughputMinute m : meter.throughput(since, until)) {
            if (user != null && !m.user().equals(user)) {
                continue;
            }
            // Rows come ordered by minute, protocol, direction, then user: sum each run.
            ThroughputMinute last = rows.isEmpty() ? null : rows.get(rows.size() - 1);
            if (last != null && last.minute().equals(m.minute()) && last.protocol().equals(m.protocol())
                    && last.direction() == m.direction()) {
                rows.set(rows.size() - 1, last.plus(m, user));
            } else {
                rows.add(m);
            }
        }
        ObjectNode root = ex.services().json().createObjectNode();
        ArrayNode list = root.putArray("minutes");
        for (ThroughputMinute m : rows) {
            ObjectNode o = list.addObject();
            o.put("minute", m.minute().toString());
            o.put("protocol", m.protocol().id());
            o.put("direction", m.direction().id());
            o.put("bytes", m.bytes());
            o.put("files", m.files());
            o.put("failed", m.failed());
        }
        ex.send(ex.services().responses().json(HttpResponseStatus.OK, root));
    }
}
