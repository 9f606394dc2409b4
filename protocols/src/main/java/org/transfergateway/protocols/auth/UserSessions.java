package org.transfergateway.protocols.auth;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.storage.meter.Ledger;

/**
 * Holds each user to {@code limits.max-connections-per-user} logged-in sessions at once:
 * an FTP or SFTP session from its login to its end, an HTTP connection from its first
 * request as the user to its close. Counted in memory on one gateway; where gateways share
 * the ledger, each session is a row of it, counted one user at a time across the nodes and
 * removed at the session's end, or with its node when that node is counted dead.
 */
public final class UserSessions {
    private static final Logger log = LoggerFactory.getLogger(UserSessions.class);

    /** What {@link #open} gives when there is no limit: counts nothing, costs nothing. */
    private static final Session UNCOUNTED = new Session(null, null, null);

    private final int limit;
    /** The shared ledger, or null to count in memory. */
    private volatile Ledger shared;
    private final Map<String, Integer> open = new ConcurrentHashMap<>();

    /** @param limit sessions per user, 0 for none */
    public UserSessions(int limit) {
        this.limit = limit;
    }

    /** Counts sessions in {@code ledger} from now on, when other gateways share it. */
    void share(Ledger ledger) {
        if (ledger.shared()) {
            this.shared = ledger;
        }
    }

    /** The limit, 0 for none. */
    public int limit() {
        return limit;
    }

    /**
     * A session of {@code user} over {@code protocol}, or null when the user has its limit
     * of sessions open already (or the shared ledger cannot count it). The caller closes it.
     */
    public Session open(String user, String protocol) {
        if (limit <= 0) {
            return UNCOUNTED;
        }
        Ledger ledger = shared;
        if (ledger == null) {
            boolean[] taken = {false};
            open.compute(user, (u, n) -> {
                int now = n == null ? 0 : n;
                taken[0] = now < limit;
                return taken[0] ? now + 1 : (now == 0 ? null : now);
            });
            return taken[0] ? new Session(this, user, null) : null;
        }
        String id = "s-" + Long.toString(System.currentTimeMillis(), 36) + "-"
                + Long.toString(ThreadLocalRandom.current().nextLong() >>> 1, 36);
        try {
            return ledger.openSession(id, user, protocol, limit) ? new Session(this, user, id) : null;
        } catch (IOException e) {
            // A limit that cannot be counted is not granted.
            log.warn("session of {} refused: {}", user, e.getMessage());
            return null;
        }
    }

    private void close(Session s) {
        if (s.id != null) {
            Ledger ledger = shared;
            if (ledger != null) {
                ledger.closeSession(s.id);
            }
        } else {
            open.computeIfPresent(s.user, (u, n) -> n <= 1 ? null : n - 1);
        }
    }

    /** One logged-in session; closing it twice is harmless. */
    public static final class Session implements AutoCloseable {
        private final UserSessions owner;
        private final String user;
        private final String id;
        private boolean closed;

        private Session(UserSessions owner, String user, String id) {
            this.owner = owner;
            this.user = user;
            this.id = id;
        }

        @Override
        public void close() {
            synchronized (this) {
                if (closed || owner == null) {
                    return;
                }
                closed = true;
            }
            owner.close(this);
        }
    }
}
