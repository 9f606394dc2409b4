package org.transfergateway.protocols.http;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.function.Predicate;
import org.transfergateway.config.UserConfig;
import org.transfergateway.config.UserPolicy;
import org.transfergateway.storage.meter.Counters;
import org.transfergateway.storage.meter.Statistics;
import org.transfergateway.storage.meter.StoredTotals;

/**
 * {@code GET /api/users}: each configured user with its quota beside what it stores and
 * what it transferred, for the dashboard's usage bars. An admin sees every user in config
 * order ({@code ?user=} narrows to one); anyone else only itself.
 */
final class UsersHandler implements SimpleHandler {

    @Override
    public void handle(Exchange ex) throws Exception {
        Predicate<String> visible = Query.of(ex).visibleUsers(ex.caller());
        Statistics s = ex.services().accounts().meter().statistics(visible, null, null);
        ObjectNode root = ex.services().json().createObjectNode();
        var list = root.putArray("users");
        for (UserConfig u : ex.services().accounts().users()) {
            if (!visible.test(u.name())) {
                continue;
            }
            ObjectNode o = list.addObject();
            o.put("name", u.name());
            o.put("admin", u.admin());
            o.put("backend", u.backend());
            quota(o, u.policy());
            StoredTotals stored = s.storedByUser().get(u.name());
            ObjectNode st = o.putObject("stored");
            st.put("bytes", stored == null ? 0 : stored.bytes());
            st.put("objects", stored == null ? 0 : stored.objects());
            Counters c = s.transferredByUser().get(u.name());
            ObjectNode t = o.putObject("transferred");
            t.put("bytesIn", c == null ? 0 : c.bytesIn());
            t.put("bytesOut", c == null ? 0 : c.bytesOut());
            t.put("filesIn", c == null ? 0 : c.filesIn());
            t.put("filesOut", c == null ? 0 : c.filesOut());
            t.put("failedIn", c == null ? 0 : c.failedIn());
            t.put("failedOut", c == null ? 0 : c.failedOut());
        }
        ex.send(ex.services().responses().json(HttpResponseStatus.OK, root));
    }

    /** {@code "quota": {"bytes", "files"}}, each null when unlimited; the whole null when both are. */
    private static void quota(ObjectNode o, UserPolicy p) {
        if (p.quotaBytes() <= 0 && p.quotaFiles() <= 0) {
            o.putNull("quota");
            return;
        }
        ObjectNode q = o.putObject("quota");
        if (p.quotaBytes() > 0) {
            q.put("bytes", p.quotaBytes());
        } else {
            q.putNull("bytes");
        }
        if (p.quotaFiles() > 0) {
            q.put("files", p.quotaFiles());
        } else {
            q.putNull("files");
        }
    }
}
