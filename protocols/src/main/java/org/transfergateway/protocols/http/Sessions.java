package org.transfergateway.protocols.http;

import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The dashboard's login sessions, in memory: a session ends after {@link #IDLE} without
 * a request, {@link #ABSOLUTE} after its login, or at logout. A gateway that restarts
 * forgets them all; the users log in again.
 */
final class Sessions {
    static final Duration IDLE = Duration.ofMinutes(30);
    static final Duration ABSOLUTE = Duration.ofHours(12);
    /** Expired sessions are swept when this many are held. */
    private static final int SWEEP_ABOVE = 1_000;

    /** One login: its secret cookie value, its user and the token its changes must carry. */
    static final class Session {
        private final String token;
        private final String user;
        private final String csrf;
        private final Instant created;
        private volatile Instant lastUsed;

        private Session(String token, String user, String csrf, Instant created) {
            this.token = token;
            this.user = user;
            this.csrf = csrf;
            this.created = created;
            this.lastUsed = created;
        }

        String token() {
            return token;
        }

        String user() {
            return user;
        }

        String csrf() {
            return csrf;
        }

        /** Whether {@code candidate} is this session's CSRF token, compared in constant time. */
        boolean csrfMatches(String candidate) {
            return candidate != null && MessageDigest.isEqual(csrf.getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                    candidate.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }

        private boolean expired(Instant now) {
            return !now.isBefore(lastUsed.plus(IDLE)) || !now.isBefore(created.plus(ABSOLUTE));
        }
    }

    private final Map<String, Session> sessions = new ConcurrentHashMap<>();
    private final SecureRandom random = new SecureRandom();
    private final Clock clock;

    Sessions(Clock clock) {
        this.clock = clock;
    }

    /** A new session for {@code user}, who has just proven its password. */
    Session create(String user) {
        if (sessions.size() > SWEEP_ABOVE) {
            sweep();
        }
        Session s = new Session(secret(), user, secret(), clock.instant());
        sessions.put(s.token(), s);
        return s;
    }

    /** The live session of this cookie value, marked as used now; empty when unknown or expired. */
    Optional<Session> find(String token) {
        if (token == null) {
            return Optional.empty();
        }
        Session s = sessions.get(token);
        if (s == null) {
            return Optional.empty();
        }
        Instant now = clock.instant();
        if (s.expired(now)) {
            sessions.remove(token, s);
            return Optional.empty();
        }
        s.lastUsed = now;
        return Optional.of(s);
    }

    /** Ends the session of this cookie value, if any. */
    void end(String token) {
        if (token != null) {
            sessions.remove(token);
        }
    }

    int size() {
        return sessions.size();
    }

    private void sweep() {
        Instant now = clock.instant();
        sessions.values().removeIf(s -> s.expired(now));
    }

    /** 256 random bits, base64url without padding. */
    private String secret() {
        byte[] b = new byte[32];
        random.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
