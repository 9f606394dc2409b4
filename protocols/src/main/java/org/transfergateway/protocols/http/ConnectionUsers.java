package org.transfergateway.protocols.http;

import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.util.HashMap;
import java.util.Map;
import org.transfergateway.protocols.auth.UserSessions;
import org.transfergateway.storage.ErrorCode;
import org.transfergateway.storage.GatewayException;

/**
 * limits.max-connections-per-user on the HTTP listener: a connection counts as one session
 * of each user it carries requests of (HTTP Basic or the dashboard's cookie, files, WebDAV,
 * tus, the API and event streams alike), from the first such request until it closes. A
 * request that would pass the limit is answered 429 and opens nothing.
 */
final class ConnectionUsers {
    /** The sessions a connection holds, by user; guarded by the map itself. */
    private static final AttributeKey<Map<String, UserSessions.Session>> HELD = AttributeKey.valueOf("gateway.userSessions");

    private ConnectionUsers() {
    }

    /** Counts {@code user} on {@code channel} unless it is counted there already; blocking. */
    static void admit(Channel channel, UserSessions sessions, String user) throws GatewayException {
        if (sessions.limit() <= 0) {
            return;
        }
        Map<String, UserSessions.Session> held = channel.attr(HELD).get();
        if (held == null) {
            Map<String, UserSessions.Session> fresh = new HashMap<>();
            held = channel.attr(HELD).setIfAbsent(fresh);
            if (held == null) {
                held = fresh;
                Map<String, UserSessions.Session> closing = fresh;
                channel.closeFuture().addListener(f -> {
                    synchronized (closing) {
                        closing.values().forEach(UserSessions.Session::close);
                        closing.clear();
                    }
                });
            }
        }
        synchronized (held) {
            if (held.containsKey(user)) {
                return;
            }
            if (!channel.isOpen()) {
                return; // closed meanwhile: nothing would release it
            }
            UserSessions.Session s = sessions.open(user, "http");
            if (s == null) {
                throw ErrorCode.TOO_MANY_SESSIONS.exception(user + " has " + sessions.limit()
                        + " connections open already (limits.max-connections-per-user)");
            }
            held.put(user, s);
        }
    }
}
