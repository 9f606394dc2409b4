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
 */
public final class LoginGuard {
    private static final Logger log = LoggerFactory.getLogger(LoginGuard.class);
    /** Bounds the memory an address sweep can take. */
    private static final int MAX_TRACKED = 100_000;

    private final SecurityConfig config;
    private final Clock clock;
    private final Map<InetAddress, Record> records = new ConcurrentHashMap<>();

    private static final class Record {
        int failures;
        Instant firstFailure;
        Instant bannedUntil = Instant.MIN;
    }

    public LoginGuard(SecurityConfig config, Clock clock) {
        this.config = config;
        this.clock = clock;
    }

    /** How much longer {@code address} is banned; zero when it is not. */
    public Duration banRemaining(InetAddress address) {
        if (address == null) {
            return Duration.ZERO;
        }
        Record r = records.get(address);
        if (r == null) {
            return Duration.ZERO;
        }
        synchronized (r) {
            Duration left = Duration.between(clock.instant(), r.bannedUntil);
            return left.isNegative() ? Duration.ZERO : left;
        }
    }

    public void failed(InetAddress address) {
        if (address == null) {
            return;
        }
        if (records.size() > MAX_TRACKED) {
            sweep();
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
                synchronized (r) {
                    r.failures = 0;
                    r.firstFailure = null;
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
