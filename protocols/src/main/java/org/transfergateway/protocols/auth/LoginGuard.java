package org.transfergateway.protocols.auth;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.transfergateway.config.SecurityConfig;

/**
 * Counts failed logins per client address, for FTP and HTTP together: after
 * {@code maxLoginFailures} failures within the ban duration the address is refused for
 * the ban duration, on both protocols. Other addresses are not affected.
 *
 * <p>Gateways that share a ledger also count failures together ({@link #share}): each
 * failure is written through to the ledger, which bans an address for every node, and
 * each node mirrors the ledger's bans in memory, read twice a second ({@link #refreshShared}),
 * so that checking a login (HTTP Basic checks every request) never waits for the database.
 */
public final class LoginGuard {
    private static final Logger log = LoggerFactory.getLogger(LoginGuard.class);
    /** Bounds the memory an address sweep can take. */
    private static final int MAX_TRACKED = 100_000;

    private final SecurityConfig config;
    private final Clock clock;
    private final Map<InetAddress, Record> records = new ConcurrentHashMap<>();
    /** Where the nodes of a cluster count failures together, or null. */
    private volatile SharedRecords shared;
    /** The bans of every node, by address as {@link InetAddress#getHostAddress()} writes it, as last read. */
    private volatile Map<String, Instant> sharedBans = Map.of();

    /** The failures and bans that gateways sharing a ledger keep together. */
    public interface SharedRecords {
        /** Counts a failure from {@code address}; bans it for every node at the limit. Returns at once. */
        void failed(String address, int maxFailures, Duration window, Duration ban);

        /** Forgets the failures (not a ban) of {@code address}. Returns at once. */
        void succeeded(String address);

        /** The addresses banned now, with the end of each ban. */
        Map<String, Instant> bans() throws java.io.IOException;
    }

    private static final class Record {
        int failures;
        Instant firstFailure;
        Instant bannedUntil = Instant.MIN;
    }

    public LoginGuard(SecurityConfig config, Clock clock) {
        this.config = config;
        this.clock = clock;
    }

    /** Counts failures and bans together with the other nodes of {@code records} from now on. */
    public void share(SharedRecords records) {
        this.shared = records;
        refreshShared();
    }

    /** Reads the bans of every node into memory; called twice a second where failures are shared. */
    public void refreshShared() {
        SharedRecords s = shared;
        if (s == null) {
            return;
        }
        try {
            sharedBans = Map.copyOf(s.bans());
        } catch (java.io.IOException | RuntimeException e) {
            // The last bans read still hold; this node's own count still bans.
            log.warn("the bans of the other nodes could not be read: {}", e.toString());
        }
    }

    /** How much longer {@code address} is banned; zero when it is not. */
    public Duration banRemaining(InetAddress address) {
        if (address == null) {
            return Duration.ZERO;
        }
        Instant until = Instant.MIN;
        Record r = records.get(address);
        if (r != null) {
            synchronized (r) {
                until = r.bannedUntil;
            }
        }
        Map<String, Instant> bans = sharedBans;
        if (!bans.isEmpty()) {
            Instant elsewhere = bans.get(address.getHostAddress());
            if (elsewhere != null && elsewhere.isAfter(until)) {
                until = elsewhere;
            }
        }
        // Compared first: Duration.between with Instant.MIN (never banned, the common case)
        // overflows inside the JDK, which then creates and catches an exception, at every
        // HTTP request (Basic logs in at each).
        Instant now = clock.instant();
        return until.isAfter(now) ? Duration.between(now, until) : Duration.ZERO;
    }

    public void failed(InetAddress address) {
        if (address == null) {
            return;
        }
        if (records.size() > MAX_TRACKED) {
            sweep();
        }
        SharedRecords s = shared;
        if (s != null) {
            s.failed(address.getHostAddress(), config.maxLoginFailures(), config.banDuration(), config.banDuration());
        }
        Record r = records.computeIfAbsent(address, a -> new Record());
        Instant now = clock.instant();
        synchronized (r) {
            if (r.firstFailure == null || r.firstFailure.plus(config.banDuration()).isBefore(now)) {
                r.failures = 0;
                r.firstFailure = now;
            }
            r.failures++;
            if (r.failures >= config.maxLoginFailures()) {
                r.bannedUntil = now.plus(config.banDuration());
                r.failures = 0;
                r.firstFailure = null;
                log.warn("{} banned for {} after {} failed logins", address.getHostAddress(), config.banDuration(), config.maxLoginFailures());
            }
        }
    }

    public void succeeded(InetAddress address) {
        if (address != null) {
            Record r = records.get(address);
            if (r != null) {
                boolean hadFailures;
                synchronized (r) {
                    hadFailures = r.failures > 0;
                    r.failures = 0;
                    r.firstFailure = null;
                }
                SharedRecords s = shared;
                // Only after failures seen here: HTTP Basic succeeds at every request.
                if (s != null && hadFailures) {
                    s.succeeded(address.getHostAddress());
                }
            }
        }
    }

    /** How long a failed login waits before its answer. */
    public Duration failureDelay() {
        return config.loginFailureDelay();
    }

    private void sweep() {
        Instant now = clock.instant();
        records.entrySet().removeIf(e -> {
            synchronized (e.getValue()) {
                return e.getValue().bannedUntil.isBefore(now)
                        && (e.getValue().firstFailure == null || e.getValue().firstFailure.plus(config.banDuration()).isBefore(now));
            }
        });
    }
}
