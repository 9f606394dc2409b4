package org.transfergateway.config;

import java.time.Duration;

/**
 * Defences against login abuse, shared by FTP and HTTP.
 *
 * @param loginFailureDelay how long a failed login waits before its answer
 * @param maxLoginFailures  failures from one address, within {@code banDuration}, that ban it
 * @param banDuration       how long a banned address is refused
 */
public record SecurityConfig(Duration loginFailureDelay, int maxLoginFailures, Duration banDuration) {
    public static final SecurityConfig DEFAULTS = new SecurityConfig(Duration.ofSeconds(1), 10, Duration.ofMinutes(15));
}
