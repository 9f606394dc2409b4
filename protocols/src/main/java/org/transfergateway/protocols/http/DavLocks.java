package org.transfergateway.protocols.http;

import io.netty.handler.codec.http.HttpResponseStatus;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * The WebDAV write locks of one gateway (RFC 4918 class 2), in memory: they end with
 * their timeout, an UNLOCK, or a restart. A lock belongs to the user who took it and is
 * on that user's path; only that user can submit its token.
 */
final class DavLocks {
    /** The longest timeout granted, also for "Infinite": a forgotten lock ends within the hour. */
    static final long MAX_SECONDS = 3600;
    /** The locks one user may hold at once; more are refused with 507, so memory stays bounded. */
    static final int MAX_PER_USER = 1000;

    /** One lock; {@code owner} is the client's {@code DAV:owner} element as written back, or "". */
    record Lock(String token, String user, String path, boolean infinite, boolean exclusive, String owner,
                long seconds, Instant expires) {

        boolean covers(String p) {
            return path.equals(p) || infinite && under(p, path);
        }

        Lock refreshed(long secs, Instant now) {
            return new Lock(token, user, path, infinite, exclusive, owner, secs, now.plusSeconds(secs));
        }
    }

    /** What a request changes: {@code path}, and with {@code deep} everything below it too. */
    record Target(String path, boolean deep) {
    }

    private final Clock clock;
    private final Map<String, Lock> byToken = new LinkedHashMap<>();

    DavLocks(Clock clock) {
        this.clock = clock;
    }

    /** True when {@code p} is strictly below the folder {@code dir}. */
    static boolean under(String p, String dir) {
        return dir.equals("/") ? !p.equals("/") : p.startsWith(dir + "/");
    }

    /** The live locks of {@code user} that cover {@code path}. */
    synchronized List<Lock> covering(String user, String path) {
        expire();
        List<Lock> found = new ArrayList<>();
        for (Lock l : byToken.values()) {
            if (l.user().equals(user) && l.covers(path)) {
                found.add(l);
            }
        }
        return found;
    }

    /**
     * Takes a new lock, or 423 when one that it conflicts with is held: an exclusive lock
     * conflicts with any other on the same resources, a shared one with an exclusive one.
     */
    synchronized Lock lock(String user, String path, boolean infinite, boolean exclusive, String owner, long seconds)
            throws DavStatus {
        expire();
        for (Lock l : byToken.values()) {
            boolean overlaps = l.user().equals(user)
                    && (l.covers(path) || infinite && under(l.path(), path));
            if (overlaps && (exclusive || l.exclusive())) {
                throw new DavStatus(HttpResponseStatus.LOCKED, "no-conflicting-lock", path + " is locked");
            }
        }
        if (byToken.values().stream().filter(l -> l.user().equals(user)).count() >= MAX_PER_USER) {
            throw new DavStatus(HttpResponseStatus.INSUFFICIENT_STORAGE, user + " holds " + MAX_PER_USER + " locks already");
        }
        Lock l = new Lock("opaquelocktoken:" + UUID.randomUUID(), user, path, infinite, exclusive, owner, seconds,
                clock.instant().plusSeconds(seconds));
        byToken.put(l.token(), l);
        return l;
    }

    /** Refreshes the lock {@code token} covering {@code path}; null when there is none. */
    synchronized Lock refresh(String user, String path, String token, long seconds) {
        expire();
        Lock l = byToken.get(token);
        if (l == null || !l.user().equals(user) || !l.covers(path)) {
            return null;
        }
        Lock r = l.refreshed(seconds, clock.instant());
        byToken.put(token, r);
        return r;
    }

    /** Removes the lock {@code token} covering {@code path}; false when there is none. */
    synchronized boolean unlock(String user, String path, String token) {
        expire();
        Lock l = byToken.get(token);
        if (l == null || !l.user().equals(user) || !l.covers(path)) {
            return false;
        }
        byToken.remove(token);
        return true;
    }

    /** Drops the locks on {@code path} and below it: the resources are gone (DELETE, MOVE away). */
    synchronized void dropAll(String user, String path) {
        byToken.values().removeIf(l -> l.user().equals(user) && (l.path().equals(path) || under(l.path(), path)));
    }

    /**
     * Lets a change through, or says why not: 423 when a lock of {@code user} protects one
     * of {@code targets} and the request submitted none of its tokens.
     */
    synchronized void permit(String user, Collection<Target> targets, Set<String> submitted) throws DavStatus {
        expire();
        for (Lock l : byToken.values()) {
            if (!l.user().equals(user) || submitted.contains(l.token())) {
                continue;
            }
            for (Target t : targets) {
                if (l.covers(t.path()) || t.deep() && under(l.path(), t.path())) {
                    throw new DavStatus(HttpResponseStatus.LOCKED, "lock-token-submitted",
                            t.path() + " is locked and the request submits no token of the lock");
                }
            }
        }
    }

    private void expire() {
        Instant now = clock.instant();
        for (Iterator<Lock> i = byToken.values().iterator(); i.hasNext(); ) {
            if (!i.next().expires().isAfter(now)) {
                i.remove();
            }
        }
    }

    /** The {@code DAV:activelock} element of {@code l}. */
    static String activeLock(Lock l) {
        return "<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope>"
                + (l.exclusive() ? "<D:exclusive/>" : "<D:shared/>") + "</D:lockscope><D:depth>"
                + (l.infinite() ? "infinity" : "0") + "</D:depth>" + l.owner()
                + "<D:timeout>Second-" + l.seconds() + "</D:timeout><D:locktoken><D:href>" + l.token()
                + "</D:href></D:locktoken><D:lockroot><D:href>" + DavXml.escape(DavXml.href(l.path(), false))
                + "</D:href></D:lockroot></D:activelock>";
    }
}
